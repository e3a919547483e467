//! `provisio directory …`: the client side of the directory's bulk import endpoint
//! (`POST /admin/directory/import`): importing JSON Lines or CSV files, and seeding a
//! synthetic directory.
//!
//! Exit codes: 0 when every line went in, 1 when some line failed, 2 when the command
//! itself failed (a file that cannot be read, a server that cannot be reached or refuses).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use provisio_directory::ObjectKind;

mod client;
mod import;
mod read;
mod seed;

#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Import users and groups from a JSON Lines or CSV file (upserts; members are only added).
    Import(ImportArgs),
    /// Generate a realistic synthetic directory, to a JSON Lines file or straight into a server.
    Seed(SeedArgs),
}

/// The import endpoint to send to.
#[derive(Args)]
pub struct Target {
    /// Base URL of the provisio server (`http://127.0.0.1:8080`).
    #[arg(long)]
    url: Option<String>,
    /// Admin bearer token of the server.
    #[arg(long, env = "PROVISIO_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// JSON Lines (.jsonl, .ndjson, .json) or CSV (.csv) file.
    file: PathBuf,
    #[command(flatten)]
    target: Target,
    /// File format; by default from the file's extension.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Kind of the records that do not say (JSON Lines: `"@odata.type"`; CSV: an
    /// `@odata.type` column).
    #[arg(long = "type", value_enum, default_value_t = Kind::User)]
    kind: Kind,
    /// Validate only: locally, and with --url also on the server, which writes nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub struct SeedArgs {
    /// Users to generate.
    #[arg(long)]
    users: u64,
    /// Groups to generate: one per department, then project groups.
    #[arg(long, default_value_t = 0)]
    groups: u64,
    /// Same seed, same directory (byte for byte).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Domain of the user principal names.
    #[arg(long, default_value = "contoso.example")]
    domain: String,
    /// Write JSON Lines here instead of sending to --url.
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    output: Option<PathBuf>,
    #[command(flatten)]
    target: Target,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    User,
    Group,
}

impl From<Kind> for ObjectKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::User => ObjectKind::User,
            Kind::Group => ObjectKind::Group,
        }
    }
}

/// Runs the command and exits with its code.
pub async fn run(cmd: DirectoryCommand) -> anyhow::Result<()> {
    let result = match cmd {
        DirectoryCommand::Import(args) => run_import(args).await,
        DirectoryCommand::Seed(args) => run_seed(args).await,
    };
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    };
    std::io::stdout().flush()?;
    std::process::exit(code)
}

impl Target {
    fn sink(&self, dry_run: bool, default_kind: ObjectKind) -> anyhow::Result<import::Sink> {
        let client = match (&self.url, &self.token) {
            (Some(url), Some(token)) => Some(Arc::new(client::Client::new(url, token)?)),
            (Some(_), None) => bail!("--token (or PROVISIO_ADMIN_TOKEN) is required with --url"),
            (None, _) if dry_run => None,
            (None, _) => bail!("--url is required, unless --dry-run"),
        };
        Ok(import::Sink {
            client,
            dry_run,
            default_kind,
        })
    }
}

fn format_of(path: &Path) -> anyhow::Result<Format> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        _ => bail!(
            "cannot tell the format of {} from its extension: pass --format jsonl or --format csv",
            path.display()
        ),
    }
}

/// A progress bar of the bytes of a file sent, on stderr when it is a terminal.
fn bytes_progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes}, {bytes_per_sec}, {elapsed}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{bar:40} {human_pos}/{human_len} records, {per_sec}, {elapsed} {msg}",
                )
                .expect("a valid template"),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{spinner} {human_pos} records, {per_sec}, {elapsed} {msg}",
            )
            .expect("a valid template"),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn run_import(args: ImportArgs) -> anyhow::Result<i32> {
    let kind = ObjectKind::from(args.kind);
    let sink = args.target.sink(args.dry_run, kind)?;
    let format = match args.format {
        Some(format) => format,
        None => format_of(&args.file)?,
    };
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if let (Format::Jsonl, Some(client)) = (format, &sink.client) {
        // The server reads and validates JSON Lines itself: the file goes as it is.
        let progress = bytes_progress_bar(size);
        let outcome = import::send_raw(file, client.clone(), kind, sink.dry_run, progress).await?;
        print!("{}", import::summary(&outcome));
        return Ok(if outcome.has_failures() { 1 } else { 0 });
    }
    let bytes_read = Arc::new(AtomicU64::new(0));
    let input = read::Counting {
        inner: file,
        count: bytes_read.clone(),
    };
    let source: Box<dyn Iterator<Item = anyhow::Result<read::Item>> + Send> = match format {
        Format::Jsonl => Box::new(read::JsonLines::new(
            std::io::BufReader::with_capacity(1 << 16, input),
            kind,
        )),
        Format::Csv => Box::new(read::Csv::new(
            std::io::BufReader::with_capacity(1 << 16, input),
            kind,
        )?),
    };
    let progress = progress_bar(None);
    let share = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let read = bytes_read.load(Ordering::Relaxed);
                progress.set_message(format!("({}% of the file)", read * 100 / size.max(1)));
            }
        })
    };
    let outcome = import::run(source, sink, progress).await;
    share.abort();
    let outcome = outcome?;
    print!("{}", import::summary(&outcome));
    Ok(if outcome.has_failures() { 1 } else { 0 })
}

async fn run_seed(args: SeedArgs) -> anyhow::Result<i32> {
    let config = seed::Config {
        users: args.users,
        groups: args.groups,
        seed: args.seed,
        domain: args.domain,
    };
    let progress = progress_bar(Some(config.users + config.groups));
    if let Some(path) = args.output {
        let started = std::time::Instant::now();
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let written = {
            let progress = progress.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                let written = seed::Generator::new(config)
                    .write_jsonl(&mut out, &progress)
                    .context("writing the seed file")?;
                out.flush().context("writing the seed file")?;
                Ok(written)
            })
            .await??
        };
        progress.finish_and_clear();
        let elapsed = started.elapsed();
        println!(
            "wrote {} records to {} in {:.1} s ({}/s)",
            import::grouped(written),
            path.display(),
            elapsed.as_secs_f64(),
            import::grouped((written as f64 / elapsed.as_secs_f64().max(1e-6)) as u64)
        );
        return Ok(0);
    }
    let sink = args.target.sink(false, ObjectKind::User)?;
    let records = seed::Generator::new(config)
        .records()
        .map(|r| Ok(read::Item::Record(r)));
    let outcome = import::run(records, sink, progress).await?;
    print!("{}", import::summary(&outcome));
    Ok(if outcome.has_failures() { 1 } else { 0 })
}
