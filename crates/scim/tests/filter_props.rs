//! Property tests: the parsers never panic, and print → parse is the identity.

use proptest::prelude::*;
use provisio_scim::filter::{CompValue, CompareOp, Filter};
use provisio_scim::path::{AttrPath, PatchPath};
use serde_json::Number;

// ----- generators -----------------------------------------------------------

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z][a-zA-Z0-9_-]{0,7}",
        1 => Just("$ref".to_string()),
        // keywords are legal attribute names and must survive printing
        1 => prop::sample::select(vec!["not", "NOT", "and", "or", "pr", "eq", "true", "null", "urn"])
            .prop_map(str::to_string),
    ]
}

fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
        "(urn|URN|Urn):[a-zA-Z0-9-]{1,5}(:[a-zA-Z0-9.-]{1,5}){0,3}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.2, urn()),
        attr_name(),
        prop::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn attr_path_no_sub() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.2, urn()), attr_name()).prop_map(|(urn, name)| AttrPath {
        urn,
        name,
        sub: None,
    })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        "[ -~]{0,12}".prop_map(CompValue::Str),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<u64>().prop_map(|n| CompValue::Num(n.into())),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(CompValue::Num),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), compare_op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
    ]
}

/// Filters without value paths (what may appear inside `[...]`).
fn val_filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path = (attr_path_no_sub(), val_filter()).prop_map(|(attr, f)| Filter::ValuePath {
        attr,
        filter: Box::new(f),
    });
    prop_oneof![3 => leaf(), 1 => value_path].prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path().prop_map(|attr| PatchPath {
            attr,
            filter: None,
            sub_after_filter: None
        }),
        (
            attr_path_no_sub(),
            val_filter(),
            prop::option::of(attr_name())
        )
            .prop_map(|(attr, f, sub)| PatchPath {
                attr,
                filter: Some(f),
                sub_after_filter: sub,
            }),
    ]
}

/// Strings assembled from grammar-ish fragments, to reach deep parser states.
fn grammarish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "(",
            ")",
            "[",
            "]",
            " ",
            "  ",
            "\t",
            "and",
            "AND",
            "or",
            "not",
            "not(",
            "pr",
            "eq",
            "Ne",
            "co",
            "sw",
            "ew",
            "gt",
            "ge",
            "lt",
            "le",
            "\"",
            "\\",
            "\\u",
            "d83d",
            "\\ude00",
            "\"x\"",
            "\"a b\"",
            "userName",
            "emails",
            "value",
            "type",
            ".",
            ":",
            "$ref",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "1",
            "-",
            "0.5",
            "e",
            "E+",
            "true",
            "null",
            "False",
            "é",
            "😀",
            "\u{0}",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,3}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

// ----- properties -------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = Filter::parse(&s);
        let _ = AttrPath::parse(&s);
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn printable_strings_never_panic(s in "[ -~]{0,64}") {
        let _ = Filter::parse(&s);
        let _ = AttrPath::parse(&s);
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn grammarish_strings_never_panic_and_reparse(s in grammarish()) {
        if let Ok(f) = Filter::parse(&s) {
            let printed = f.to_string();
            prop_assert_eq!(Filter::parse(&printed), Ok(f), "printed: {}", printed);
        }
        if let Ok(p) = PatchPath::parse(&s) {
            let printed = p.to_string();
            prop_assert_eq!(PatchPath::parse(&printed), Ok(p), "printed: {}", printed);
        }
        if let Ok(p) = AttrPath::parse(&s) {
            prop_assert_eq!(AttrPath::parse(&p.to_string()), Ok(p));
        }
    }

    #[test]
    fn errors_point_inside_the_input(s in grammarish()) {
        if let Err(e) = Filter::parse(&s) {
            prop_assert!(e.position <= s.len(), "{} > {}", e.position, s.len());
        }
        if let Err(e) = PatchPath::parse(&s) {
            prop_assert!(e.position <= s.len(), "{} > {}", e.position, s.len());
        }
    }

    #[test]
    fn generated_filters_round_trip(f in filter()) {
        let printed = f.to_string();
        prop_assert_eq!(Filter::parse(&printed), Ok(f), "printed: {}", printed);
    }

    #[test]
    fn printing_is_a_fixed_point(f in filter()) {
        let printed = f.to_string();
        let reparsed = Filter::parse(&printed).map(|g| g.to_string());
        prop_assert_eq!(reparsed, Ok(printed));
    }

    #[test]
    fn generated_attr_paths_round_trip(p in attr_path()) {
        prop_assert_eq!(AttrPath::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn generated_patch_paths_round_trip(p in patch_path()) {
        let printed = p.to_string();
        prop_assert_eq!(PatchPath::parse(&printed), Ok(p), "printed: {}", printed);
    }

    #[test]
    fn evaluation_never_panics(f in filter(), extra in any::<String>()) {
        let resource = serde_json::json!({
            "userName": extra, "active": true, "n": 1.5, "emails": [{"value": "a", "type": "work"}, "x", null],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
        });
        let _ = f.matches(&resource, &provisio_scim::filter::CaseInsensitive);
    }
}
