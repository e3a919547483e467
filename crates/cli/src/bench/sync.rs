//! `provisio bench sync`: the provisioning engine end to end. `provisio serve` (the directory
//! and the engine) exports to a separate `provisio scim-server` over loopback, driven only
//! through the Graph synchronization API, as an administrator's script would drive Entra.
//!
//! Measured: the initial cycle (from the job's own status), an incremental cycle with 1% of
//! the users changed, one with nothing changed, the delay from a directory write to the
//! target, and the peak memory of the serve process.
//!
//! Every object is assigned to the application through `$batch` (20 assignments a request,
//! a few requests in flight): the job runs in its default "assigned only" scope.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::directory::run_provisio;
use super::replay;
use super::{spawn_server, ServerProcess};
use crate::journal::{self, JournalEntry};

const TOKEN: &str = "bench-sync-token";
/// Graph's limit of requests in one `$batch`.
const BATCH: usize = 20;
/// `$batch` requests in flight at once while seeding assignments and changes.
const BATCHES_IN_FLIGHT: usize = 4;
const POLL: Duration = Duration::from_millis(100);

#[derive(clap::Args)]
pub struct SyncBenchArgs {
    /// Users to generate, assign and provision.
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Groups to generate (one per department, then project groups), assign and provision.
    #[arg(long, default_value_t = 200)]
    groups: u64,
    /// Directory writes timed from the Graph API to the target.
    #[arg(long, default_value_t = 50)]
    writes: u64,
    /// Keep the engine's state (`provisio serve`) in PostgreSQL at this URL instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
    /// How the engine matches in full cycles (`provisio serve --matching`): auto, query or
    /// pages.
    #[arg(long, default_value = "auto")]
    matching: String,
}

/// The Graph API of `provisio serve`, with the admin token.
struct Graph {
    http: reqwest::Client,
    base: String,
}

impl Graph {
    /// Sends one request; returns the status and the body (null when empty).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}/v1.0{path}", self.base)
        };
        let mut request = self.http.request(method.clone(), &url).bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, body))
    }

    /// Sends one request that must answer `expected`.
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.send(method.clone(), path, body).await?;
        if status != expected {
            bail!("{method} {path} answered {status}, not {expected}: {answer}");
        }
        Ok(answer)
    }

    /// Every object of a collection, through `@odata.nextLink` pages.
    async fn list(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut url = path.to_string();
        let mut all = Vec::new();
        loop {
            let page = self.expect(reqwest::Method::GET, &url, None, 200).await?;
            all.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return Ok(all),
            }
        }
    }

    /// Runs `requests` (Graph batch request objects without ids) 20 to a `$batch`, a few
    /// batches at once; every inner request must answer `expected`.
    async fn batch(&self, requests: Vec<Value>, expected: u16) -> anyhow::Result<()> {
        let chunks: Vec<Vec<Value>> = requests.chunks(BATCH).map(<[Value]>::to_vec).collect();
        let mut answers = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let requests: Vec<Value> = chunk
                .into_iter()
                .enumerate()
                .map(|(i, mut r)| {
                    r["id"] = json!(i.to_string());
                    r
                })
                .collect();
            let answer = self
                .expect(
                    reqwest::Method::POST,
                    "/$batch",
                    Some(json!({ "requests": requests })),
                    200,
                )
                .await?;
            for response in answer["responses"].as_array().into_iter().flatten() {
                if response["status"] != expected {
                    bail!("a batched request answered {response}, not {expected}");
                }
            }
            Ok(())
        }))
        .buffer_unordered(BATCHES_IN_FLIGHT);
        while let Some(answer) = answers.next().await {
            answer?;
        }
        Ok(())
    }
}

/// One finished cycle, as the job's status reports it.
#[derive(Debug, Clone)]
struct Cycle {
    began: OffsetDateTime,
    ended: OffsetDateTime,
    exported: u64,
    state: String,
}

impl Cycle {
    fn seconds(&self) -> f64 {
        (self.ended - self.began).as_seconds_f64()
    }
}

/// The job's `status.lastExecution`, once it has ended.
fn last_cycle(job: &Value) -> Option<Cycle> {
    let last = &job["status"]["lastExecution"];
    let parse = |field: &str| OffsetDateTime::parse(last[field].as_str()?, &Rfc3339).ok();
    Some(Cycle {
        began: parse("timeBegan")?,
        ended: parse("timeEnded")?,
        exported: last["countExported"].as_u64().unwrap_or(0),
        state: last["state"].as_str().unwrap_or_default().to_string(),
    })
}

