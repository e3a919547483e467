//! PATCH, table-driven: every example of RFC 7644 §3.5.2 and what Microsoft Entra's client sends.

use provisio_scim::patch::{apply_patch, parse_patch_request};
use provisio_scim::resource::normalize;
use provisio_scim::schema::{ResourceType, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{json, Map, Value};

const M1: &str = "2819c223-7f76-453a-919d-413861904646";
const M2: &str = "902c246b-6245-4190-8e05-00816be7344a";

fn bjensen() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}],
        "active": true
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "Tour Guides",
        "members": [{"value": M1, "type": "User"}, {"value": M2, "type": "User"}]
    })
}

/// Applies `ops` to `start` and compares with `expected` (or the expected `scimType`).
fn check(rt: &ResourceType, start: Value, ops: Value, expected: Result<Value, &str>) {
    let body =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let start: Map<String, Value> = normalize(rt, &start).expect("valid start resource");
    let result = parse_patch_request(&body).and_then(|ops| apply_patch(rt, &start, &ops, rt));
    match (result, expected) {
        (Ok(got), Ok(want)) => {
            let want = normalize(rt, &want).expect("valid expected resource");
            assert_eq!(Value::Object(got), Value::Object(want), "ops: {ops}");
        }
        (Err(e), Err(scim_type)) => {
            assert_eq!(
                e.scim_type.map(|t| t.as_str()),
                Some(scim_type),
                "ops: {ops}: {}",
                e.detail
            )
        }
        (Ok(got), Err(t)) => panic!("ops {ops}: expected {t}, got {}", Value::Object(got)),
        (Err(e), Ok(_)) => panic!("ops {ops}: unexpected error {e}"),
    }
}

