//! Evaluating Entra's default SCIM user mapping set on one realistic user, compiled once.
//! `cargo bench -p provisio-expr`; the goal is under 2 µs per user.

use criterion::{criterion_group, criterion_main, Criterion};
use provisio_expr::{FixedEnvironment, Outcome, Program};
use std::hint::black_box;

/// (target attribute, expression) as in Entra's SCIM app template.
const DEFAULT_USER_MAPPINGS: &[(&str, &str)] = &[
    ("userName", "[userPrincipalName]"),
    (
        "active",
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    ),
    ("displayName", "[displayName]"),
    ("title", "[jobTitle]"),
    (r#"emails[type eq "work"].value"#, "[mail]"),
    ("preferredLanguage", "[preferredLanguage]"),
    ("name.givenName", "[givenName]"),
    ("name.familyName", "[surname]"),
    ("name.formatted", r#"Join(" ", [givenName], [surname])"#),
    (r#"addresses[type eq "work"].locality"#, "[city]"),
    (r#"addresses[type eq "work"].postalCode"#, "[postalCode]"),
    (r#"addresses[type eq "work"].country"#, "[country]"),
    (r#"phoneNumbers[type eq "work"].value"#, "[telephoneNumber]"),
    (r#"phoneNumbers[type eq "mobile"].value"#, "[mobile]"),
    ("externalId", "[mailNickname]"),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "[employeeId]",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "[department]",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "[manager]",
    ),
];

fn user() -> serde_json::Value {
    serde_json::json!({
        "objectId": "5f1b3c1e-8c4a-4d55-9a7e-0f2d4c6b8a91",
        "accountEnabled": true,
        "IsSoftDeleted": "False",
        "userPrincipalName": "ann.lee@contoso.com",
        "displayName": "Ann Lee",
        "givenName": "Ann",
        "surname": "Lee",
        "jobTitle": "Staff Engineer",
        "mail": "ann.lee@contoso.com",
        "mailNickname": "ann.lee",
        "preferredLanguage": "en-US",
        "city": "Redmond",
        "postalCode": "98052",
        "country": "US",
        "streetAddress": "1 Microsoft Way",
        "state": "WA",
        "telephoneNumber": "+1 425 555 0100",
        "mobile": "+1 425 555 0199",
        "employeeId": "E-10042",
        "department": "Engineering",
        "companyName": "Contoso",
        "usageLocation": "US",
        "manager": "9a0c7d2e-1b3f-4e5a-8c6d-2f4e6a8b0c1d",
        "proxyAddresses": ["SMTP:ann.lee@contoso.com", "smtp:alee@contoso.com"],
        "employeeHireDate": "2019-04-01T00:00:00Z",
        "extension_8f2c1e9a_costCenter": "CC-42"
    })
}

fn compile_all() -> Vec<(&'static str, Program)> {
    DEFAULT_USER_MAPPINGS
        .iter()
        .map(|(target, expression)| match Program::compile(expression) {
            Ok(program) => (*target, program),
            Err(error) => panic!("{expression}: {error}"),
        })
        .collect()
}

fn mappings(c: &mut Criterion) {
    let programs = compile_all();
    let user = user();
    let env = FixedEnvironment::new(time::OffsetDateTime::UNIX_EPOCH, 1);
    c.bench_function("default user mappings (18) on one user", |b| {
        b.iter(|| {
            let mut flowed = 0usize;
            for (_, program) in &programs {
                if let Ok(Outcome::Value(value)) = program.evaluate(black_box(&user), &env) {
                    flowed += usize::from(!value.is_null());
                    black_box(value);
                }
            }
            flowed
        })
    });
    c.bench_function("compile the default user mappings (18)", |b| {
        b.iter(compile_all)
    });
}

criterion_group!(benches, mappings);
criterion_main!(benches);
