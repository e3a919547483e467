//! The settings a server persists (the admin token's hash), on both stores: absent until
//! set, and the last value set wins.

use provisio_store::SettingsStore;

/// Checks one setting whose name is new to `settings`.
async fn last_value_wins(settings: &dyn SettingsStore, name: &str) {
    assert_eq!(settings.setting(name).await.expect("read"), None);
    settings.set_setting(name, "a").await.expect("set");
    settings.set_setting(name, "b").await.expect("set again");
    assert_eq!(
        settings.setting(name).await.expect("read").as_deref(),
        Some("b")
    );
}

/// A setting name no earlier run against a shared database has used.
fn fresh_name() -> String {
    format!("test-setting-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn settings_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = provisio_store::open(dir.path(), None).await.expect("open");
    last_value_wins(stores.settings.as_ref(), "admin-token").await;
}

#[tokio::test]
async fn settings_on_postgres() {
    let url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL settings test must run in CI"
            );
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL settings test");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = provisio_store::open(dir.path(), Some(&url))
        .await
        .expect("connect to TEST_DATABASE_URL");
    last_value_wins(stores.settings.as_ref(), &fresh_name()).await;
}
