//! Evaluation of filters against a realistic User resource.

use provisio_scim::filter::{element_matches, AttributeTypes, CaseInsensitive, Filter};
use provisio_scim::path::{get_ci, AttrPath};
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": ""
        },
        "displayName": "Bärbel Jensen",
        "nickName": null,
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "entraFlag": "True",
        "loginCount": 42,
        "rating": 4.5,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "addresses": [{
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "postalCode": "91608",
            "country": "USA",
            "primary": true
        }],
        "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
        "x509Certificates": [{}],
        "entitlements": [null, ""],
        "roles": [{"value": "guide", "type": ""}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith"
            }
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

/// A schema-like type oracle: `id`, `externalId`, `meta.version` and
/// `groups.value` are caseExact; `meta.created`/`meta.lastModified` are dateTimes.
struct UserTypes;

fn full_name(parent: Option<&AttrPath>, path: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(p) = parent {
        s.push_str(&p.name.to_ascii_lowercase());
        s.push('.');
    }
    s.push_str(&path.name.to_ascii_lowercase());
    if let Some(sub) = &path.sub {
        s.push('.');
        s.push_str(&sub.to_ascii_lowercase());
    }
    s
}

impl AttributeTypes for UserTypes {
    fn case_exact(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
        matches!(
            full_name(parent, path).as_str(),
            "id" | "externalid" | "meta.version" | "groups.value"
        )
    }
    fn is_datetime(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
        matches!(
            full_name(parent, path).as_str(),
            "meta.created" | "meta.lastmodified"
        )
    }
}

