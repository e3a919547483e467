//! Property tests: no PATCH message, however malformed, panics the parser or the applier, and
//! applying never leaves a resource that fails normalisation.

use proptest::prelude::*;
use provisio_scim::patch::{apply_patch, parse_patch_request};
use provisio_scim::resource::normalize;
use provisio_scim::schema::{ResourceType, USER_SCHEMA};
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 .:@\"\\[\\]_$-]{0,24}".prop_map(Value::String),
        prop_oneof![Just("True"), Just("False"), Just("work"), Just("home")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys and paths drawn from real attribute names, with noise.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "DisplayName",
            "name",
            "name.givenName",
            "emails",
            "emails.value",
            "emails[type eq \"work\"].value",
            "emails[type eq \"work\"]",
            "phoneNumbers[type eq \"mobile\"].value",
            "active",
            "title",
            "groups",
            "members",
            "members[value eq \"x\"]",
            "addresses[type eq \"work\"].locality",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "manager",
            "value",
            "type",
            "primary",
            "id",
            "meta",
            "schemas",
            "x509Certificates",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z.:\\[\\]\" ]{0,30}",
    ]
}

fn arb_op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "add", "Add", "remove", "Remove", "replace", "REPLACE", "move",
        ]),
        prop::option::of(arb_key()),
        prop::option::of(arb_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_messages_never_panic(body in arb_json()) {
        let _ = parse_patch_request(&body);
    }

    #[test]
    fn arbitrary_operations_never_panic_and_keep_the_resource_valid(ops in prop::collection::vec(arb_op(), 1..5)) {
        let users = ResourceType::user(vec![]);
        let start = normalize(&users, &json!({
            "schemas": [USER_SCHEMA], "userName": "bjensen",
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "name": {"givenName": "Barbara"}
        })).expect("valid");
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        if let Ok(parsed) = parse_patch_request(&body) {
            if let Ok(result) = apply_patch(&users, &start, &parsed, &users) {
                // Whatever PATCH produced is a valid stored resource: normalising it again is a no-op.
                let again = normalize(&users, &Value::Object(result.clone()));
                prop_assert_eq!(again.ok(), Some(result));
            }
        }
    }
}
