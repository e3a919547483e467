//! `provisio bench directory`: the source directory's three speed goals, end to end against
//! a real `provisio serve`: importing N users from JSON Lines (users/s, memory of the
//! importer and the server), listing every user through `@odata.nextLink` pages (users/s),
//! and reading the change log from a watermark (changes/s).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::spawn_server;

const TOKEN: &str = "bench-admin-token";

#[derive(clap::Args)]
pub struct DirectoryBenchArgs {
    /// Users to generate and import.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Groups to generate (with members and nesting).
    #[arg(long)]
    groups: Option<u64>,
    /// Page size of the listing phase ($top, at most 999).
    #[arg(long, default_value_t = 999)]
    page: u64,
    /// Benchmark the PostgreSQL store at this URL instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Peak resident memory (VmHWM) of a process, in KiB, polled while it runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `provisio ARGS` to completion; returns its stdout, wall time and peak memory.
pub(super) async fn run_provisio(args: Vec<String>) -> anyhow::Result<(String, Duration, u64)> {
    let exe = std::env::current_exe().context("finding the provisio binary")?;
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .with_context(|| format!("running provisio {}", args.join(" ")))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().context("stdout")?;
    let reader = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            let text = reader.await??;
            if !status.success() {
                bail!("provisio {} failed ({status}): {text}", args.join(" "));
            }
            return Ok((text, started.elapsed(), peak));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GET `url` with the admin token, parsed as a client would.
async fn get_json(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

pub async fn run(args: DirectoryBenchArgs) -> anyhow::Result<()> {
    let users = args.users.max(1);
    let groups = args.groups.unwrap_or((users / 500).max(1));
    let work = tempfile::tempdir()?;
    let file = work.path().join("directory.jsonl");
    let file_arg = file.display().to_string();

    eprintln!("Generating {users} users and {groups} groups…");
    let (_, seed_time, seed_peak) = run_provisio(vec![
        "directory".into(),
        "seed".into(),
        "--users".into(),
        users.to_string(),
        "--groups".into(),
        groups.to_string(),
        "--output".into(),
        file_arg.clone(),
    ])
    .await?;
    let file_bytes = std::fs::metadata(&file)?.len();

    let (server, base) = spawn_server(
        &["serve", "--listen", "127.0.0.1:0", "--admin-token", TOKEN],
        args.database_url.as_deref(),
    )
    .await?;
    eprintln!("Importing into {base}…");
    let (summary, import_time, import_peak) = run_provisio(vec![
        "directory".into(),
        "import".into(),
        file_arg,
        "--url".into(),
        base.clone(),
        "--token".into(),
        TOKEN.into(),
    ])
    .await?;
    let server_after_import = server.memory_kib("VmRSS:").unwrap_or(0);

    eprintln!("Listing every user through @odata.nextLink…");
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut url = format!("{base}/v1.0/users?$top={}", args.page.clamp(1, 999));
    let (mut listed, mut pages) = (0u64, 0u64);
    loop {
        let page = get_json(&http, &url).await?;
        pages += 1;
        listed += page["value"].as_array().map_or(0, |v| v.len() as u64);
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let list_time = started.elapsed();
    if listed != users {
        bail!("listed {listed} users, imported {users}");
    }

    eprintln!("Reading the change log from watermark 0…");
    let started = Instant::now();
    let (mut watermark, mut changes) = (0i64, 0u64);
    loop {
        let url = format!("{base}/admin/directory/changes?after={watermark}&top=10000");
        let page = get_json(&http, &url).await?;
        let n = page["value"].as_array().map_or(0, Vec::len) as u64;
        if n == 0 {
            break;
        }
        changes += n;
        watermark = page["watermark"].as_i64().unwrap_or(watermark);
    }
    let log_time = started.elapsed();
    let server_peak = server.memory_kib("VmHWM:").unwrap_or(0);

    let rate = |n: u64, t: Duration| n as f64 / t.as_secs_f64().max(1e-9);
    let store = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("provisio bench directory: {users} users, {groups} groups, {store}");
    println!(
        "  seed file:     {:.1} s ({:.0} records/s), {:.0} MiB, generator peak {:.0} MiB",
        seed_time.as_secs_f64(),
        rate(users + groups, seed_time),
        file_bytes as f64 / 1048576.0,
        seed_peak as f64 / 1024.0
    );
    println!(
        "  import:        {:.1} s, {:.0} users/s; importer peak {:.0} MiB; server {:.0} MiB resident after",
        import_time.as_secs_f64(),
        rate(users, import_time),
        import_peak as f64 / 1024.0,
        server_after_import as f64 / 1024.0
    );
    println!("  {}", summary.lines().next().unwrap_or("").trim());
    println!(
        "  list users:    {:.2} s, {:.0} users/s over {pages} pages",
        list_time.as_secs_f64(),
        rate(listed, list_time)
    );
    println!(
        "  change log:    {:.2} s, {:.0} changes/s ({changes} changes)",
        log_time.as_secs_f64(),
        rate(changes, log_time)
    );
    println!(
        "  server peak memory: {:.0} MiB",
        server_peak as f64 / 1024.0
    );
    if args.json {
        println!(
            "{}",
            json!({
                "users": users, "groups": groups, "store": store,
                "import_seconds": import_time.as_secs_f64(), "import_users_per_second": rate(users, import_time),
                "importer_peak_kib": import_peak, "list_users_per_second": rate(listed, list_time),
                "list_pages": pages, "changes": changes, "changes_per_second": rate(changes, log_time),
                "server_peak_kib": server_peak,
            })
        );
    }
    Ok(())
}