fn with(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

#[test]
fn rfc_7644_section_3_5_2_examples() {
    let users = ResourceType::user(vec![]);
    let groups = ResourceType::group(vec![]);

    // §3.5.2.1: path-less add of emails and nickname.
    check(
        &users,
        bjensen(),
        json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b@x.org", "type": "other"}], "nickname": "Babs"}}]),
        Ok(with(bjensen(), |u| {
            u["nickName"] = json!("Babs");
            if let Some(e) = u["emails"].as_array_mut() {
                e.push(json!({"value": "b@x.org", "type": "other"}));
            }
        })),
    );
    // §3.5.2.1: add a member.
    check(
        &groups,
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides", "members": [{"value": M2}]}),
        json!([{"op": "add", "path": "members", "value": [{"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{M1}"), "value": M1}]}]),
        Ok(
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides",
                  "members": [{"value": M2}, {"value": M1, "$ref": format!("https://example.com/v2/Users/{M1}")}]}),
        ),
    );
    // §3.5.2.2: remove one member by filter.
    check(
        &groups,
        group(),
        json!([{"op": "remove", "path": format!("members[value eq \"{M1}\"]")}]),
        Ok(with(group(), |g| {
            g["members"] = json!([{"value": M2, "type": "User"}])
        })),
    );
    // §3.5.2.2: remove all members.
    check(
        &groups,
        group(),
        json!([{"op": "remove", "path": "members"}]),
        Ok(json!({"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides"})),
    );
    // §3.5.2.2: remove multi-valued values by a complex filter.
    check(
        &users,
        bjensen(),
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
        Ok(with(bjensen(), |u| {
            u["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}])
        })),
    );
    // §3.5.2.2: replace all members with remove then add.
    check(
        &groups,
        group(),
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}
        ]),
        Ok(with(group(), |g| {
            g["members"] = json!([{"value": "08e1d05d"}])
        })),
    );
    // §3.5.2.3: replace all members.
    check(
        &groups,
        group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": "a1"}, {"value": "b2"}]}]),
        Ok(with(group(), |g| {
            g["members"] = json!([{"value": "a1"}, {"value": "b2"}])
        })),
    );
    // §3.5.2.3: replace the work address.
    let work = json!({"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                      "region": "CA", "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true});
    check(
        &users,
        bjensen(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": work}]),
        Ok(with(bjensen(), |u| u["addresses"] = json!([work]))),
    );
    // §3.5.2.3: replace one sub-attribute of the work address.
    check(
        &users,
        bjensen(),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
        Ok(with(bjensen(), |u| {
            u["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave")
        })),
    );
    // §3.5.2.3: path-less replace of emails and nickname.
    check(
        &users,
        bjensen(),
        json!([{"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
        Ok(with(bjensen(), |u| u["nickName"] = json!("Babs"))),
    );
}

#[test]
fn what_microsoft_entra_sends() {
    let users = ResourceType::user(vec![]);
    let groups = ResourceType::group(vec![]);
    let cases: Vec<(Value, Value, Result<Value, &str>)> = vec![
        // Capitalised op, boolean as a string.
        (
            bjensen(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            Ok(with(bjensen(), |u| u["active"] = json!(false))),
        ),
        // Path and value in other letter case.
        (
            bjensen(),
            json!([{"op": "replace", "path": "name.FamilyName", "value": "Jensen-Smith"}]),
            Ok(with(bjensen(), |u| {
                u["name"]["familyName"] = json!("Jensen-Smith")
            })),
        ),
        (
            bjensen(),
            json!([{"op": "Replace", "path": "DisplayName", "value": "Babs"}]),
            Ok(with(bjensen(), |u| u["displayName"] = json!("Babs"))),
        ),
        // Path-less replace with dotted and URN keys (aadOptscim062020).
        (
            bjensen(),
            json!([{"op": "replace", "value": {"displayName": "B J", "name.givenName": "Babs",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"}}]),
            Ok(with(bjensen(), |u| {
                u["displayName"] = json!("B J");
                u["name"]["givenName"] = json!("Babs");
                u["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
                u[ENTERPRISE_USER_SCHEMA] = json!({"employeeNumber": "7"});
            })),
        ),
        // Filtered path to an existing element and to one that must be made.
        (
            bjensen(),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}]),
            Ok(with(bjensen(), |u| {
                u["emails"][0]["value"] = json!("b@example.com")
            })),
        ),
        (
            bjensen(),
            json!([{"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+1 555"}]),
            Ok(with(bjensen(), |u| {
                u["phoneNumbers"] = json!([{"type": "fax", "value": "+1 555"}])
            })),
        ),
        // Manager as a one-item list (old sample) and as a plain id.
        (
            bjensen(),
            json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "m1"}]}]),
            Ok(with(bjensen(), |u| {
                u["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
                u[ENTERPRISE_USER_SCHEMA] = json!({"manager": {"value": "m1"}});
            })),
        ),
        (
            bjensen(),
            json!([{"op": "Add", "path": "noSuchAttribute", "value": "x"}]),
            Err("invalidPath"),
        ),
        (
            bjensen(),
            json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": [{"$ref": null, "value": "m1"}]}]),
            Ok(with(bjensen(), |u| {
                u["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
                u[ENTERPRISE_USER_SCHEMA] = json!({"manager": {"value": "m1"}});
            })),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m2"}]),
            Ok(with(bjensen(), |u| {
                u["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
                u[ENTERPRISE_USER_SCHEMA] = json!({"manager": {"value": "m2"}});
            })),
        ),
        // Removing an attribute that is not there is not an error.
        (
            bjensen(),
            json!([{"op": "Remove", "path": "title"}]),
            Ok(bjensen()),
        ),
        // Read-only and required attributes.
        (
            bjensen(),
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            Err("mutability"),
        ),
        (
            bjensen(),
            json!([{"op": "remove", "path": "userName"}]),
            Err("mutability"),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            Err("invalidValue"),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "active", "value": "yes"}]),
            Err("invalidValue"),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].display", "value": "x"}]),
            Ok(with(bjensen(), |u| {
                u["emails"][0]["display"] = json!("x");
                u["emails"][1]["display"] = json!("x");
            })),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "emails[type pr].display", "value": "x"}]),
            Ok(with(bjensen(), |u| {
                u["emails"][0]["display"] = json!("x");
                u["emails"][1]["display"] = json!("x");
            })),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "emails[type eq \"pager\" or value eq \"x\"].display", "value": "x"}]),
            Err("noTarget"),
        ),
        (
            bjensen(),
            json!([{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}]),
            Err("invalidPath"),
        ),
        (
            bjensen(),
            json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
            Err("invalidPath"),
        ),
        // A new primary value takes primary from the old one.
        (
            bjensen(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "new@x.org", "type": "other", "primary": true}]}]),
            Ok(with(bjensen(), |u| {
                u["emails"][0]["primary"] = json!(false);
                if let Some(e) = u["emails"].as_array_mut() {
                    e.push(json!({"value": "new@x.org", "type": "other", "primary": true}));
                }
            })),
        ),
        // The whole enterprise extension by its URN.
        (
            bjensen(),
            json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"department": "R&D", "costCenter": "42"}}]),
            Ok(with(bjensen(), |u| {
                u["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
                u[ENTERPRISE_USER_SCHEMA] = json!({"department": "R&D", "costCenter": "42"});
            })),
        ),
    ];
    for (start, ops, expected) in cases {
        check(&users, start, ops, expected);
    }
    // Member removal: by filter without a value, or by a value list with "$ref": null.
    check(
        &groups,
        group(),
        json!([{"op": "Remove", "path": format!("members[value eq \"{M2}\"]")}]),
        Ok(with(group(), |g| {
            g["members"] = json!([{"value": M1, "type": "User"}])
        })),
    );
    check(
        &groups,
        group(),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": M1}]}]),
        Ok(with(group(), |g| {
            g["members"] = json!([{"value": M2, "type": "User"}])
        })),
    );
    check(
        &groups,
        group(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": M1}]}]),
        Ok(group()),
    );
    check(
        &groups,
        group(),
        json!([{"op": "Replace", "path": "displayName", "value": "Guides"}]),
        Ok(with(group(), |g| g["displayName"] = json!("Guides"))),
    );
}

