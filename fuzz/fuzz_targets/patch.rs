//! Any JSON body: PATCH parsing and application never panic, and a successful PATCH yields a
//! resource that normalises to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_scim::patch::{apply_patch, parse_patch_request};
use provisio_scim::resource::normalize;
use provisio_scim::schema::ResourceType;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(ops) = parse_patch_request(&body) else { return };
    let users = ResourceType::user(vec![]);
    let start = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen",
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        "name": {"givenName": "Barbara"}
    });
    let Ok(start) = normalize(&users, &start) else { return };
    if let Ok(result) = apply_patch(&users, &start, &ops, &users) {
        let again = normalize(&users, &Value::Object(result.clone()));
        assert_eq!(again.ok(), Some(result));
    }
});
