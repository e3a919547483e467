//! Properties: no input panics the parser, the checker or the interpreter; printing and
//! re-parsing gives the same tree; Graph's attributeMappingSource form round-trips.

use proptest::prelude::*;
use provisio_expr::{
    check, from_graph, graph_to_text, parse, to_graph, CompareOp, Expr, FixedEnvironment, Program,
    FUNCTIONS,
};

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_.:]{0,12}".prop_map(Expr::attribute),
        "[A-Za-z_]{1,4}".prop_map(Expr::attribute),
        any::<String>().prop_map(Expr::string),
        "[a-zA-Z0-9 \"\\\\,()@.\\[\\]-]{0,12}".prop_map(Expr::string),
        prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -3..300i64].prop_map(|value| {
            Expr::Number {
                text: value.to_string(),
                value,
                span: 0..0,
            }
        }),
        proptest::sample::select(vec![
            "d",
            "m",
            "yyyy",
            "ww",
            "yyyy-MM-dd",
            "2024-01-31T00:00:00Z",
            "vbTextCompare",
            "UTF8",
            "(?<g>a)",
            "True",
        ])
        .prop_map(Expr::string),
        (0u32..5000).prop_map(|value| Expr::Number {
            text: format!("&H{value:X}"),
            value: i64::from(value),
            span: 0..0
        }),
    ]
}

fn function_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(FUNCTIONS.iter().map(|def| def.name.to_string()).collect::<Vec<_>>()),
        1 => "[A-Za-z_][A-Za-z0-9_]{0,8}",
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            (
                function_name(),
                prop::collection::vec(
                    prop_oneof![4 => inner.clone(), 1 => Just(Expr::empty())],
                    0..7
                )
            )
                .prop_map(|(name, mut args)| {
                    // `F( )` reads as no argument at all, so a lone empty slot cannot be written.
                    if args.len() == 1 && matches!(args[0], Expr::Empty { .. }) {
                        args.clear();
                    }
                    Expr::call(name, args)
                }),
            (
                proptest::sample::select(CompareOp::ALL.to_vec()),
                leaf(),
                leaf()
            )
                .prop_map(|(op, left, right)| Expr::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                    span: 0..0
                }),
        ]
    })
}

/// Graph's form has no trailing empty slots.
fn trim_trailing_empty(expr: &Expr) -> Expr {
    match expr {
        Expr::Call { name, args, span } => {
            let mut args: Vec<Expr> = args.iter().map(trim_trailing_empty).collect();
            while matches!(args.last(), Some(Expr::Empty { .. })) {
                args.pop();
            }
            Expr::Call {
                name: name.clone(),
                args,
                span: span.clone(),
            }
        }
        other => other.clone(),
    }
}

const USER: &str = r#"{"givenName": "Zoë", "surname": "O'Neil", "mail": "z@contoso.com", "A": ["x", "y", ""],
    "count": 7, "flag": true, "when": "2024-02-29T10:00:00Z", "empty": "", "nothing": null}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics(text in any::<String>()) {
        let _ = parse(&text);
    }

    #[test]
    fn the_parser_never_panics_on_near_expressions(text in "[A-Za-z\\[\\]\"\\\\(),&H0-9 =<>-]{0,40}") {
        if let Ok(tree) = parse(&text) {
            let _ = check(&tree, &text, Some(&["givenName", "mail"]));
            prop_assert_eq!(parse(&tree.to_string()), Ok(tree));
        }
    }

    #[test]
    fn printing_then_parsing_gives_the_same_tree(tree in expr()) {
        let printed = tree.to_string();
        prop_assert_eq!(parse(&printed), Ok(tree), "{}", printed);
    }

    #[test]
    fn graph_form_round_trips(tree in expr()) {
        let json = to_graph(&tree);
        let expected = trim_trailing_empty(&tree);
        prop_assert_eq!(from_graph(&json), Ok(expected.clone()), "{}", json);
        let text = graph_to_text(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parse(&text), Ok(expected), "{}", text);
        let reparsed = serde_json::from_str::<serde_json::Value>(&json.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(to_graph(&from_graph(&reparsed).map_err(|e| TestCaseError::fail(e.to_string()))?), to_graph(&trim_trailing_empty(&tree)));
    }

    #[test]
    fn the_interpreter_never_panics(tree in expr()) {
        let text = tree.to_string();
        if let Ok(program) = Program::compile(&text) {
            let user: serde_json::Value = serde_json::from_str(USER).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let env = FixedEnvironment::new(time::macros::datetime!(2026-01-01 0:00 UTC), 3);
            let _ = program.evaluate(&user, &env);
        }
    }
}

#[test]
fn graph_shape_of_mid() {
    let tree = parse("Mid([userPrincipalName], 1, 8)").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        to_graph(&tree),
        serde_json::json!({
            "type": "Function", "name": "Mid", "expression": "Mid([userPrincipalName], 1, 8)",
            "parameters": [
                {"key": "source", "value": {"type": "Attribute", "name": "userPrincipalName", "expression": "[userPrincipalName]", "parameters": []}},
                {"key": "start", "value": {"type": "Constant", "name": "1", "expression": "1", "parameters": []}},
                {"key": "length", "value": {"type": "Constant", "name": "8", "expression": "8", "parameters": []}}
            ]
        })
    );
}

#[test]
fn graph_form_as_entra_writes_it() {
    // Entra quotes numbers (`"\"1\""`) and names repeated parameters with the same key.
    let json = serde_json::json!({
        "type": "Function", "name": "Switch", "expression": "ignored",
        "parameters": [
            {"key": "source", "value": {"type": "Attribute", "name": "IsSoftDeleted"}},
            {"key": "key", "value": {"type": "Constant", "name": "False", "expression": "\"False\""}},
            {"key": "value", "value": {"type": "Constant", "name": "True"}},
            {"key": "key", "value": {"type": "Constant", "name": "True"}},
            {"key": "value", "value": {"type": "Constant", "name": "1", "expression": "\"1\""}}
        ]
    });
    assert_eq!(
        graph_to_text(&json).as_deref(),
        Ok(r#"Switch([IsSoftDeleted], , "False", "True", "True", "1")"#)
    );
    let bad = serde_json::json!({"type": "Function", "name": "Mid", "parameters": [{"key": "nope", "value": {"type": "Constant", "name": "x"}}]});
    assert_eq!(
        from_graph(&bad).map_err(|e| e.to_string()),
        Err(
            r#"invalid attributeMappingSource at /: unexpected parameter key "nope" of Mid"#
                .to_string()
        )
    );
    let bad = serde_json::json!({"type": "Function", "name": "Mid", "parameters": [{"key": "source", "value": {"type": "Column", "name": "x"}}]});
    assert_eq!(
        from_graph(&bad).map_err(|e| e.to_string()),
        Err(
            r#"invalid attributeMappingSource at /parameters/0/value: unknown type "Column""#
                .to_string()
        )
    );
}

#[test]
fn function_catalogue_in_graph_shape() {
    let json = provisio_expr::function_schemas_json();
    let functions = json["value"].as_array().map_or(0, Vec::len);
    assert_eq!(functions, FUNCTIONS.len());
    let join = json["value"]
        .as_array()
        .and_then(|v| v.iter().find(|f| f["name"] == "Join"))
        .cloned();
    assert_eq!(
        join,
        Some(serde_json::json!({"name": "Join", "parameters": [
            {"name": "separator", "type": "String", "allowMultipleOccurrences": false, "required": true},
            {"name": "source", "type": "String", "allowMultipleOccurrences": true, "required": true}
        ]}))
    );
}