#[test]
fn malformed_patch_messages_are_refused() {
    let cases = [
        (json!([]), "invalidSyntax"),
        (
            json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (json!({"Operations": []}), "invalidSyntax"),
        (json!({"Operations": [{"path": "title"}]}), "invalidSyntax"),
        (
            json!({"Operations": [{"op": "move", "path": "title"}]}),
            "invalidSyntax",
        ),
        (json!({"Operations": [{"op": "remove"}]}), "noTarget"),
        (
            json!({"Operations": [{"op": "add", "path": "title"}]}),
            "invalidValue",
        ),
        (
            json!({"Operations": [{"op": "add", "value": "not an object"}]}),
            "invalidValue",
        ),
        (
            json!({"Operations": [{"op": "add", "path": 7, "value": 1}]}),
            "invalidPath",
        ),
        (
            json!({"Operations": [{"op": "add", "path": "a[[", "value": 1}]}),
            "invalidPath",
        ),
    ];
    for (body, scim_type) in cases {
        let err = parse_patch_request(&body).expect_err("malformed");
        assert_eq!(
            err.scim_type.map(|t| t.as_str()),
            Some(scim_type),
            "{body}: {}",
            err.detail
        );
    }
}

#[test]
fn a_failing_operation_changes_nothing() {
    let users = ResourceType::user(vec![]);
    let start = normalize(&users, &bjensen()).expect("valid");
    let body = json!({"Operations": [
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "remove", "path": "userName"}
    ]});
    let ops = parse_patch_request(&body).expect("parses");
    let err = apply_patch(&users, &start, &ops, &users).expect_err("second op fails");
    assert!(err.detail.starts_with("operation 2:"), "{}", err.detail);
}

/// Adding and removing many members at once: duplicates skipped (within the request too),
/// keyless items compared whole, the rest kept in order.
#[test]
fn large_member_changes_keep_set_semantics() {
    let rt = ResourceType::group(vec![]);
    let id = |n: usize| format!("00000000-0000-4000-8000-{n:012}");
    let start = with(group(), |g| {
        g["members"] = Value::Array((0..500).map(|n| json!({"value": id(n)})).collect());
    });
    // Add 0..1000 (the first 500 are there already, 999 twice), remove the even ones.
    let mut adds: Vec<Value> = (0..1000).map(|n| json!({"value": id(n)})).collect();
    adds.push(json!({"value": id(999)}));
    let removes: Vec<Value> = (0..1000)
        .step_by(2)
        .map(|n| json!({"value": id(n)}))
        .collect();
    let expected = with(group(), |g| {
        g["members"] = Value::Array(
            (0..1000)
                .filter(|n| n % 2 == 1)
                .map(|n| json!({"value": id(n)}))
                .collect(),
        );
    });
    check(
        &rt,
        start,
        json!([
            {"op": "add", "path": "members", "value": adds},
            {"op": "Remove", "path": "members", "value": removes}
        ]),
        Ok(expected),
    );
}

/// Equal members given twice (in any member order) are one member after normalisation.
#[test]
fn duplicate_members_are_stored_once() {
    let rt = ResourceType::group(vec![]);
    let start = with(group(), |g| g["members"] = json!([]));
    let expected = with(group(), |g| {
        g["members"] = json!([{"value": M1, "type": "User"}, {"value": M2}]);
    });
    check(
        &rt,
        start,
        json!([{"op": "replace", "path": "members", "value": [
            {"value": M1, "type": "User"}, {"type": "User", "value": M1}, {"value": M2}, {"value": M2}
        ]}]),
        Ok(expected),
    );
}
