//! Any text: the Graph `$filter` parser never panics, what parses prints back to the same
//! tree, and evaluation and the index hints never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_odata::Filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = Filter::parse(text) {
        let printed = filter.to_string();
        assert_eq!(Filter::parse(&printed).as_ref(), Ok(&filter), "{printed}");
        let user = serde_json::json!({
            "id": "8f2c6c1e-0f2a-4f8b-9c1d-2e3f4a5b6c7d", "displayName": "Émile Zola",
            "accountEnabled": true, "age": 42, "employeeHireDate": "2021-03-04T10:00:00Z",
            "otherMails": ["a@x.com"], "manager": {"id": "m"},
            "assignedLicenses": [{"skuId": "00000000-0000-0000-0000-000000000000"}]
        });
        if let Some(user) = user.as_object() {
            let _ = filter.matches(user);
        }
        let _ = filter.equality_on(&["id", "displayName", "otherMails"]);
        let _ = filter.prefix_on(&["displayName"]);
        let _ = filter.properties().count();
    }
});
