//! Table tests for the filter and path grammar (RFC 7644 §3.4.2.2, §3.5.2, §3.10).

use provisio_scim::filter::{CompValue, CompareOp, Filter, FilterError, MAX_FILTER_DEPTH};
use provisio_scim::path::{AttrPath, PatchPath, PathError};

/// Parses `input`, checks it prints as `printed`, and that `printed` parses
/// back to the same AST.
#[track_caller]
fn check(input: &str, printed: &str) {
    let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?} failed: {e}"));
    assert_eq!(f.to_string(), printed, "printed form of {input:?}");
    assert_eq!(
        Filter::parse(printed).as_ref(),
        Ok(&f),
        "reparse of {printed:?}"
    );
}

#[track_caller]
fn check_ast(input: &str, expected: Filter) {
    assert_eq!(Filter::parse(input), Ok(expected), "{input:?}");
}

/// Microsoft Entra filters by `emails[type eq "work"].value eq "x"`, which RFC grammar lacks;
/// it reads as the value filter that means the same.
#[test]
fn entra_sub_attribute_after_a_value_filter() {
    check(
        r#"emails[type eq "work"].value eq "ann@example.com""#,
        r#"emails[type eq "work" and value eq "ann@example.com"]"#,
    );
    check(
        r#"emails[type eq "work"].display pr"#,
        r#"emails[type eq "work" and display pr]"#,
    );
}

