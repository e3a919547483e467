//! The settings a server persists (the admin token's hash), on both stores: absent until
//! set, and the last value set wins.

use provisio_db::postgres::testing::TestSchema;
use provisio_engine::state::memory::MemorySyncStore;
use provisio_store::{PostgresDirectory, SettingsStore, Stores};

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
    let Some(schema) = TestSchema::create("provisio_settings_test").await else {
        return;
    };
    let store = PostgresDirectory::connect_with(schema.options())
        .await
        .expect("connect to TEST_DATABASE_URL");
    let stores = Stores::of(store.clone(), MemorySyncStore::new());
    last_value_wins(stores.settings.as_ref(), &fresh_name()).await;
    store.pool().close().await;
    schema.drop().await;
}
