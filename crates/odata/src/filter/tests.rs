use serde_json::{json, Map, Value};

use super::*;

/// Parses `input`, prints it, and checks the canonical text and that it parses back the same.
#[track_caller]
fn check(input: &str, canonical: &str) {
    let filter = Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(filter.to_string(), canonical, "printing {input}");
    assert_eq!(
        Filter::parse(canonical).as_ref(),
        Ok(&filter),
        "reparsing {canonical}"
    );
}

#[test]
fn parse_table() {
    check("displayName eq 'x'", "displayName eq 'x'");
    check("displayName EQ 'x'", "displayName eq 'x'");
    check("a ne 1", "a ne 1");
    check(
        "a gt 1 and a Ge 2 and a lt 3 and a LE 4",
        "a gt 1 and a ge 2 and a lt 3 and a le 4",
    );
    check("a eq 1 or b eq 2 and c eq 3", "a eq 1 or b eq 2 and c eq 3");
    check(
        "(a eq 1 or b eq 2) and c eq 3",
        "(a eq 1 or b eq 2) and c eq 3",
    );
    check(
        "a eq 1 and (b eq 2 and c eq 3)",
        "a eq 1 and (b eq 2 and c eq 3)",
    );
    check(
        "(a eq 1 and b eq 2) and c eq 3",
        "(a eq 1 and b eq 2) and c eq 3",
    );
    check(
        "a eq 1 or (b eq 2 or c eq 3)",
        "a eq 1 or (b eq 2 or c eq 3)",
    );
    check("((a eq 1))", "a eq 1");
    check("not a eq 1 and b eq 2", "not (a eq 1) and b eq 2");
    check("NOT (a eq 1 or b eq 2)", "not (a eq 1 or b eq 2)");
    check("not not a eq 1", "not (not (a eq 1))");
    check(
        "startsWith(displayName,'mary')",
        "startswith(displayName,'mary')",
    );
    check(
        "startswith(displayName,'mary') or startswith(givenName,'mary')",
        "startswith(displayName,'mary') or startswith(givenName,'mary')",
    );
    check("ENDSWITH(mail, '@x.com')", "endswith(mail,'@x.com')");
    check("contains(displayName,'ann')", "contains(displayName,'ann')");
    check(
        "not(endsWith(mail,'@x.com'))",
        "not (endswith(mail,'@x.com'))",
    );
    check(
        "mail in ('a@x.com','b@x.com')",
        "mail in ('a@x.com','b@x.com')",
    );
    check("id IN ( '1' , '2' )", "id in ('1','2')");
    check(
        "otherMails/any(m:startsWith(m,'x'))",
        "otherMails/any(m:startswith(m,'x'))",
    );
    check(
        "businessPhones/any(p:p eq '1')",
        "businessPhones/any(p:p eq '1')",
    );
    check(
        "proxyAddresses/any(x:x eq 'SMTP:a@b')",
        "proxyAddresses/any(x:x eq 'SMTP:a@b')",
    );
    check(
        "assignedLicenses/any(x:x/skuId eq 00000000-0000-0000-0000-000000000000)",
        "assignedLicenses/any(x:x/skuId eq 00000000-0000-0000-0000-000000000000)",
    );
    check(
        "assignedLicenses/ALL(x: x/disabledPlans/any(y: y eq 'a'))",
        "assignedLicenses/all(x:x/disabledPlans/any(y:y eq 'a'))",
    );
    check("assignedLicenses/any()", "assignedLicenses/any()");
    check(
        "assignedLicenses/$count eq 0",
        "assignedLicenses/$count eq 0",
    );
    check(
        "employeeHireDate ge 2020-01-01T00:00:00Z",
        "employeeHireDate ge 2020-01-01T00:00:00Z",
    );
    check(
        "createdDateTime lt 2024-06-30T12:00:00.5+02:00",
        "createdDateTime lt 2024-06-30T12:00:00.5+02:00",
    );
    check("accountEnabled eq false", "accountEnabled eq false");
    check("accountEnabled eq TRUE", "accountEnabled eq true");
    check("userType eq 'Member'", "userType eq 'Member'");
    check("manager/id eq 'abc'", "manager/id eq 'abc'");
    check(
        "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter eq '42'",
        "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter eq '42'",
    );
    check(
        "id eq 8F2C6C1E-0F2A-4F8B-9C1D-2E3F4A5B6C7D",
        "id eq 8F2C6C1E-0F2A-4F8B-9C1D-2E3F4A5B6C7D",
    );
    check("displayName eq 'O''Neil'", "displayName eq 'O''Neil'");
    check("displayName eq ''", "displayName eq ''");
    check("displayName eq 'émile'", "displayName eq 'émile'");
    check("mail eq null", "mail eq null");
    check("mail ne NULL", "mail ne null");
    check("n eq -42", "n eq -42");
    check("n gt 1.50", "n gt 1.50");
    check("n lt 1e3", "n lt 1e3");
    check("n eq 9223372036854775807", "n eq 9223372036854775807");
    check(" \ta eq 1\r\n", "a eq 1");
    check("a in ('x')", "a in ('x')");
    check("a in (1, null, true)", "a in (1,null,true)");
}

