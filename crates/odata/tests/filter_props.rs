//! Property tests: no input makes the parser panic, and generated trees print and parse
//! back to themselves.

use proptest::prelude::*;
use provisio_odata::filter::{
    CompareOp, Filter, Literal, PropertyPath, Quantifier, StringFunction, Text,
};
use serde_json::json;

fn name() -> BoxedStrategy<String> {
    // Lambda variables are `v0`..`v3`; property names never start with `v`.
    "[a-uw-zA-Z_][A-Za-z0-9_]{0,8}"
        .prop_filter("keyword", |s| {
            !["not", "and", "or"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(s))
        })
        .boxed()
}

fn path() -> BoxedStrategy<PropertyPath> {
    prop::collection::vec(name(), 1..3)
        .prop_map(PropertyPath::property)
        .boxed()
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(|s| Literal::String(Text::new(s))),
        any::<i64>().prop_map(Literal::Int),
        (-10_000i64..10_000, 0u32..1000).prop_map(|(i, f)| {
            let text = format!("{i}.{f}");
            let value = text.parse().unwrap_or(0.0);
            Literal::Decimal { text, value }
        }),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        any::<u128>().prop_map(|n| {
            let h = format!("{n:032x}");
            Literal::Guid(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        }),
        prop::sample::select(vec![
            "2024-01-01T00:00:00Z",
            "1999-12-31T23:59:59.123+05:30",
            "2020-02-29T12:00:00-08:00",
        ])
        .prop_map(|text| Literal::DateTimeOffset {
            text: text.to_string(),
            instant: match Filter::parse(&format!("a eq {text}")) {
                Ok(Filter::Compare {
                    value: Literal::DateTimeOffset { instant, .. },
                    ..
                }) => instant,
                other => panic!("{other:?}"),
            },
        }),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

/// A leaf on `path`.
fn leaf_on(path: BoxedStrategy<PropertyPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (path.clone(), op(), literal()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
        (path.clone(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(path, values)| Filter::In { path, values }),
        (
            path,
            prop::sample::select(vec![
                StringFunction::StartsWith,
                StringFunction::EndsWith,
                StringFunction::Contains
            ]),
            any::<String>()
        )
            .prop_map(|(path, function, s)| Filter::Function {
                function,
                path,
                value: Text::new(s)
            }),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    let count = (path(), op(), any::<i64>()).prop_map(|(mut path, op, n)| {
        path.count = true;
        Filter::Compare {
            path,
            op,
            value: Literal::Int(n),
        }
    });
    prop_oneof![
        4 => leaf_on(path()),
        1 => count,
        1 => (path(), prop::sample::select(vec![Quantifier::Any, Quantifier::All])).prop_map(
            |(collection, quantifier)| Filter::Lambda { collection, quantifier, variable: String::new(), body: None }
        ),
        2 => (path(), prop::sample::select(vec![Quantifier::Any, Quantifier::All]), 0..4usize)
            .prop_flat_map(move |(collection, quantifier, v)| {
                let var_path = prop::collection::vec(name(), 0..2)
                    .prop_map(move |segments| PropertyPath {
                        variable: Some(format!("v{v}")),
                        segments,
                        count: false,
                    })
                    .boxed();
                leaf_on(var_path).prop_map(move |body| Filter::Lambda {
                    collection: collection.clone(),
                    quantifier,
                    variable: format!("v{v}"),
                    body: Some(Box::new(body)),
                })
            }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn filter_like_text_never_panics(s in "[a-z()' ,:/$0-9.TZ+-]{0,60}|(not |and |or |eq |any\\(x:|'|\\(|\\))*") {
        if let Ok(f) = Filter::parse(&s) {
            let printed = f.to_string();
            prop_assert_eq!(Filter::parse(&printed), Ok(f.clone()), "{}", printed);
            let _ = f.matches(&serde_json::Map::new());
        }
    }

    #[test]
    fn generated_trees_round_trip(f in filter()) {
        let printed = f.to_string();
        prop_assert_eq!(Filter::parse(&printed), Ok(f.clone()), "{}", printed);
        let user = json!({"a": "x", "b": [1, {"c": "y"}], "d": null});
        let _ = f.matches(user.as_object().unwrap_or(&serde_json::Map::new()));
    }
}
