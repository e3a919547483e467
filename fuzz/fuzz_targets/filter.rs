//! Any text: the filter parser never panics, and what parses prints back to the same tree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_scim::filter::Filter;
use provisio_scim::schema::ResourceType;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = Filter::parse(text) {
        let printed = filter.to_string();
        assert_eq!(Filter::parse(&printed).as_ref(), Ok(&filter), "{printed}");
        let user = serde_json::json!({
            "userName": "bjensen", "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "name": {"givenName": "Barbara"}, "meta": {"lastModified": "2026-01-01T00:00:00Z"}
        });
        let _ = filter.matches(&user, &ResourceType::user(vec![]));
    }
});