fn p(s: &str) -> AttrPath {
    AttrPath::parse(s).unwrap()
}
fn pr(s: &str) -> Filter {
    Filter::Present(p(s))
}
fn cmp(path: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare {
        path: p(path),
        op,
        value,
    }
}
fn s(v: &str) -> CompValue {
    CompValue::Str(v.to_string())
}
fn vp(attr: &str, inner: Filter) -> Filter {
    Filter::ValuePath {
        attr: p(attr),
        filter: Box::new(inner),
    }
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn rfc7644_filter_examples() {
    // Every example filter of RFC 7644 §3.4.2.2 (and its case-insensitivity note).
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        (r#"userName Eq "john""#, r#"userName eq "john""#),
        (r#"Username eq "john""#, r#"Username eq "john""#),
        (r#"userName eq "bjensen""#, r#"userName eq "bjensen""#),
        (r#"name.familyName co "O'Malley""#, r#"name.familyName co "O'Malley""#),
        (r#"userName sw "J""#, r#"userName sw "J""#),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#),
        ("title pr", "title pr"),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, r#"meta.lastModified ge "2011-05-13T04:42:34Z""#),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, r#"meta.lastModified lt "2011-05-13T04:42:34Z""#),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, r#"meta.lastModified le "2011-05-13T04:42:34Z""#),
        (r#"title pr and userType eq "Employee""#, r#"title pr and userType eq "Employee""#),
        (r#"title pr or userType eq "Intern""#, r#"title pr or userType eq "Intern""#),
        (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#),
        (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#),
        (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#),
        (r#"userType eq "Employee" and (emails.type eq "work")"#, r#"userType eq "Employee" and emails.type eq "work""#),
        (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#),
        (r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#, r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#),
    ];
    for (input, printed) in cases {
        check(input, printed);
    }
}

#[test]
fn rfc7644_filter_example_asts() {
    use CompareOp::*;
    check_ast(r#"userName Eq "john""#, cmp("userName", Eq, s("john")));
    check_ast(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        Filter::Compare {
            path: AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "userName".into(),
                sub: None,
            },
            op: Sw,
            value: s("J"),
        },
    );
    check_ast(
        r#"title pr and userType eq "Employee""#,
        pr("title").and(cmp("userType", Eq, s("Employee"))),
    );
    check_ast(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        cmp("userType", Ne, s("Employee")).and(
            cmp("emails", Co, s("example.com"))
                .or(cmp("emails.value", Co, s("example.org")))
                .not(),
        ),
    );
    check_ast(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        vp(
            "emails",
            cmp("type", Eq, s("work")).and(cmp("value", Co, s("@example.com"))),
        )
        .or(vp(
            "ims",
            cmp("type", Eq, s("xmpp")).and(cmp("value", Co, s("@foo.com"))),
        )),
    );
}

#[test]
fn grammar_cases() {
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        // operators and keywords are case-insensitive
        (r#"userName EQ "a" AND title PR OR nickName Ne "b""#, r#"userName eq "a" and title pr or nickName ne "b""#),
        (r#"a CO "x""#, r#"a co "x""#), (r#"a Sw "x""#, r#"a sw "x""#), (r#"a eW "x""#, r#"a ew "x""#),
        ("a GT 1", "a gt 1"), ("a ge 1", "a ge 1"), ("a LT 1", "a lt 1"), ("a lE 1", "a le 1"),
        ("NOT (a pr)", "not (a pr)"), ("not(a pr)", "not (a pr)"), ("Not  (  a pr  )", "not (a pr)"),
        // precedence and associativity
        ("a pr or b pr and c pr", "a pr or b pr and c pr"),
        ("a pr and b pr or c pr", "a pr and b pr or c pr"),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr and (b pr or c pr)", "a pr and (b pr or c pr)"),
        ("a pr and b pr and c pr", "a pr and b pr and c pr"),
        ("(a pr and b pr) and c pr", "a pr and b pr and c pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("((((a pr))))", "a pr"),
        ("not (not (a pr))", "not (not (a pr))"),
        ("not (a pr) and not (b pr)", "not (a pr) and not (b pr)"),
        // whitespace tolerance
        ("  \ta   pr\t\tand\n b pr  ", "a pr and b pr"),
        (r#"userName eq"x""#, r#"userName eq "x""#),
        ("(a pr)and(b pr)", "a pr and b pr"),
        (r#"emails [ type eq "work" ]"#, r#"emails[type eq "work"]"#),
        // values
        ("a eq true", "a eq true"), ("a eq FALSE", "a eq false"), ("a eq Null", "a eq null"),
        ("a eq 0", "a eq 0"), ("a eq -12", "a eq -12"), ("a eq 18446744073709551615", "a eq 18446744073709551615"),
        ("a eq 1.5", "a eq 1.5"), ("a eq -1.5e3", "a eq -1500.0"), ("a eq 2E-2", "a eq 0.02"),
        (r#"a eq """#, r#"a eq """#),
        (r#"a eq "q\"b\\s\/d\b\f\n\r\t""#, r#"a eq "q\"b\\s/d\b\f\n\r\t""#),
        (r#"a eq "\u00e9\u00E9 \ud83d\ude00 é""#, r#"a eq "éé 😀 é""#),
        (r#"a eq "\u0001""#, r#"a eq "\u0001""#),
        (r#"a eq "and or not ) ] [ (""#, r#"a eq "and or not ) ] [ (""#),
        // attribute paths
        ("members.$ref pr", "members.$ref pr"), ("$ref pr", "$ref pr"),
        ("a-b_c9.d-e_1 pr", "a-b_c9.d-e_1 pr"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"1\"", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"1\""),
        ("URN:foo:bar:baz pr", "URN:foo:bar:baz pr"),
        // keywords used as attribute names
        ("not pr", "not pr"), ("not eq 1", "not eq 1"), ("and pr and or pr", "and pr and or pr"),
        (r#"not[type eq "x"]"#, r#"not[type eq "x"]"#),
        // value paths
        (r#"emails[type eq "work"]"#, r#"emails[type eq "work"]"#),
        (r#"emails[not (type eq "work")]"#, r#"emails[not (type eq "work")]"#),
        (r#"emails[(type eq "work" or type eq "home") and primary eq true]"#, r#"emails[(type eq "work" or type eq "home") and primary eq true]"#),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName sw "J"]"#, r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName sw "J"]"#),
        (r#"not (emails[type eq "work"])"#, r#"not (emails[type eq "work"])"#),
    ];
    for (input, printed) in cases {
        check(input, printed);
    }
}

#[test]
fn structural_asts() {
    check_ast("a pr or b pr and c pr", pr("a").or(pr("b").and(pr("c"))));
    check_ast("a pr and b pr and c pr", pr("a").and(pr("b")).and(pr("c")));
    check_ast("a pr or b pr or c pr", pr("a").or(pr("b")).or(pr("c")));
    check_ast(
        "a pr and (b pr and c pr)",
        pr("a").and(pr("b").and(pr("c"))),
    );
    check_ast("not (a pr) and b pr", pr("a").not().and(pr("b")));
    check_ast("a eq TRUE", cmp("a", CompareOp::Eq, CompValue::Bool(true)));
    check_ast("a ne nULL", cmp("a", CompareOp::Ne, CompValue::Null));
    check_ast(
        "a gt 10",
        cmp("a", CompareOp::Gt, CompValue::Num(10.into())),
    );
    check_ast(
        "a lt -2.5",
        cmp(
            "a",
            CompareOp::Lt,
            CompValue::Num(serde_json::Number::from_f64(-2.5).unwrap()),
        ),
    );
    check_ast("not pr", pr("not"));
    check_ast(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr",
        Filter::Present(AttrPath {
            urn: Some(ENTERPRISE.into()),
            name: "manager".into(),
            sub: Some("value".into()),
        }),
    );
}

#[test]
fn attr_path_cases() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>, &str, Option<&str>)] = &[
        ("userName", None, "userName", None),
        ("name.familyName", None, "name", Some("familyName")),
        ("members.$ref", None, "members", Some("$ref")),
        ("$ref", None, "$ref", None),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName", Some("urn:ietf:params:scim:schemas:core:2.0:User"), "userName", None),
        ("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", Some("urn:ietf:params:scim:schemas:core:2.0:User"), "name", Some("familyName")),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", Some(ENTERPRISE), "manager", Some("value")),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", Some(ENTERPRISE), "employeeNumber", None),
        // a bare schema URN: the lead resolves this case
        (ENTERPRISE, Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"), "User", None),
        ("Urn:Example:x1:attr", Some("Urn:Example:x1"), "attr", None),
    ];
    for (input, urn, name, sub) in cases {
        let path = AttrPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(path.urn.as_deref(), *urn, "{input}");
        assert_eq!(path.name, *name, "{input}");
        assert_eq!(path.sub.as_deref(), *sub, "{input}");
        assert_eq!(path.to_string(), *input);
    }
}

#[test]
fn patch_path_rfc7644_examples() {
    // PATCH paths from RFC 7644 §3.5.2 and its sub-sections.
    #[rustfmt::skip]
    let cases: &[&str] = &[
        "members",
        "name.familyName",
        r#"addresses[type eq "work"]"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
        r#"emails[type eq "work" and value ew "example.com"]"#,
        r#"addresses[type eq "work"].streetAddress"#,
        "emails",
        "userName",
        "x509Certificates",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
        r#"emails[type eq "work"].value"#,
        r#"phoneNumbers[type eq "fax"]"#,
        "members.$ref",
    ];
    for input in cases {
        let path = PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(path.to_string(), *input);
        assert_eq!(PatchPath::parse(&path.to_string()), Ok(path));
    }

    let path =
        PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#)
            .unwrap();
    assert_eq!(path.attr, p("members"));
    assert_eq!(
        path.filter,
        Some(cmp(
            "value",
            CompareOp::Eq,
            s("2819c223-7f76-453a-919d-413861904646")
        ))
    );
    assert_eq!(path.sub_after_filter.as_deref(), Some("displayName"));

    let path = PatchPath::parse("name.familyName").unwrap();
    assert_eq!(path.attr, AttrPath::with_sub("name", "familyName"));
    assert_eq!((path.filter, path.sub_after_filter), (None, None));

    let path = PatchPath::parse(ENTERPRISE).unwrap();
    assert_eq!(
        path.attr.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
    );
    assert_eq!(path.attr.name, "User");

    let path = PatchPath::parse(r#"emails[type eq "work" and value ew "example.com"]"#).unwrap();
    assert_eq!(
        path.filter,
        Some(cmp("type", CompareOp::Eq, s("work")).and(cmp(
            "value",
            CompareOp::Ew,
            s("example.com")
        )))
    );

    // Whitespace around a PATCH path is tolerated and case is kept.
    let path = PatchPath::parse("  Emails[ TYPE EQ \"work\" ].Value ").unwrap();
    assert_eq!(path.to_string(), r#"Emails[TYPE eq "work"].Value"#);
}

#[track_caller]
fn filter_err(input: &str, message: &str, position: usize) {
    let shown: String = input.chars().take(80).collect();
    assert_eq!(
        Filter::parse(input),
        Err(FilterError {
            message: message.to_string(),
            position
        }),
        "{shown:?}"
    );
}

#[test]
fn invalid_filters() {
    let deep_parens = format!("{}a pr{}", "(".repeat(33), ")".repeat(33));
    let deep_not = format!("{}a pr{}", "not (".repeat(33), ")".repeat(33));
    let ok_parens = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
    assert!(Filter::parse(&ok_parens).is_ok());
    let deep_in_vp = format!("emails[{}a pr{}]", "(".repeat(32), ")".repeat(32));
    let too_long = format!("a eq \"{}\"", "x".repeat(8200));
    #[rustfmt::skip]
    let cases: &[(&str, &str, usize)] = &[
        ("", "empty filter", 0),
        ("   ", "empty filter", 3),
        (r#"userName eq "john"#, "unterminated string", 12),
        (r#"userName eq "john\"#, "unterminated string", 12),
        ("userName eq", "expected a comparison value after \"eq\"", 11),
        ("userName eq ", "expected a comparison value after \"eq\"", 12),
        ("userName gt )", "expected a comparison value after \"gt\"", 12),
        ("title eq bob", "expected a comparison value after \"eq\", found \"bob\" (strings must be quoted)", 9),
        (r#"userName foo "x""#, "unknown operator \"foo\"", 9),
        (r#"userName == "x""#, "expected an operator after \"userName\"", 9),
        ("userName", "expected an operator after \"userName\"", 8),
        ("title pr and", "expected a filter expression after \"and\"", 12),
        ("title pr or  ", "expected a filter expression after \"or\"", 13),
        ("title pr and )", "expected a filter expression after \"and\"", 13),
        ("(title pr", "expected \")\"", 9),
        ("((title pr)", "expected \")\"", 11),
        ("title pr)", "unexpected \")\"", 8),
        (")", "unexpected \")\"", 0),
        ("]", "unexpected \"]\"", 0),
        ("()", "expected a filter expression after \"(\"", 1),
        ("not ()", "expected a filter expression after \"(\"", 5),
        ("not title pr", "expected \"(\" after \"not\"", 4),
        ("not", "expected \"(\" after \"not\"", 3),
        ("title pr title pr", "expected \"and\" or \"or\", found \"title\"", 9),
        ("title pr andx pr", "expected \"and\" or \"or\", found \"andx\"", 9),
        ("(title pr x)", "expected \"and\", \"or\" or \")\", found \"x\"", 10),
        ("title pr 5", "expected \"and\" or \"or\", found \"5\"", 9),
        ("title pr !", "expected \"and\" or \"or\", found '!'", 9),
        (r#"emails[type eq "work""#, "expected \"]\"", 21),
        (r#"emails[type eq "work" title pr]"#, "expected \"and\", \"or\" or \"]\", found \"title\"", 22),
        (r#"emails[type eq "work")"#, "unexpected \")\"", 21),
        ("(emails[type pr)]", "unexpected \")\"", 15),
        ("emails[]", "expected a filter expression after \"[\"", 7),
        ("emails[x[y eq 1]]", "value paths cannot be nested", 8),
        ("emails[(x[y eq 1])]", "value paths cannot be nested", 9),
        (r#"emails[type eq "work"]."#, "expected a sub-attribute name after \"].\"", 23),
        (r#"emails[type eq "work"].value"#, "expected an operator after \"value\"", 28),
        ("name.givenName[value pr]", "a value filter cannot follow a sub-attribute", 14),
        (r#""x" eq 1"#, "expected an attribute path, found a string", 0),
        ("(!)", "expected an attribute path, found '!'", 1),
        ("1abc pr", "invalid attribute name \"1abc\": it must start with a letter", 0),
        ("a-b.c$d pr", "invalid character in attribute name \"c$d\"", 5),
        ("foo:bar pr", "an attribute path prefix must be a \"urn:\" URI", 3),
        ("a.b.c pr", "unexpected \".\": attribute paths have at most one sub-attribute", 3),
        ("a. pr", "expected a sub-attribute name after \".\"", 2),
        ("urn:x pr", "invalid schema URN \"urn\"", 0),
        ("urn:a::b pr", "invalid schema URN \"urn:a:\"", 0),
        ("urn:a:b: pr", "expected an attribute name after the schema URN", 8),
        ("a eq 01", "invalid number \"01\"", 5),
        ("a eq 1.", "invalid number \"1.\"", 5),
        ("a eq -", "invalid number \"-\"", 5),
        ("a eq 1e400", "invalid number \"1e400\"", 5),
        ("a eq 12abc", "invalid number \"12abc\"", 5),
        (r#"a eq "\x""#, "invalid escape \"\\x\" in string", 6),
        (r#"a eq "\u12""#, "invalid \\u escape: expected 4 hex digits", 6),
        (r#"a eq "\ud83d""#, "unpaired UTF-16 surrogate in \\u escape", 6),
        (r#"a eq "\ud83d\u0041""#, "unpaired UTF-16 surrogate in \\u escape", 6),
        (r#"a eq "\ude00""#, "unpaired UTF-16 surrogate in \\u escape", 6),
        (&deep_parens, "filter nests deeper than 32 levels", 32),
        (&deep_not, "filter nests deeper than 32 levels", 164),
        (&deep_in_vp, "filter nests deeper than 32 levels", 38),
        (&too_long, "filter is longer than 8192 bytes", 8192),
    ];
    for (input, message, position) in cases {
        filter_err(input, message, *position);
    }
    assert_eq!(MAX_FILTER_DEPTH, 32);
}

#[test]
fn error_display_includes_position() {
    let err = Filter::parse(r#"userName eq "john"#).unwrap_err();
    assert_eq!(err.to_string(), "unterminated string at position 12");
    let err = PatchPath::parse("members[").unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected a filter expression after \"[\" at position 8"
    );
}

#[test]
fn hundred_thousand_open_parens_is_an_error_not_a_stack_overflow() {
    let input = "(".repeat(100_000);
    assert!(Filter::parse(&input).is_err());
    assert!(PatchPath::parse(&format!("a[{input}")).is_err());
    // Under the length cap the depth cap is what stops it.
    let input = "(".repeat(8_000);
    filter_err(&input, "filter nests deeper than 32 levels", 32);
    let input = "not (".repeat(1_600);
    filter_err(&input, "filter nests deeper than 32 levels", 164);
    let input = "a[".repeat(4_000);
    filter_err(&input, "value paths cannot be nested", 3);
}

#[test]
fn longest_and_chain_parses_prints_evaluates_and_drops() {
    // `and` chains do not count as nesting; the longest one allowed must still
    // be printable, evaluable and droppable without exhausting the stack.
    let n = (8192 - 4) / 9;
    let mut input = "a pr".to_string();
    for _ in 0..n {
        input.push_str(" and a pr");
    }
    assert!(input.len() <= 8192);
    let filter = Filter::parse(&input).unwrap();
    assert_eq!(filter.to_string(), input);
    let resource = serde_json::json!({"a": 1});
    assert!(filter.matches(&resource, &provisio_scim::filter::CaseInsensitive));
    assert_eq!(Filter::parse(&filter.to_string()), Ok(filter));
}

#[track_caller]
fn path_err(input: &str, message: &str, position: usize) {
    assert_eq!(
        PatchPath::parse(input),
        Err(PathError {
            message: message.to_string(),
            position
        }),
        "{input:?}"
    );
}

#[test]
fn invalid_paths() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, usize)] = &[
        ("", "empty path", 0),
        ("  ", "empty path", 2),
        ("[type eq 1]", "expected an attribute name '['", 0),
        ("members[", "expected a filter expression after \"[\"", 8),
        ("members[]", "expected a filter expression after \"[\"", 8),
        (r#"members[value eq "x""#, "expected \"]\"", 20),
        (r#"members[value eq "x"].""#, "expected a sub-attribute name after \".\"", 22),
        (r#"members[value eq "x"].a.b"#, "invalid character in attribute name \"a.b\"", 23),
        (r#"members[value eq "x"]junk"#, "unexpected 'j'", 21),
        (r#"members[value eq "x"] ]"#, "unexpected ' '", 21),
        ("members junk", "unexpected ' '", 7),
        ("name.givenName[value eq 1]", "a value filter cannot follow a sub-attribute", 14),
        ("members[x[y eq 1]]", "value paths cannot be nested", 9),
        ("members[value eq]", "expected a comparison value after \"eq\"", 16),
        (r#"members[value eq "x")"#, "unexpected \")\"", 20),
        ("a.b.c", "unexpected \".\": attribute paths have at most one sub-attribute", 3),
        ("9lives", "invalid attribute name \"9lives\": it must start with a letter", 0),
    ];
    for (input, message, position) in cases {
        path_err(input, message, *position);
    }

    let err = |s: &str| AttrPath::parse(s).unwrap_err();
    assert_eq!(err("").message, "empty attribute path");
    assert_eq!(err("name.").position, 5);
    assert_eq!(
        err("name familyName"),
        PathError {
            message: "unexpected ' '".into(),
            position: 4
        }
    );
    assert_eq!(err("emails[type eq 1]").position, 6);
    assert_eq!(err("(").message, "expected an attribute name, found '('");
}

/// Found by `cargo fuzz run filter`: an invalid name after `].` must be refused, not printed
/// into a filter that no longer parses.
#[test]
fn fuzz_regressions() {
    let input = "ot\r\t[ge\n\new         2 \t\t].NN$$$33NNNzt\rgt\r-5";
    if let Ok(f) = Filter::parse(input) {
        assert_eq!(Filter::parse(&f.to_string()), Ok(f));
    }
}