/// Checks the exact message of a filter that does not parse.
#[track_caller]
fn check_error(input: &str, expected: &str) {
    match Filter::parse(input) {
        Ok(f) => panic!("{input} parsed as {f}"),
        Err(e) => assert_eq!(e.to_string(), expected, "{:.80}", input),
    }
}

#[test]
fn error_table() {
    check_error(
        "displayName eqq 'x'",
        "Invalid filter clause: Syntax error at position 12 in 'displayName eqq 'x''.",
    );
    check_error(
        "",
        "Invalid filter clause: Expression expected at position 0 in ''.",
    );
    check_error(
        "   ",
        "Invalid filter clause: Expression expected at position 3 in '   '.",
    );
    check_error(
        "a eq 1 and",
        "Invalid filter clause: Expression expected at position 10 in 'a eq 1 and'.",
    );
    check_error(
        "a eq",
        "Invalid filter clause: Literal expected at position 4 in 'a eq'.",
    );
    check_error(
        "a eq b",
        "Invalid filter clause: Literal expected at position 5 in 'a eq b'.",
    );
    check_error(
        "displayName",
        "Invalid filter clause: Syntax error at position 11 in 'displayName'.",
    );
    check_error(
        "a eq 1 b",
        "Invalid filter clause: Syntax error at position 7 in 'a eq 1 b'.",
    );
    check_error(
        "(a eq 1",
        "Invalid filter clause: ')' or operator expected at position 7 in '(a eq 1'.",
    );
    check_error(
        "a eq 1)",
        "Invalid filter clause: Syntax error at position 6 in 'a eq 1)'.",
    );
    check_error(
        "a in ('x' 'y')",
        "Invalid filter clause: ')' or ',' expected at position 10 in 'a in ('x' 'y')'.",
    );
    check_error(
        "a in ()",
        "Invalid filter clause: Literal expected at position 6 in 'a in ()'.",
    );
    check_error(
        "a in 'x'",
        "Invalid filter clause: '(' expected at position 5 in 'a in 'x''.",
    );
    check_error(
        "startswith(a 'x')",
        "Invalid filter clause: ')' or ',' expected at position 13 in 'startswith(a 'x')'.",
    );
    check_error(
        "startswith(a,'x'",
        "Invalid filter clause: ')' expected at position 16 in 'startswith(a,'x''.",
    );
    check_error("startswith(a,1)",
        "Invalid filter clause: No function signature for the function with name 'startswith' matches the specified arguments at position 0 in 'startswith(a,1)'.");
    check_error("substringof('x',a)", "Invalid filter clause: Unknown function 'substringof' at position 0 in 'substringof('x',a)'.");
    check_error(
        "a eq 'x",
        "Invalid filter clause: Unterminated string literal at position 5 in 'a eq 'x'.",
    );
    check_error("a eq \"x\"", "Invalid filter clause: Syntax error: character '\"' is not valid at position 5 in 'a eq \"x\"'.");
    check_error(
        "a eq 12abc",
        "Invalid filter clause: Syntax error at position 7 in 'a eq 12abc'.",
    );
    check_error(
        "a eq 2020-01-01",
        "Invalid filter clause: Syntax error at position 9 in 'a eq 2020-01-01'.",
    );
    check_error("a eq 2020-13-01T00:00:00Z",
        "Invalid filter clause: Unrecognized 'Edm.DateTimeOffset' literal '2020-13-01T00:00:00Z' at position 5 in 'a eq 2020-13-01T00:00:00Z'.");
    check_error("a eq 99999999999999999999", "Invalid filter clause: Number '99999999999999999999' is out of range at position 5 in 'a eq 99999999999999999999'.");
    check_error(
        "x/any(m startswith(m,'a'))",
        "Invalid filter clause: ':' expected at position 8 in 'x/any(m startswith(m,'a'))'.",
    );
    check_error(
        "x/any(:m eq 1)",
        "Invalid filter clause: Lambda variable expected at position 6 in 'x/any(:m eq 1)'.",
    );
    check_error(
        "x/some(m:m eq 1)",
        "Invalid filter clause: Unknown function 'some' at position 2 in 'x/some(m:m eq 1)'.",
    );
    check_error("x/$count eq 'a'", "Invalid filter clause: '$count' can only be compared with an integer at position 12 in 'x/$count eq 'a''.");
    check_error(
        "x/ eq 1",
        "Invalid filter clause: Syntax error at position 6 in 'x/ eq 1'.",
    );
    check_error(
        "x/'a' eq 1",
        "Invalid filter clause: Property name expected at position 2 in 'x/'a' eq 1'.",
    );
    check_error(
        "x/$top eq 1",
        "Invalid filter clause: Property name expected at position 2 in 'x/$top eq 1'.",
    );
    let deep = format!("{}a eq 1{}", "(".repeat(33), ")".repeat(33));
    check_error(&deep, &format!("Invalid filter clause: The filter nests deeper than 32 levels at position 33 in '{deep}'."));
    let nots = format!("{}a eq 1", "not ".repeat(33));
    assert!(Filter::parse(&nots).is_err());
    assert!(Filter::parse(&format!("{}a eq 1{}", "(".repeat(32), ")".repeat(32))).is_ok());
    let long = format!("a eq '{}'", "x".repeat(9000));
    check_error(
        &long,
        "Invalid filter clause: The query option is 9007 bytes long; the limit is 8192.",
    );
}

