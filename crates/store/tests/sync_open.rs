//! `provisio_store::open` gives the engine's state with the directory: on SQLite in
//! `sync.db` beside `directory.db`, kept across restarts.

use provisio_engine::state::JobRecord;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn sqlite_state_lives_in_sync_db_and_outlives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let principal = Uuid::new_v4();
    let job = JobRecord {
        id: format!("scim.{}", Uuid::new_v4().simple()),
        service_principal_id: principal,
        template_id: "scim".to_string(),
        job: json!({"schedule": {"state": "Active"}}),
        schema: json!({"directories": []}),
        version: 1,
        created: "2024-05-01T09:00:00.000Z".to_string(),
    };
    {
        let stores = provisio_store::open(dir.path(), None).await.expect("open");
        stores.sync.create_job(job.clone()).await.expect("create");
        stores
            .sync
            .put_secrets(principal, vec![1, 2, 3])
            .await
            .expect("secrets");
    }
    for file in ["directory.db", "sync.db"] {
        assert!(dir.path().join(file).exists(), "{file} missing");
    }
    let stores = provisio_store::open(dir.path(), None)
        .await
        .expect("open again");
    assert_eq!(stores.sync.jobs(principal).await.expect("jobs"), vec![job]);
    assert_eq!(
        stores.sync.secrets(principal).await.expect("secrets"),
        Some(vec![1, 2, 3])
    );
}
