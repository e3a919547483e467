//! The directory in PostgreSQL. (Being written: see the conformance suite.)

use std::sync::Arc;

use provisio_engine::directory::StoreError;

#[derive(Clone, Debug)]
pub struct PostgresDirectory {
    _pool: Arc<sqlx::PgPool>,
}

impl PostgresDirectory {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let _ = url;
        Err(StoreError::Backend(
            "the PostgreSQL directory store is not written yet".to_string(),
        ))
    }
}
