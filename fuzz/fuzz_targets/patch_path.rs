//! Any text: attribute and PATCH paths never panic the parser and print back to themselves.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_scim::path::{AttrPath, PatchPath};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = AttrPath::parse(text) {
        assert_eq!(AttrPath::parse(&p.to_string()).as_ref(), Ok(&p));
    }
    if let Ok(p) = PatchPath::parse(text) {
        assert_eq!(PatchPath::parse(&p.to_string()).as_ref(), Ok(&p));
    }
});
