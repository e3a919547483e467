//! `provisio bench scim-server`: POST, GET by id, filtered GET, PATCH and a no-op endpoint
//! against `provisio scim-server`, with latency percentiles per phase.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use hdrhistogram::Histogram;
use serde_json::json;

use super::{spawn_server, ServerProcess};

struct Phase {
    name: String,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    hist: Histogram<u64>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Starts the SCIM server on 127.0.0.1:0; returns it and its base URL.
async fn start_server(
    token: &str,
    database_url: Option<&str>,
) -> anyhow::Result<(ServerProcess, String)> {
    let args = ["scim-server", "--listen", "127.0.0.1:0", "--token", token];
    let (server, address) = spawn_server(&args, database_url).await?;
    Ok((server, address.trim_end_matches("/scim/v2").to_string()))
}

/// Runs `total` requests with `concurrency` in flight; `make` builds request `i`.
async fn phase<F>(name: &str, total: u64, concurrency: u64, make: F) -> anyhow::Result<Phase>
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("3 significant figures is valid");
            let mut errors = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match make(i).send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
                let _ = hist.record(t.elapsed().as_micros() as u64);
            }
            (hist, errors)
        }));
    }
    let mut hist = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await?;
        hist.add(h)?;
        errors += e;
    }
    Ok(Phase {
        name: name.to_string(),
        requests: total,
        errors,
        elapsed: started.elapsed(),
        hist,
    })
}

fn user_body(i: u64) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("user{i:07}@bench.example.com"),
        "externalId": format!("ext-{i}"),
        "name": {"givenName": "Zoë", "familyName": format!("Bench{i}")},
        "displayName": format!("Zoë Bench{i}"),
        "active": true,
        "emails": [{"value": format!("user{i:07}@bench.example.com"), "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": i.to_string()},
    })
}

/// A cheap deterministic spread of indexes over 0..n.
fn spread(i: u64, n: u64) -> u64 {
    i.wrapping_mul(2_654_435_761) % n.max(1)
}

