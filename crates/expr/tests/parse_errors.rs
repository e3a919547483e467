//! Syntax errors: the exact message, with the column where the parser stopped.

use provisio_expr::{parse, Expr};

#[track_caller]
fn check(expression: &str, expected: &str) {
    match parse(expression) {
        Ok(tree) => panic!("{expression}: parsed as {tree:?}, expected {expected}"),
        Err(error) => assert_eq!(error.to_string(), expected, "{expression}"),
    }
}

#[track_caller]
fn parses(expression: &str, printed: &str) {
    match parse(expression) {
        Ok(tree) => assert_eq!(tree.to_string(), printed, "{expression}"),
        Err(error) => panic!("{expression}: {error}"),
    }
}

#[test]
#[rustfmt::skip]
fn errors() {
    check("", r#"expected a function call, an [attribute], a "string" or a number at column 1"#);
    check("   ", r#"expected a function call, an [attribute], a "string" or a number at column 4"#);
    check(r#"Join(" ", [givenName] [surname])"#, r#"expected "," or ")" after argument 2 of Join at column 23"#);
    check(r#"Join(",", [a], [b]"#, r#"expected "," or ")" after argument 3 of Join at column 19"#);
    check("Mid([x], 1, 8", r#"expected "," or ")" after argument 3 of Mid at column 14"#);
    check("Mid", r#"expected "(" after function name Mid at column 4"#);
    check("Mid [x]", r#"expected "(" after function name Mid at column 5"#);
    check("Mid(?)", "expected argument 1 of Mid at column 5");
    check("Append([a], ))", "expected the end of the expression at column 14");
    check("[a] [b]", "expected the end of the expression at column 5");
    check("[givenName", r#"expected "]" to close the attribute name opened at column 1 at column 11"#);
    check("Append([a[b]], \"x\")", r#"expected "]" to close the attribute name opened at column 8 at column 10"#);
    check("[]", r#"expected an attribute name after "[" at column 2"#);
    check(r#"Append([a], "open)"#, r#"expected '"' to close the string opened at column 13 at column 19"#);
    check(r#""escaped \" quote"#, r#"expected '"' to close the string opened at column 1 at column 18"#);
    check("Left([a], -)", r#"expected a digit after "-" at column 12"#);
    check("Left([a], 99999999999999999999)", "expected a number that fits in 64 bits at column 11");
    check("BitAnd(&HG, 1)", r#"expected a hex digit after "&H" at column 10"#);
    check("BitAnd(&X1, 1)", r#"expected "H" after "&" in a hex number at column 9"#);
    check("BitAnd(&H10000000000000000, 1)", "expected a number that fits in 64 bits at column 8");
    check(r#"IIF([a]=, "t", "f")"#, r#"expected a value after "=" at column 9"#);
    check(r#"IIF([a]<>)"#, r#"expected a value after "<>" at column 10"#);
    check(r#"IIF([a] = [b] = [c], "t", "f")"#, r#"expected "," or ")" after argument 1 of IIF at column 15"#);
    check("Zoë(", "expected argument 1 of Zoë at column 5");
    check("Ünïcödé([ä]) x", "expected the end of the expression at column 14");
}

#[test]
#[rustfmt::skip]
fn length_and_depth_limits() {
    let long = format!("\"{}\"", "a".repeat(9_999));
    check(&long, "expected at most 10,000 characters in an expression, found 10001 at column 10001");
    let exactly = format!("\"{}\"", "é".repeat(9_998));
    assert!(parse(&exactly).is_ok());
    let deep = format!("{}[a]{}", "ToLower(".repeat(64), ")".repeat(64));
    assert!(parse(&deep).is_ok());
    let deeper = format!("{}[a]{}", "ToLower(".repeat(65), ")".repeat(65));
    check(&deeper, "expected at most 64 nested function calls at column 513");
}

#[test]
#[rustfmt::skip]
fn accepted_syntax() {
    parses(r#"Replace([x], , "re", , "", , )"#, r#"Replace([x], , "re", , "", , )"#);
    parses("  Guid ( )  ", "Guid()");
    parses("F(,)", "F(, )");
    parses(r#""a \"b\" \\ c \d""#, r#""a \"b\" \\ c \\d""#);
    parses("[extension_8f2c1e9a_costCenter]", "[extension_8f2c1e9a_costCenter]");
    parses("[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber]", "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber]");
    parses("[name.givenName]", "[name.givenName]");
    parses(r#"IIF([userType]="Member","True","False")"#, r#"IIF([userType] = "Member", "True", "False")"#);
    parses("IIF([a]<=[b],1,-2)", "IIF([a] <= [b], 1, -2)");
    parses("IIF([a]>=&HF,1,0)", "IIF([a] >= &HF, 1, 0)");
    parses("IIF([a]<[b],1,0)", "IIF([a] < [b], 1, 0)");
    parses("IIF([a]>[b],1,0)", "IIF([a] > [b], 1, 0)");
    parses(r#"InStr("a", "b", 1, vbTextCompare)"#, r#"InStr("a", "b", 1, "vbTextCompare")"#);
    parses(
        "Join(\"\n\",\t[a],\r\n[b])",
        r#"Join("
", [a], [b])"#,
    );
}

#[test]
#[rustfmt::skip]
fn spans_point_into_the_text() {
    let text = r#"Join(" ", [givenName], Mid([sn], 1, 2))"#;
    let Ok(Expr::Call { args, span, .. }) = parse(text) else {
        panic!("not a call");
    };
    assert_eq!(span, 0..text.len());
    assert_eq!(&text[args[1].span()], "[givenName]");
    assert_eq!(&text[args[2].span()], "Mid([sn], 1, 2)");
}