#[track_caller]
fn eval_table(types: &dyn AttributeTypes, cases: &[(&str, bool)]) {
    let resource = user();
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let filter = Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        if filter.matches(&resource, types) != *expected {
            failures.push(format!("{input:?} should be {expected}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn rfc_examples_against_user() {
    #[rustfmt::skip]
    eval_table(&UserTypes, &[
        (r#"userName Eq "john""#, false),
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"name.familyName co "O'Malley""#, false),
        (r#"userName sw "J""#, false),
        (r#"userName sw "B""#, true),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#, true),
        ("title pr", true),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"title pr or userType eq "Intern""#, true),
        (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
        (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
        (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
        (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
        (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
        (r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#, true),
    ]);
}

#[test]
fn case_insensitivity_of_names_values_and_operators() {
    #[rustfmt::skip]
    eval_table(&UserTypes, &[
        (r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#, true),
        (r#"username eq "bjensen@example.com" AND Title Pr"#, true),
        (r#"NAME.FAMILYNAME sw "jen""#, true),
        (r#"name.familyName EW "SEN""#, true),
        (r#"name.familyName co "ENS""#, true),
        (r#"userType ne "employee""#, false),
        (r#"displayName eq "BÄRBEL JENSEN""#, true),
        (r#"EMAILS[TYPE EQ "WORK"]"#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:EMPLOYEENUMBER eq "701984""#, true),
        (r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:MANAGER.VALUE eq "26118915-6090-4610-87e4-49d8ca9f808d""#, true),
        (r#"Meta.ResourceType eq "user""#, true),
    ]);
}

#[test]
fn case_exact_attributes_are_honoured() {
    #[rustfmt::skip]
    let cases: &[(&str, bool, bool)] = &[
        // (filter, with UserTypes, with CaseInsensitive)
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false, true),
        (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true, true),
        (r#"ID sw "2819c""#, true, true),
        (r#"externalId co "9""#, true, true),
        (r#"meta.version eq "w/\"3694e05e9dff591\"""#, false, true),
        (r#"meta.version eq "W/\"3694e05e9dff591\"""#, true, true),
        (r#"groups[value eq "E9E30DBA-F08F-4109-8486-D5C6A331660A"]"#, false, true),
        (r#"groups[value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"]"#, true, true),
        (r#"groups.value eq "E9E30DBA-F08F-4109-8486-D5C6A331660A""#, false, true),
        (r#"groups.display eq "tour guides""#, true, true),
        (r#"emails[value eq "BJENSEN@example.com"]"#, true, true),
        (r#"id ne "2819C223-7F76-453A-919D-413861904646""#, true, false),
        (r#"id gt "2819C""#, true, true),
        (r#"id lt "2819D""#, false, true),
    ];
    let resource = user();
    for (input, exact, insensitive) in cases {
        let filter = Filter::parse(input).unwrap();
        assert_eq!(
            filter.matches(&resource, &UserTypes),
            *exact,
            "{input} (UserTypes)"
        );
        assert_eq!(
            filter.matches(&resource, &CaseInsensitive),
            *insensitive,
            "{input} (CaseInsensitive)"
        );
    }
}

#[test]
fn multi_valued_any_match_and_value_paths() {
    #[rustfmt::skip]
    eval_table(&UserTypes, &[
        (r#"emails co "jensen.org""#, true),
        (r#"emails eq "babs@jensen.org""#, true),
        (r#"emails.value co "example.org""#, false),
        (r#"emails.type eq "home""#, true),
        (r#"emails.type eq "other""#, false),
        (r#"emails.primary eq true"#, true),
        (r#"emails ne "babs@jensen.org""#, false),
        (r#"emails ne "nobody@example.com""#, true),
        // all conditions must hold for the *same* element
        (r#"emails[type eq "home" and value co "@example.com"]"#, false),
        (r#"emails[type eq "work" and primary eq true]"#, true),
        (r#"emails[type eq "home" and primary eq true]"#, false),
        (r#"emails[type eq "home" and not (primary pr)]"#, true),
        (r#"emails[not (type eq "work")]"#, true),
        (r#"not (emails[type eq "other"])"#, true),
        (r#"emails[type eq "home"] and emails[primary eq true]"#, true),
        (r#"addresses[type eq "work" and postalCode sw "916"]"#, true),
        (r#"phoneNumbers[type eq "work"] and phoneNumbers.value ew "8377""#, true),
        (r#"ims[type pr]"#, false),
        (r#"missing[type pr]"#, false),
        // a single complex attribute in a value path
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName eq "John Smith"]"#, true),
        (r#"name[givenName sw "barb" and familyName eq "jensen"]"#, true),
        // complex attribute without sub-attribute compares its "value"
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "john""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref co "../Users/""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations""#, true),
        (r#"roles eq "GUIDE""#, true),
    ]);
}

#[test]
fn presence_and_null() {
    #[rustfmt::skip]
    eval_table(&UserTypes, &[
        ("title pr", true),
        ("name pr", true),
        ("emails pr", true),
        ("emails.type pr", true),
        ("emails.primary pr", true),
        ("nickName pr", false),          // null
        ("name.middleName pr", false),   // ""
        ("ims pr", false),               // []
        ("x509Certificates pr", false),  // [{}]
        ("entitlements pr", false),      // [null, ""]
        ("roles.type pr", false),        // [""]
        ("missing pr", false),
        ("name.missing pr", false),
        ("active pr", true),
        ("loginCount pr", true),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr", true),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr", true),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:secretary pr", false),
        ("missing eq null", true),
        ("nickName eq null", true),
        ("ims eq null", true),
        ("title eq null", false),
        ("missing ne null", false),
        ("title ne null", true),
        ("emails ne null", true),
        ("title gt null", false),
        (r#"missing ne "x""#, true),
        (r#"nickName ne "x""#, true),
        (r#"missing eq "x""#, false),
        (r#"missing co """#, false),
        (r#"not (missing pr)"#, true),
    ]);
}

#[test]
fn typed_comparisons() {
    #[rustfmt::skip]
    eval_table(&UserTypes, &[
        // booleans: eq/ne only
        ("active eq true", true),
        ("active eq TRUE", true),
        ("active eq false", false),
        ("active ne false", true),
        ("active ne true", false),
        ("active gt false", false),
        ("active ge true", false),
        (r#"active eq "true""#, false),
        (r#"active co "t""#, false),
        // Entra writes booleans as strings
        ("entraFlag eq true", true),
        ("entraFlag eq false", false),
        ("entraFlag ne true", false),
        (r#"entraFlag eq "TRUE""#, true),
        ("title eq true", false),
        // numbers compare numerically
        ("loginCount eq 42", true),
        ("loginCount eq 42.0", true),
        ("loginCount eq 4.2e1", true),
        ("loginCount gt 41", true),
        ("loginCount gt 42", false),
        ("loginCount ge 42", true),
        ("loginCount lt 100", true),
        ("loginCount le 41.5", false),
        ("loginCount ne 42", false),
        ("loginCount ne 43", true),
        ("rating ge 4.5", true),
        ("rating lt 5", true),
        ("rating gt 4", true),
        ("rating eq 4.5", true),
        ("loginCount gt -18446744073709551615", true),
        ("loginCount lt 18446744073709551615", true),
        // mismatched types never match
        (r#"loginCount eq "42""#, false),
        ("loginCount co 4", false),
        ("loginCount sw 4", false),
        ("userName eq 1", false),
        ("name eq 1", false),
        ("emails eq true", false),
        // strings: lexicographic ordering
        (r#"userName gt "a""#, true),
        (r#"userName lt "a""#, false),
        (r#"title ge "tour guide""#, true),
        (r#"title le "TOUR GUIDE""#, true),
        (r#"title gt "tour guide""#, false),
        (r#"title sw """#, true),
    ]);
}

#[test]
fn date_times_compare_chronologically() {
    #[rustfmt::skip]
    let cases: &[(&str, bool, bool)] = &[
        // (filter, with dateTime typing, lexicographic)
        (r#"meta.lastModified gt "2011-05-13T06:00:00+02:00""#, true, false),
        (r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#, true, false),
        (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true, false),
        (r#"meta.lastModified ne "2011-05-13T06:42:34+02:00""#, false, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34.001Z""#, true, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34.001Z""#, false, true),
        (r#"meta.lastModified gt "2011-05-12T23:59:59-05:00""#, false, true),
        (r#"meta.created lt "2011-01-01T00:00:00Z""#, true, true),
        (r#"meta.created gt "2010-01-23t04:56:21z""#, true, true),
        (r#"meta.lastModified sw "2011-05""#, true, true),
        // not a date-time: falls back to string comparison
        (r#"meta.lastModified gt "2011""#, true, true),
        (r#"meta.lastModified lt "tomorrow""#, true, true),
    ];
    let resource = user();
    for (input, chrono, lexi) in cases {
        let filter = Filter::parse(input).unwrap();
        assert_eq!(
            filter.matches(&resource, &UserTypes),
            *chrono,
            "{input} (dateTime)"
        );
        assert_eq!(
            filter.matches(&resource, &CaseInsensitive),
            *lexi,
            "{input} (lexicographic)"
        );
    }
}

#[test]
fn element_matches_evaluates_one_element() {
    let resource = user();
    let emails = resource["emails"].as_array().unwrap();
    let parent = AttrPath::new("emails");
    let work = Filter::parse(r#"type eq "WORK" and value ew "example.com""#).unwrap();
    let hits: Vec<bool> = emails
        .iter()
        .map(|e| element_matches(&work, e, &parent, &UserTypes))
        .collect();
    assert_eq!(hits, [true, false]);

    // parent is passed to AttributeTypes: groups.value is caseExact
    let groups = AttrPath::new("groups");
    let upper = Filter::parse(r#"value eq "E9E30DBA-F08F-4109-8486-D5C6A331660A""#).unwrap();
    let group = &resource["groups"][0];
    assert!(!element_matches(&upper, group, &groups, &UserTypes));
    assert!(element_matches(&upper, group, &emails_parent(), &UserTypes));

    // primitive elements behave like {"value": element}
    let schema = Filter::parse(r#"value ew ":User""#).unwrap();
    let schemas = AttrPath::new("schemas");
    assert!(element_matches(
        &schema,
        &resource["schemas"][0],
        &schemas,
        &UserTypes
    ));
    assert!(!element_matches(
        &schema,
        &json!(null),
        &schemas,
        &UserTypes
    ));
    assert!(!element_matches(
        &schema,
        &json!("other"),
        &schemas,
        &UserTypes
    ));
}

fn emails_parent() -> AttrPath {
    AttrPath::new("emails")
}

#[test]
fn non_object_resources() {
    let absent = Filter::parse("a eq null").unwrap();
    let present = Filter::parse("a pr").unwrap();
    for resource in [json!(null), json!([1, 2]), json!("a"), json!({})] {
        assert!(absent.matches(&resource, &CaseInsensitive));
        assert!(!present.matches(&resource, &CaseInsensitive));
    }
}

#[test]
fn get_ci_prefers_exact_then_ignores_ascii_case() {
    let obj = json!({"userName": 1, "USERNAME": 2, "Emails": 3});
    let obj = obj.as_object().unwrap();
    assert_eq!(get_ci(obj, "USERNAME").map(|(_, v)| v), Some(&json!(2)));
    assert_eq!(get_ci(obj, "userName").map(|(_, v)| v), Some(&json!(1)));
    assert_eq!(
        get_ci(obj, "emails").map(|(k, _)| k.as_str()),
        Some("Emails")
    );
    assert_eq!(get_ci(obj, "phone"), None);
}
