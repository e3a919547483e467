//! Creates, patches and finds users through `ScimTarget` against the provisio SCIM server
//! served in-process on 127.0.0.1 (SQLite in a temporary directory), at several concurrency
//! bounds, and prints requests per second for each.
//!
//! `cargo run -p provisio-scim-client --example throughput [users]`

use std::sync::Arc;
use std::time::Instant;

use provisio_engine::target::{PatchOperation, Target, TargetKind};
use provisio_scim_client::{BearerToken, ScimClientConfig, ScimTarget};
use provisio_scim_server::store::open_sqlite;
use provisio_scim_server::{app, ServerConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1000,
    };
    let dir = tempfile::tempdir()?;
    let store = open_sqlite(dir.path()).await?;
    let router = app(
        Arc::new(store),
        ServerConfig {
            token: "bench".into(),
            ..ServerConfig::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    println!("users per run: {users}");
    println!("concurrency  create/s  patch/s  find/s");
    for concurrency in [1usize, 8, 32] {
        let target = ScimTarget::new(&ScimClientConfig {
            max_concurrency: concurrency,
            ..ScimClientConfig::new(format!("http://{addr}/scim/v2"), BearerToken::new("bench"))
        })?;
        let names: Vec<String> = (0..users)
            .map(|i| format!("c{concurrency}-user{i}@bench.example"))
            .collect();

        let started = Instant::now();
        let ids = run_all(&names, |name| {
            let target = target.clone();
            async move {
                let resource = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                    "active": true,
                });
                target
                    .create(TargetKind::User, resource)
                    .await
                    .map(|o| o.id)
            }
        })
        .await?;
        let create_rate = users as f64 / started.elapsed().as_secs_f64();

        let started = Instant::now();
        run_all(&ids, |id| {
            let target = target.clone();
            async move {
                let ops = [PatchOperation::replace("active", json!(false))];
                target.patch(TargetKind::User, &id, &ops).await.map(|_| ())
            }
        })
        .await?;
        let patch_rate = users as f64 / started.elapsed().as_secs_f64();

        let started = Instant::now();
        run_all(&names, |name| {
            let target = target.clone();
            async move {
                target
                    .find_one(TargetKind::User, "userName", &name)
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        let find_rate = users as f64 / started.elapsed().as_secs_f64();
        println!("{concurrency:>11}  {create_rate:>8.0}  {patch_rate:>7.0}  {find_rate:>6.0}");
    }
    Ok(())
}

/// Runs one task per input at once; the target's semaphore is what bounds them.
async fn run_all<T, F, Fut>(
    inputs: &[String],
    task: F,
) -> Result<Vec<T>, provisio_engine::target::TargetError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, provisio_engine::target::TargetError>>
        + Send
        + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = inputs
        .iter()
        .map(|input| tokio::spawn(task(input.clone())))
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(result) => out.push(result?),
            Err(e) => panic!("a task failed: {e}"),
        }
    }
    Ok(out)
}