#[test]
fn properties_lists_object_paths_only() {
    let f = Filter::parse(
        "startswith(displayName,'a') and (manager/id eq '1' or not foo eq 2) \
         and assignedLicenses/any(x:x/skuId eq 'a' and country eq 'FR') and otherMails/$count eq 0",
    )
    .unwrap();
    let names: Vec<String> = f.properties().map(|p| p.to_string()).collect();
    assert_eq!(
        names,
        [
            "displayName",
            "manager/id",
            "foo",
            "assignedLicenses",
            "country",
            "otherMails/$count"
        ]
    );
    assert_eq!(
        f.properties()
            .filter_map(PropertyPath::root_property)
            .nth(2),
        Some("foo")
    );
}

fn user() -> Map<String, Value> {
    let v = json!({
        "id": "8f2c6c1e-0f2a-4f8b-9c1d-2e3f4a5b6c7d",
        "displayName": "Émile Zola",
        "givenName": "émile",
        "surname": "Zola",
        "userPrincipalName": "emile@contoso.com",
        "mail": "Emile.Zola@Contoso.com",
        "userType": "Member",
        "accountEnabled": true,
        "employeeHireDate": "2021-03-04T10:00:00Z",
        "createdDateTime": "2024-01-01T01:00:00+02:00",
        "jobTitle": null,
        "age": 42,
        "rating": 4.5,
        "otherMails": ["zola@example.org", "EZ@Example.ORG"],
        "businessPhones": ["+33 1 23 45"],
        "proxyAddresses": ["SMTP:emile@contoso.com", "smtp:ez@contoso.com"],
        "assignedLicenses": [
            {"skuId": "C7DF2760-2C81-4EF7-B578-5B5392B571DF", "disabledPlans": []},
            {"skuId": "00000000-0000-0000-0000-000000000000", "disabledPlans": ["a", "b"]}
        ],
        "manager": {"id": "m-1", "displayName": "Boss"},
        "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter": "CC-42",
        "memberOf": []
    });
    match v {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

#[track_caller]
fn check_eval(filter: &str, expected: bool) {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(f.matches(&user()), expected, "{filter}");
}

#[test]
fn evaluation_table() {
    // Equality and case-insensitivity, of values and of property names.
    check_eval("userType eq 'Member'", true);
    check_eval("userType eq 'member'", true);
    check_eval("USERTYPE eq 'MEMBER'", true);
    check_eval("userType eq 'Guest'", false);
    check_eval("userType ne 'Guest'", true);
    check_eval("userType ne 'MEMBER'", false);
    check_eval("displayName eq 'ÉMILE ZOLA'", true);
    check_eval("displayName eq 'émile zola'", true);
    check_eval("givenName eq 'ÉMILE'", true);
    check_eval("givenName eq 'EMILE'", false);
    check_eval("surname eq 'Zol'", false);
    // Ordering on strings, numbers, booleans.
    check_eval("surname gt 'y'", true);
    check_eval("surname lt 'ZOLB'", true);
    check_eval("surname ge 'ZOLA'", true);
    check_eval("surname le 'zol'", false);
    check_eval("age eq 42", true);
    check_eval("age gt 41 and age lt 43", true);
    check_eval("age ge 42.0", true);
    check_eval("age lt 42", false);
    check_eval("rating gt 4", true);
    check_eval("rating eq 4.5", true);
    check_eval("rating le 4.49", false);
    check_eval("accountEnabled eq true", true);
    check_eval("accountEnabled eq false", false);
    check_eval("accountEnabled ne false", true);
    check_eval("accountEnabled gt false", true);
    // Type mismatches never match, except through ne.
    check_eval("age eq '42'", false);
    check_eval("userType eq 1", false);
    check_eval("userType ne 1", true);
    check_eval("userType gt 1", false);
    // Null and missing.
    check_eval("jobTitle eq null", true);
    check_eval("department eq null", true);
    check_eval("mail eq null", false);
    check_eval("mail ne null", true);
    check_eval("jobTitle ne null", false);
    check_eval("department ne 'x'", true);
    check_eval("department eq 'x'", false);
    check_eval("department gt 'a'", false);
    check_eval("startswith(department,'a')", false);
    check_eval("not (department eq 'x')", true);
    // String functions.
    check_eval("startswith(displayName,'émile')", true);
    check_eval("startsWith(mail,'EMILE.')", true);
    check_eval("startswith(mail,'zola')", false);
    check_eval("endswith(mail,'@contoso.COM')", true);
    check_eval("endswith(displayName,'ZOLA')", true);
    check_eval("endswith(givenName,'MILE')", true);
    check_eval("contains(displayName,'LE Z')", true);
    check_eval("contains(mail,'zola@')", true);
    check_eval("contains(mail,'nobody')", false);
    check_eval("startswith(displayName,'')", true);
    check_eval("startswith(age,'4')", false);
    check_eval("not(endsWith(mail,'@x.com'))", true);
    // in
    check_eval("mail in ('a@x.com','emile.zola@contoso.com')", true);
    check_eval("mail in ('a@x.com','b@x.com')", false);
    check_eval("age in (1, 42)", true);
    check_eval("department in ('x', null)", true);
    // Precedence.
    check_eval(
        "userType eq 'Guest' and age eq 42 or surname eq 'Zola'",
        true,
    );
    check_eval(
        "userType eq 'Guest' and (age eq 42 or surname eq 'Zola')",
        false,
    );
    check_eval("not userType eq 'Guest' and age eq 42", true);
    // Paths.
    check_eval("manager/id eq 'M-1'", true);
    check_eval("MANAGER/DISPLAYNAME eq 'boss'", true);
    check_eval("manager/missing eq null", true);
    check_eval("mail/x eq null", true);
    check_eval(
        "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter eq 'cc-42'",
        true,
    );
    // GUIDs compare with strings ignoring case.
    check_eval("id eq 8F2C6C1E-0F2A-4F8B-9C1D-2E3F4A5B6C7D", true);
    check_eval("id eq 00000000-0000-0000-0000-000000000000", false);
    // Dates compare as instants; 2024-01-01T01:00+02:00 is 2023-12-31T23:00Z.
    check_eval("employeeHireDate ge 2020-01-01T00:00:00Z", true);
    check_eval("employeeHireDate lt 2021-03-04T11:00:00+01:00", false);
    check_eval("employeeHireDate eq 2021-03-04T11:00:00+01:00", true);
    check_eval("createdDateTime lt 2024-01-01T00:00:00Z", true);
    check_eval("userType gt 2024-01-01T00:00:00Z", true);
    // Collections.
    check_eval("otherMails/any(m:startsWith(m,'ez@'))", true);
    check_eval("otherMails/any(m:m eq 'ez@example.org')", true);
    check_eval("otherMails/all(m:endswith(m,'@example.org'))", true);
    check_eval("otherMails/all(m:startswith(m,'zola'))", false);
    check_eval("businessPhones/any(p:p eq '+33 1 23 45')", true);
    check_eval("proxyAddresses/any(x:x eq 'SMTP:EZ@contoso.com')", true);
    check_eval(
        "assignedLicenses/any(x:x/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df)",
        true,
    );
    check_eval(
        "assignedLicenses/any(x:x/SKUID eq 00000000-0000-0000-0000-000000000000)",
        true,
    );
    check_eval(
        "assignedLicenses/any(x:x/disabledPlans/any(p:p eq 'B'))",
        true,
    );
    check_eval(
        "assignedLicenses/all(x:x/disabledPlans/any(p:p eq 'B'))",
        false,
    );
    check_eval(
        "assignedLicenses/any(x:x/skuId eq 'nope' or userType eq 'member')",
        true,
    );
    check_eval("assignedLicenses/any()", true);
    check_eval("memberOf/any()", false);
    check_eval("memberOf/all(m:m eq 'x')", true);
    check_eval("missing/any(m:m eq 'x')", false);
    check_eval("missing/all(m:m eq 'x')", true);
    check_eval("mail/any(m:m eq 'x')", false);
    check_eval("assignedLicenses/$count eq 2", true);
    check_eval("memberOf/$count eq 0", true);
    check_eval("missing/$count eq 0", true);
    check_eval("otherMails/$count gt 2", false);
    check_eval("mail/$count eq 0", false);
    // A collection is not a scalar.
    check_eval("otherMails eq 'zola@example.org'", false);
}

#[track_caller]
fn check_pushdown(
    filter: &str,
    props: &[&str],
    equality: Option<(&str, &[&str])>,
    prefix: Option<(&str, &str)>,
) {
    let f = Filter::parse(filter).unwrap();
    let got = f.equality_on(props);
    let want = equality.map(|(p, vs)| {
        (
            p.to_string(),
            vs.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        )
    });
    assert_eq!(got, want, "equality_on {filter}");
    let want = prefix.map(|(p, v)| (p.to_string(), v.to_string()));
    assert_eq!(f.prefix_on(props), want, "prefix_on {filter}");
}

#[test]
fn pushdown_table() {
    const P: &[&str] = &[
        "id",
        "userPrincipalName",
        "mail",
        "displayName",
        "proxyAddresses",
    ];
    check_pushdown(
        "userPrincipalName eq 'a@b'",
        P,
        Some(("userPrincipalName", &["a@b"])),
        None,
    );
    check_pushdown(
        "USERPRINCIPALNAME eq 'A@b'",
        P,
        Some(("userPrincipalName", &["A@b"])),
        None,
    );
    check_pushdown("id in ('1','2')", P, Some(("id", &["1", "2"])), None);
    check_pushdown(
        "id eq 8f2c6c1e-0f2a-4f8b-9c1d-2e3f4a5b6c7d",
        P,
        Some(("id", &["8f2c6c1e-0f2a-4f8b-9c1d-2e3f4a5b6c7d"])),
        None,
    );
    check_pushdown(
        "accountEnabled eq true and mail eq 'm'",
        P,
        Some(("mail", &["m"])),
        None,
    );
    check_pushdown("mail eq 'm' and id eq '1'", P, Some(("id", &["1"])), None);
    check_pushdown(
        "a eq 1 and (b eq 2 and mail eq 'm')",
        P,
        Some(("mail", &["m"])),
        None,
    );
    check_pushdown("mail eq 'm' or id eq '1'", P, None, None);
    check_pushdown("not (mail eq 'm')", P, None, None);
    check_pushdown("mail ne 'm'", P, None, None);
    check_pushdown("mail eq null", P, None, None);
    check_pushdown("id in ('1', null)", P, None, None);
    check_pushdown("manager/id eq '1'", P, None, None);
    check_pushdown("jobTitle eq 'x'", P, None, None);
    check_pushdown(
        "proxyAddresses/any(x:x eq 'SMTP:a@b')",
        P,
        Some(("proxyAddresses", &["SMTP:a@b"])),
        None,
    );
    check_pushdown("proxyAddresses/any(x:startswith(x,'smtp'))", P, None, None);
    check_pushdown("proxyAddresses/all(x:x eq 'a')", P, None, None);
    check_pushdown(
        "startswith(displayName,'mary')",
        P,
        None,
        Some(("displayName", "mary")),
    );
    check_pushdown(
        "startswith(displayName,'mary') or startswith(givenName,'mary')",
        P,
        None,
        None,
    );
    check_pushdown(
        "userType eq 'Member' and startsWith(mail,'a')",
        P,
        None,
        Some(("mail", "a")),
    );
    check_pushdown("endswith(mail,'a')", P, None, None);
    check_pushdown(
        "startswith(mail,'a') and id eq '1'",
        P,
        Some(("id", &["1"])),
        Some(("mail", "a")),
    );
}
