//! Any text: the expression parser, checker and interpreter never panic; what parses prints
//! back to the same tree, and its Graph form reads back to it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provisio_expr::{check, from_graph, parse, to_graph, FixedEnvironment, Program};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(tree) = parse(text) else { return };
    let printed = tree.to_string();
    assert_eq!(parse(&printed).as_ref(), Ok(&tree), "{printed}");
    let graph = to_graph(&tree);
    assert!(from_graph(&graph).is_ok(), "{graph}");
    let _ = check(&tree, text, Some(&["givenName", "surname", "mail"]));
    if let Ok(program) = Program::compile(text) {
        let user = serde_json::json!({
            "givenName": "Zoë", "surname": "O'Neil", "mail": "z@contoso.com",
            "proxyAddresses": ["SMTP:z@contoso.com", ""], "count": 7, "flag": true,
            "when": "2024-02-29T10:00:00Z", "empty": "", "nothing": null
        });
        let env = FixedEnvironment::new(time::OffsetDateTime::UNIX_EPOCH, 1);
        let _ = program.evaluate(&user, &env);
    }
});
