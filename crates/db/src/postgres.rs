//! PostgreSQL helpers. Migrations are in [`crate::migrate::postgres`].

/// A throw-away schema per test, so that reruns and parallel runs start empty.
#[cfg(feature = "testing")]
pub mod testing {
    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::Connection;

    /// A schema of its own on the server at `TEST_DATABASE_URL`; [`TestSchema::drop`] removes
    /// it with everything in it.
    pub struct TestSchema {
        pub name: String,
        options: PgConnectOptions,
        admin: PgConnection,
    }

    impl TestSchema {
        /// Creates `{prefix}_{unique}`. `None` (with a message) when `TEST_DATABASE_URL` is
        /// unset; a panic if CI=true lacks it, so that CI never skips PostgreSQL silently.
        pub async fn create(prefix: &str) -> Option<TestSchema> {
            let url = match std::env::var("TEST_DATABASE_URL") {
                Ok(url) if !url.is_empty() => url,
                _ => {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!(
                            "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests \
                             must run in CI (e.g. under pg_virtualenv)"
                        );
                    }
                    eprintln!(
                        "TEST_DATABASE_URL is not set: skipping a PostgreSQL test ({prefix})"
                    );
                    return None;
                }
            };
            let options: PgConnectOptions = url.parse().expect("TEST_DATABASE_URL");
            let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect_with(&options)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE SCHEMA {name}"))
                .execute(&mut admin)
                .await
                .expect("create the test schema");
            Some(TestSchema {
                name,
                options,
                admin,
            })
        }

        /// Connection options whose search path is this schema.
        pub fn options(&self) -> PgConnectOptions {
            self.options
                .clone()
                .options([("search_path", self.name.as_str())])
        }

        /// A connection outside the schema's search path, e.g. to load a dump into it.
        pub fn admin(&mut self) -> &mut PgConnection {
            &mut self.admin
        }

        /// Runs a plain-SQL `pg_dump --inserts` of schema `dumped` as if it had been taken of
        /// this schema: its `CREATE SCHEMA` left out, the schema's name replaced.
        pub async fn load_dump(&mut self, dump: &str, dumped: &str) {
            let statements = dump
                .lines()
                .filter(|l| !l.starts_with("CREATE SCHEMA "))
                .collect::<Vec<_>>()
                .join("\n")
                .replace(dumped, &self.name);
            sqlx::raw_sql(&statements)
                .execute(&mut self.admin)
                .await
                .expect("load the dump");
        }

        /// Drops the schema and everything in it.
        pub async fn drop(mut self) {
            sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
                .execute(&mut self.admin)
                .await
                .expect("drop the test schema");
        }
    }
}