/// Polls `probe` every [`POLL`] until it gives a value, for at most `limit`; the error
/// names what never happened.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if started.elapsed() > limit {
            bail!("{what}: did not happen within {} s", limit.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The engine's job on one service principal.
struct Job<'a> {
    graph: &'a Graph,
    sp: String,
    id: String,
}

impl Job<'_> {
    fn path(&self, rest: &str) -> String {
        format!(
            "/servicePrincipals/{}/synchronization/jobs/{}{rest}",
            self.sp, self.id
        )
    }

    async fn post(&self, action: &str) -> anyhow::Result<()> {
        self.graph
            .expect(reqwest::Method::POST, &self.path(action), None, 204)
            .await
            .map(drop)
    }

    /// The first cycle that began after `after` and has ended.
    async fn cycle_after(
        &self,
        what: &str,
        after: OffsetDateTime,
        limit: Duration,
    ) -> anyhow::Result<Cycle> {
        wait_for(what, limit, || async {
            let job = self
                .graph
                .expect(reqwest::Method::GET, &self.path(""), None, 200)
                .await?;
            Ok(last_cycle(&job).filter(|c| c.began > after))
        })
        .await
    }
}

/// The target's SCIM API.
struct Target {
    http: reqwest::Client,
    scim: String,
}

impl Target {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.scim))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn total(&self, resource: &str) -> anyhow::Result<u64> {
        let page = self.get(&format!("/{resource}?count=0")).await?;
        page["totalResults"]
            .as_u64()
            .with_context(|| format!("the target's /{resource} has no totalResults: {page}"))
    }

    /// The department of the target's user with this userName (the enterprise extension's,
    /// or a top-level one).
    async fn department(&self, user_name: &str) -> anyhow::Result<Option<String>> {
        let page = self
            .get(&format!("/Users?filter=userName%20eq%20%22{user_name}%22"))
            .await?;
        let user = &page["Resources"][0];
        let enterprise = &user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
        Ok(enterprise["department"]
            .as_str()
            .or(user["department"].as_str())
            .map(str::to_string))
    }
}

/// CPU seconds two processes used over a span: the engine's (or the replay client's) and
/// the target's.
#[derive(Debug, Clone, Copy)]
struct CpuUse {
    serve: f64,
    target: f64,
}

impl CpuUse {
    fn between(
        before: (Option<f64>, Option<f64>),
        after: (Option<f64>, Option<f64>),
    ) -> Option<CpuUse> {
        Some(CpuUse {
            serve: after.0? - before.0?,
            target: after.1? - before.1?,
        })
    }
}

