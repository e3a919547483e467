//! `provisio bench …`: benchmarks anyone can run with one command. Each starts the real server
//! as its own process on loopback and drives it over HTTP, so the figures include everything a
//! client would see.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Subcommand;

mod directory;
mod replay;
mod scim_server;
mod sync;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// POST, GET by id, filtered GET, PATCH and a no-op endpoint against `provisio scim-server`.
    ScimServer {
        /// Users to create.
        #[arg(long, default_value_t = 100_000)]
        users: u64,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: u64,
        /// Requests per read/patch phase.
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        /// Benchmark the PostgreSQL store at this URL instead of SQLite.
        #[arg(long)]
        database_url: Option<String>,
        /// Also print the figures as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Import N users from JSON Lines, list them through nextLink pages and read the change
    /// log, against `provisio serve`.
    Directory(directory::DirectoryBenchArgs),
    /// Provision N users and G groups from `provisio serve` to a separate `provisio
    /// scim-server` through a synchronization job: the initial cycle, incremental cycles, the
    /// delay from a directory write to the target, and the engine's memory.
    Sync(sync::SyncBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Directory(args) => directory::run(args).await,
        BenchCommand::Sync(args) => sync::run(args).await,
        BenchCommand::ScimServer {
            users,
            concurrency,
            requests,
            database_url,
            json,
        } => {
            scim_server::run(
                users,
                concurrency.max(1),
                requests.max(1),
                database_url,
                json,
            )
            .await
        }
    }
}

/// The server under test, killed when dropped.
struct ServerProcess {
    child: std::process::Child,
    _data: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time (user and system, all threads) a process has used so far, from
/// `/proc/<pid>/stat`: `self` or a pid.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    Some(cpu_ticks(&stat)? as f64 / 100.0)
}

/// utime + stime of a `/proc/<pid>/stat` line.
fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: fields are counted after
    // its last ')'.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15, the 12th and 13th after the name.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Threads that keep `cores` of CPU busy between them (at most every core there is), in
/// 10 ms periods, until dropped: the load the engine put on the machine during a cycle, so
/// that a replay can run on what the engine left of the cores, as the target did.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start(cores: f64) -> CpuLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let available = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        // A cycle too short to time would ask for a share of CPU no machine has.
        let cores = if cores.is_finite() {
            cores.clamp(0.0, available)
        } else {
            0.0
        };
        let count = cores.ceil() as usize;
        let period = Duration::from_millis(10);
        let busy = if count == 0 {
            Duration::ZERO
        } else {
            period.mul_f64((cores / count as f64).min(1.0))
        };
        let threads = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let began = Instant::now();
                        while began.elapsed() < busy {
                            std::hint::spin_loop();
                        }
                        let rest = period.saturating_sub(busy);
                        if !rest.is_zero() {
                            std::thread::sleep(rest);
                        }
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl ServerProcess {
    fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(&self.child.id().to_string())
    }

    fn memory_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}

/// Runs `provisio ARGS` (with a temporary `--data-dir`, or `--database-url`) and reads the
/// address it bound from its `listening on …` stdout line.
async fn spawn_server(
    args: &[&str],
    database_url: Option<&str>,
) -> anyhow::Result<(ServerProcess, String)> {
    let exe = std::env::current_exe().context("finding the provisio binary")?;
    let data = tempfile::tempdir()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match database_url {
        Some(url) => cmd.arg("--database-url").arg(url),
        None => cmd.arg("--data-dir").arg(PathBuf::from(data.path())),
    };
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting provisio {}", args.join(" ")))?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let server = ServerProcess { child, _data: data };
    let line = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stdout);
            loop {
                let mut line = String::new();
                if std::io::BufRead::read_line(&mut reader, &mut line)? == 0
                    || line.starts_with("listening on ")
                {
                    return Ok::<_, std::io::Error>(line);
                }
            }
        }),
    )
    .await
    .context("the server did not start within 60 s")???;
    let Some(address) = line.trim().strip_prefix("listening on ") else {
        bail!("the server did not start: {line:?}");
    };
    Ok((server, address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_load_keeps_a_thread_per_started_core_and_stops_them_when_dropped() {
        let cases = [
            (0.0, 0),
            (0.3, 1),
            (1.0, 1),
            (1.4, 2),
            (-2.0, 0),
            (f64::NAN, 0),
            (f64::INFINITY, 0),
        ];
        let every_core = std::thread::available_parallelism().map_or(1, |n| n.get());
        for (cores, threads) in cases {
            let load = CpuLoad::start(cores);
            assert_eq!(load.threads.len(), threads.min(every_core), "{cores}");
            let stop = Arc::clone(&load.stop);
            drop(load);
            assert!(stop.load(Ordering::Relaxed), "{cores}: told to stop");
        }
        assert_eq!(CpuLoad::start(1e12).threads.len(), every_core);
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name_whatever_it_holds() {
        let cases = [
            (
                "1 (provisio) S 0 1 1 0 -1 4194560 10 0 0 0 250 75 0 0 20 0 9 0",
                Some(325),
            ),
            (
                "7 (tokio rt) x) R 0 1 1 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 9 0",
                Some(3),
            ),
            ("7 (short) R 0 1", None),
            ("no name at all", None),
        ];
        for (stat, ticks) in cases {
            assert_eq!(cpu_ticks(stat), ticks, "{stat}");
        }
        assert!(
            cpu_seconds("self").is_some(),
            "this process's own line reads"
        );
    }
}
