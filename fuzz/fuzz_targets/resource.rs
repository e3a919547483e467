//! Any JSON body: normalising a User or Group never panics and is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_scim::resource::normalize;
use provisio_scim::schema::ResourceType;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    for rt in [ResourceType::user(vec![]), ResourceType::group(vec![])] {
        if let Ok(n) = normalize(&rt, &body) {
            assert_eq!(normalize(&rt, &Value::Object(n.clone())).ok(), Some(n));
        }
    }
});