/// A new, empty `provisio scim-server` to replay into, and its origin (the URL without
/// `/scim/…`, which the journal's paths carry).
async fn start_fresh_target() -> anyhow::Result<(ServerProcess, String)> {
    let (server, scim) = spawn_server(
        &["scim-server", "--listen", "127.0.0.1:0", "--token", TOKEN],
        None,
    )
    .await?;
    let origin = scim.split("/scim/").next().unwrap_or(&scim).to_string();
    Ok((server, origin))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn run(args: SyncBenchArgs) -> anyhow::Result<()> {
    let users = args.users.max(1);
    let groups = args.groups;
    // The target journals what it receives, so that the initial cycle's own requests can be
    // replayed without the engine.
    let journal_dir = tempfile::tempdir()?;
    let journal_path = journal_dir.path().join("requests.jsonl");
    let journal_arg = journal_path.to_string_lossy().into_owned();
    let (target_server, scim) = spawn_server(
        &[
            "scim-server",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--journal",
            &journal_arg,
        ],
        None,
    )
    .await?;
    let (serve, base) = spawn_server(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            TOKEN,
            "--matching",
            &args.matching,
        ],
        args.database_url.as_deref(),
    )
    .await?;
    let http = reqwest::Client::new();
    let graph = Graph {
        http: http.clone(),
        base: base.clone(),
    };
    let target = Target { http, scim };

    eprintln!("Seeding {users} users and {groups} groups into {base}…");
    let (_, seed_time, _) = run_provisio(vec![
        "directory".into(),
        "seed".into(),
        "--users".into(),
        users.to_string(),
        "--groups".into(),
        groups.to_string(),
        "--url".into(),
        base.clone(),
        "--token".into(),
        TOKEN.into(),
    ])
    .await?;
    let user_list = graph
        .list("/users?$select=id,userPrincipalName,accountEnabled&$top=999")
        .await?;
    let group_list = graph.list("/groups?$select=id&$top=999").await?;
    if user_list.len() as u64 != users || group_list.len() as u64 != groups {
        bail!(
            "the directory holds {} users and {} groups after seeding {users} and {groups}",
            user_list.len(),
            group_list.len()
        );
    }
    // The engine creates no account for a disabled user (the seed disables about 3% of
    // staff): the changes and the timed writes go to enabled users, whose accounts exist.
    let enabled: Vec<&Value> = user_list
        .iter()
        .filter(|u| u["accountEnabled"] != false)
        .collect();
    let disabled = user_list.len() - enabled.len();
    let user_names: Vec<String> = enabled
        .iter()
        .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_string))
        .collect();
    if user_names.is_empty() {
        bail!("no enabled user with a userPrincipalName: nothing to provision");
    }

    eprintln!("Assigning every user and group through $batch…");
    let sp = graph
        .expect(
            reqwest::Method::POST,
            "/servicePrincipals",
            Some(json!({"displayName": "Bench target"})),
            201,
        )
        .await?["id"]
        .as_str()
        .context("the service principal has no id")?
        .to_string();
    let started = Instant::now();
    let assignments: Vec<Value> = user_list
        .iter()
        .chain(&group_list)
        .map(|object| {
            json!({
                "method": "POST",
                "url": format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
                "headers": {"Content-Type": "application/json"},
                "body": {"principalId": object["id"], "resourceId": sp,
                         "appRoleId": "00000000-0000-0000-0000-000000000000"},
            })
        })
        .collect();
    let assigned = assignments.len();
    graph.batch(assignments, 201).await?;
    let assign_time = started.elapsed();

    let sync = format!("/servicePrincipals/{sp}/synchronization");
    let job_id = graph
        .expect(
            reqwest::Method::POST,
            &format!("{sync}/jobs"),
            Some(json!({"templateId": "scim"})),
            201,
        )
        .await?["id"]
        .as_str()
        .context("the job has no id")?
        .to_string();
    graph
        .expect(
            reqwest::Method::PUT,
            &format!("{sync}/secrets"),
            Some(json!({"value": [
                {"key": "BaseAddress", "value": target.scim},
                {"key": "SecretToken", "value": TOKEN}
            ]})),
            204,
        )
        .await?;
    let job = Job {
        graph: &graph,
        sp: sp.clone(),
        id: job_id,
    };

    // The serve process's peak so far is the directory's (seeding, assigning): the engine's
    // own share shows against it.
    let serve_peak_before_job = serve.memory_kib("VmHWM:").unwrap_or(0);

    // Generous bounds: they only catch an engine that stopped, not slow figures.
    let cycle_limit = Duration::from_secs(600 + (users + groups) / 20);
    eprintln!("Starting the job: the initial cycle…");
    let before_start = now();
    let started = Instant::now();
    let cpu_before = (serve.cpu_seconds(), target_server.cpu_seconds());
    job.post("/start").await?;
    let initial = job
        .cycle_after("the initial cycle ending", before_start, cycle_limit)
        .await?;
    let initial_seen = started.elapsed();
    let initial_cpu = CpuUse::between(
        cpu_before,
        (serve.cpu_seconds(), target_server.cpu_seconds()),
    );
    let target_users = target.total("Users").await?;
    let target_groups = target.total("Groups").await?;
    if initial.state != "Succeeded" {
        eprintln!(
            "warning: the initial cycle ended {:?}, not Succeeded",
            initial.state
        );
    }

    // 1%: the job is paused while the changes go in, so that one cycle carries them all.
    let changed = (users / 100).max(1) as usize;
    eprintln!("Changing {changed} users (1%) and timing the next cycle…");
    job.post("/pause").await?;
    let changes: Vec<Value> = enabled
        .iter()
        .take(changed)
        .map(|u| {
            json!({
                "method": "PATCH",
                "url": format!("/users/{}", u["id"].as_str().unwrap_or_default()),
                "headers": {"Content-Type": "application/json"},
                "body": {"department": "Bench one percent"},
            })
        })
        .collect();
    graph.batch(changes, 204).await?;
    let before_start = now();
    let started = Instant::now();
    job.post("/start").await?;
    let one_percent = job
        .cycle_after("the cycle after the 1% change", before_start, cycle_limit)
        .await?;
    let one_percent_seen = started.elapsed();

    eprintln!(
        "Timing {} directory writes until the target shows them…",
        args.writes
    );
    let mut delays = Vec::new();
    for i in 0..args.writes {
        let user_name = &user_names[(changed + i as usize) % user_names.len()];
        let value = format!("Bench write {i}");
        let started = Instant::now();
        graph
            .expect(
                reqwest::Method::PATCH,
                &format!("/users/{user_name}"),
                Some(json!({ "department": value })),
                204,
            )
            .await?;
        wait_for(
            &format!("write {i} ({user_name}) reaching the target"),
            Duration::from_secs(120),
            || async {
                Ok((target.department(user_name).await? == Some(value.clone())).then_some(()))
            },
        )
        .await?;
        delays.push(started.elapsed().as_secs_f64());
    }
    delays.sort_by(f64::total_cmp);

    // No change: the shortest interval runs a cycle a minute after the last one ended.
    eprintln!("Setting the interval to PT1M and timing a cycle with no change…");
    graph
        .expect(
            reqwest::Method::PATCH,
            &job.path(""),
            Some(json!({"schedule": {"interval": "PT1M"}})),
            204,
        )
        .await?;
    let mut after = now();
    let no_change = loop {
        let cycle = job
            .cycle_after(
                "a cycle with no change",
                after,
                Duration::from_secs(180) + cycle_limit,
            )
            .await?;
        if cycle.exported == 0 {
            break cycle;
        }
        // The cycle that carried the last write: the next one has nothing to do.
        after = cycle.began;
    };

    let serve_peak = serve.memory_kib("VmHWM:").unwrap_or(0);
    let target_peak = target_server.memory_kib("VmHWM:").unwrap_or(0);
    drop(serve);
    drop(target_server);

    // The initial cycle's requests, replayed into a fresh target with nothing else running.
    // The requests the engine's SCIM client keeps in flight, whatever the number of objects
    // the cycle works on at once.
    let concurrency = provisio_scim_client::config::DEFAULT_MAX_CONCURRENCY;
    eprintln!(
        "Replaying the initial cycle's requests into a fresh target, {concurrency} at a time…"
    );
    let recorded: Vec<JournalEntry> = journal::read(&journal_path)?
        .into_iter()
        .filter(|e| {
            e.time()
                .is_some_and(|at| at >= initial.began && at <= initial.ended)
        })
        .collect();
    let (fresh_target, origin) = start_fresh_target().await?;
    let replay_cpu_before = (super::cpu_seconds("self"), fresh_target.cpu_seconds());
    let replayed = replay::replay(&recorded, &origin, TOKEN, concurrency).await?;
    let replay_cpu = CpuUse::between(
        replay_cpu_before,
        (super::cpu_seconds("self"), fresh_target.cpu_seconds()),
    );
    let ratio = initial.seconds() / replayed.elapsed.as_secs_f64().max(1e-9);
    // The same replay again, on what the engine left of the cores: on a machine that runs
    // both, the target shares them with the engine during the cycle, and a target that
    // waits for a core answers later. What the cycle takes beyond this replay is the
    // engine's own delay, not the machine's.
    let engine_load = initial_cpu.map_or(0.0, |c| c.serve / initial.seconds().max(1e-9));
    eprintln!(
        "Replaying them again beside a load of {engine_load:.2} cores, the engine's share in the cycle…"
    );
    let (loaded_target, loaded_origin) = start_fresh_target().await?;
    let loaded = {
        let _load = super::CpuLoad::start(engine_load);
        replay::replay(&recorded, &loaded_origin, TOKEN, concurrency).await?
    };
    drop(loaded_target);
    let loaded_ratio = initial.seconds() / loaded.elapsed.as_secs_f64().max(1e-9);
    // The floor the machine sets: the engine and the target share its cores, so the cycle
    // cannot end before their CPU time, spread over every core, has passed.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_floor = initial_cpu.map(|c| (c.serve + c.target) / cores as f64);
    let store = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let per_second = |n: u64, seconds: f64| n as f64 / seconds.max(1e-9);
    println!(
        "provisio bench sync: {users} users, {groups} groups, engine state in {store}, target on SQLite, matching {}",
        args.matching
    );
    println!(
        "  seed:             {:.1} s; {assigned} assignments through $batch in {:.1} s",
        seed_time.as_secs_f64(),
        assign_time.as_secs_f64()
    );
    println!(
        "  initial cycle:    {:.1} s ({}), {} exported, {:.0} exports/s; target holds {target_users} users ({disabled} disabled not created), {target_groups} groups ({:.1} s from start to seen ended)",
        initial.seconds(),
        initial.state,
        initial.exported,
        per_second(initial.exported, initial.seconds()),
        initial_seen.as_secs_f64()
    );
    println!(
        "  its requests:     {} ({:.0} requests/s); replayed alone into a fresh target, {concurrency} at a time in {} phases: {:.1} s; the cycle took {ratio:.2}× the replay",
        replayed.requests,
        per_second(replayed.requests as u64, initial.seconds()),
        replayed.phases,
        replayed.elapsed.as_secs_f64(),
    );
    if let (Some(cycle), Some(replay), Some(floor)) = (initial_cpu, replay_cpu, cpu_floor) {
        println!(
            "  CPU time:         initial cycle: engine (serve) {:.1} s, target {:.1} s; replay: client {:.1} s, target {:.1} s; on {cores} cores the cycle's CPU alone takes {floor:.1} s = {:.2}× the replay",
            cycle.serve,
            cycle.target,
            replay.serve,
            replay.target,
            floor / replayed.elapsed.as_secs_f64().max(1e-9),
        );
    }
    println!(
        "  beside the load:  replayed again with {engine_load:.2} cores kept busy (the engine's CPU in the cycle, over its time): {:.1} s; the cycle took {loaded_ratio:.2}× that",
        loaded.elapsed.as_secs_f64(),
    );
    if replayed.mismatches > 0 {
        println!(
            "  warning: {} replayed requests answered otherwise than recorded, e.g. {}",
            replayed.mismatches,
            replayed.examples.join("; ")
        );
    }
    println!(
        "  1% incremental:   {:.2} s, {} exported ({changed} users changed), {:.1}% of the initial cycle ({:.1} s from start to seen ended)",
        one_percent.seconds(),
        one_percent.exported,
        100.0 * one_percent.seconds() / initial.seconds().max(1e-9),
        one_percent_seen.as_secs_f64()
    );
    println!(
        "  no-change cycle:  {:.3} s, {} exported",
        no_change.seconds(),
        no_change.exported
    );
    println!(
        "  write to target:  p50 {:.2} s, p99 {:.2} s, max {:.2} s over {} writes",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
        delays.len()
    );
    println!(
        "  peak memory:      engine (serve) {:.0} MiB ({:.0} MiB before the job started), target (scim-server) {:.0} MiB",
        serve_peak as f64 / 1024.0,
        serve_peak_before_job as f64 / 1024.0,
        target_peak as f64 / 1024.0
    );
    if args.json {
        println!(
            "{}",
            json!({
                "users": users, "groups": groups, "store": store,
                "initial_seconds": initial.seconds(), "initial_exported": initial.exported,
                "initial_requests": replayed.requests, "replay_seconds": replayed.elapsed.as_secs_f64(),
                "replay_concurrency": concurrency, "initial_over_replay": ratio,
                "replay_mismatches": replayed.mismatches,
                "engine_load_cores": engine_load, "loaded_replay_seconds": loaded.elapsed.as_secs_f64(),
                "initial_over_loaded_replay": loaded_ratio,
                "target_users": target_users, "disabled_users": disabled, "target_groups": target_groups,
                "one_percent_seconds": one_percent.seconds(), "one_percent_exported": one_percent.exported,
                "no_change_seconds": no_change.seconds(),
                "write_to_target_p50_seconds": percentile(&delays, 0.5),
                "write_to_target_p99_seconds": percentile(&delays, 0.99),
                "serve_peak_kib": serve_peak, "serve_peak_before_job_kib": serve_peak_before_job,
                "target_peak_kib": target_peak,
                "initial_cpu_seconds": initial_cpu.map(|c| json!({"engine": c.serve, "target": c.target})),
                "replay_cpu_seconds": replay_cpu.map(|c| json!({"client": c.serve, "target": c.target})),
                "cores": cores, "cpu_floor_seconds": cpu_floor,
            })
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        for (q, expected) in [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.0, 1.0)] {
            assert_eq!(percentile(&sorted, q), expected, "q = {q}");
        }
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_cycle_is_read_only_once_it_has_ended() {
        let ended = json!({"status": {"lastExecution": {
            "state": "Succeeded", "timeBegan": "2026-01-01T00:00:00.000Z",
            "timeEnded": "2026-01-01T00:00:01.500Z", "countExported": 7}}});
        let cycle = last_cycle(&ended).expect("an ended cycle");
        assert_eq!(cycle.seconds(), 1.5);
        assert_eq!(cycle.exported, 7);
        let running = json!({"status": {"lastExecution": {
            "state": "InProgress", "timeBegan": "2026-01-01T00:00:00.000Z"}}});
        assert!(last_cycle(&running).is_none());
        assert!(last_cycle(&json!({"status": {}})).is_none());
    }
}