pub(super) async fn run(
    users: u64,
    concurrency: u64,
    requests: u64,
    database_url: Option<String>,
    as_json: bool,
) -> anyhow::Result<()> {
    let token = "bench-token";
    let (server, base) = start_server(token, database_url.as_deref()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize * 2)
        .build()?;
    let auth = format!("Bearer {token}");
    let scim = format!("{base}/scim/v2");
    eprintln!("Benchmarking provisio scim-server at {scim}: {users} users, concurrency {concurrency}, {requests} requests per phase.");

    let create = |from: u64, to: u64| {
        let (client, scim, auth) = (client.clone(), scim.clone(), auth.clone());
        async move {
            phase("POST /Users", to - from, concurrency, move |i| {
                client
                    .post(format!("{scim}/Users"))
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/scim+json")
                    .json(&user_body(from + i))
            })
            .await
        }
    };
    let small = users.min(1000);
    let mut phases = Vec::new();
    phases.push(create(0, small).await?);
    let filter_phase = |n: u64, label: &str| {
        let (client, scim, auth) = (client.clone(), scim.clone(), auth.clone());
        let label = label.to_string();
        async move {
            phase(&label, requests, concurrency, move |i| {
                let k = spread(i, n);
                client
                    .get(format!("{scim}/Users"))
                    .query(&[(
                        "filter",
                        format!("userName eq \"USER{k:07}@bench.example.com\""),
                    )])
                    .header("Authorization", &auth)
            })
            .await
        }
    };
    let filter_small =
        filter_phase(small, &format!("GET filter userName eq (at {small} users)")).await?;
    if users > small {
        let mut p = create(small, users).await?;
        let first = &phases[0];
        // Report creation over all users as one phase.
        let total_time = first.elapsed + p.elapsed;
        p.hist.add(&first.hist)?;
        p.requests += first.requests;
        p.errors += first.errors;
        p.elapsed = total_time;
        phases[0] = p;
    }
    // Collect ids for GET by id and PATCH (paged listing, not timed).
    let mut all_ids = Vec::with_capacity(users as usize);
    let mut start = 1;
    while (all_ids.len() as u64) < users {
        let page: serde_json::Value = client
            .get(format!("{scim}/Users"))
            .query(&[
                ("startIndex", start.to_string()),
                ("count", "1000".into()),
                ("attributes", "id".into()),
            ])
            .header("Authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        start += items.len();
        all_ids.extend(
            items
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string)),
        );
    }
    if all_ids.is_empty() {
        bail!("no users were created; is the server healthy?");
    }
    let all_ids = Arc::new(all_ids);

    // The no-op ceiling is measured before and after the other phases and averaged: on a
    // shared machine one sample alone swings by a third from run to run.
    let noop_phase = |label: &'static str| {
        let (c, s, a) = (client.clone(), base.clone(), auth.clone());
        phase(label, requests, concurrency, move |_| {
            c.get(format!("{s}/healthz")).header("Authorization", &a)
        })
    };
    phases.push(noop_phase("GET /healthz (no-op ceiling)").await?);
    let (c, s, a, ids) = (client.clone(), scim.clone(), auth.clone(), all_ids.clone());
    phases.push(
        phase("GET /Users/{id}", requests, concurrency, move |i| {
            let id = &ids[spread(i, ids.len() as u64) as usize];
            c.get(format!("{s}/Users/{id}")).header("Authorization", &a)
        })
        .await?,
    );
    phases.push(filter_phase(users, &format!("GET filter userName eq (at {users} users)")).await?);
    phases.push(filter_small);
    let (c, s, a, ids) = (client.clone(), scim.clone(), auth.clone(), all_ids.clone());
    phases.push(
        phase("PATCH /Users/{id}", requests, concurrency, move |i| {
            let id = &ids[spread(i, ids.len() as u64) as usize];
            c.patch(format!("{s}/Users/{id}"))
            .header("Authorization", &a)
            .header("Content-Type", "application/scim+json")
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "title", "value": format!("Title {i}")}]
            }))
        })
        .await?,
    );
    phases.push(noop_phase("GET /healthz (no-op ceiling, again)").await?);

    let rss = server.memory_kib("VmRSS:").unwrap_or(0);
    let hwm = server.memory_kib("VmHWM:").unwrap_or(0);
    // RSS counts the pages of the memory-mapped database file too; anonymous memory is what
    // the process itself holds.
    let anon = server.memory_kib("RssAnon:").unwrap_or(0);
    let file = server.memory_kib("RssFile:").unwrap_or(0);
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>7}",
        "phase", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for p in &phases {
        println!(
            "{:<44} {:>10.0} {:>9.2} {:>9.2} {:>7}",
            p.name,
            p.rps(),
            p.ms(0.5),
            p.ms(0.99),
            p.errors
        );
    }
    let noops: Vec<f64> = phases
        .iter()
        .filter(|p| p.name.starts_with("GET /healthz"))
        .map(Phase::rps)
        .collect();
    let noop = (noops.iter().sum::<f64>() / noops.len().max(1) as f64).max(1e-9);
    let rate = |prefix: &str| {
        phases
            .iter()
            .find(|p| p.name.starts_with(prefix))
            .map(Phase::rps)
            .unwrap_or(0.0)
    };
    let filtered_big = rate(&format!("GET filter userName eq (at {users} "));
    let filtered_small = rate(&format!("GET filter userName eq (at {small} "));
    println!();
    println!("no-op ceiling:         {noop:.0} req/s (mean of the two no-op phases)");
    println!(
        "filtered GET / no-op:  {:.2} (goal ≥ 0.30)",
        filtered_big / noop
    );
    println!(
        "POST / no-op:          {:.2} (goal ≥ 0.15)",
        rate("POST") / noop
    );
    println!(
        "PATCH / no-op:         {:.2} (goal ≥ 0.15)",
        rate("PATCH") / noop
    );
    println!(
        "filtered GET at {users} / at {small}: {:.2} (goal ≈ 1: indexed)",
        filtered_big / filtered_small.max(1e-9)
    );
    println!(
        "server memory: {} MiB resident now ({} MiB anonymous, {} MiB mapped files), {} MiB peak (goal < 300 MB)",
        rss / 1024,
        anon / 1024,
        file / 1024,
        hwm / 1024
    );
    if as_json {
        let out = json!({
            "users": users, "concurrency": concurrency, "requests_per_phase": requests,
            "phases": phases.iter().map(|p| json!({
                "name": p.name, "requests_per_second": p.rps(), "p50_ms": p.ms(0.5), "p99_ms": p.ms(0.99), "errors": p.errors
            })).collect::<Vec<_>>(),
            "server_rss_kib": rss, "server_anon_kib": anon, "server_file_kib": file, "server_peak_rss_kib": hwm,
        });
        println!("{out}");
    }
    let errors: u64 = phases.iter().map(|p| p.errors).sum();
    if errors > 0 {
        bail!("{errors} requests failed during the benchmark");
    }
    Ok(())
}
