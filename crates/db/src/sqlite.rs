//! A SQLite database file in WAL mode, as both stores use it.
//!
//! Writes go to ONE writer thread that owns the write connection. Callers send it jobs; it
//! takes one, drains whatever else is queued (up to [`SqliteOptions::batch_max`]) and runs
//! the lot in one transaction (group commit), each job inside a savepoint of its own, so a
//! failing job, or one that asks to be rolled back (a dry run), leaves the others alone. A
//! caller hears back only after the transaction committed. One thread also means commit
//! order is the order jobs ran in, which keeps a change log's sequence in commit order.
//!
//! Reads run on a pool of `query_only` connections, each call as one blocking task: one
//! thread hop per call, not per statement or row.
//!
//! A thread of its own checkpoints the WAL, so that no commit waits for a checkpoint (and
//! its fsync); the last handle dropped ends it with a full checkpoint.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, Semaphore};

use crate::migrate::{self, Migrations};
use crate::DbError;

/// How a store wants its database file opened.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Names the threads and the messages (`directory`, `scim`).
    pub name: &'static str,
    /// Read connections, and so concurrent reads.
    pub readers: usize,
    /// Page cache of each read connection, in KiB.
    pub reader_cache_kib: u32,
    /// Page cache of the write connection, in KiB: an import's index pages are its hot set.
    pub writer_cache_kib: u32,
    /// Page size of a new database file (an existing file keeps its own).
    pub page_size: Option<u32>,
    pub foreign_keys: bool,
    /// Prepared statements each connection keeps.
    pub statement_cache: usize,
    /// Most write jobs in one group commit.
    pub batch_max: usize,
    /// WAL size past which the checkpointer waits for readers to finish and starts the WAL
    /// over (see `checkpoint_loop`).
    pub wal_restart_bytes: u64,
}

/// The default [`SqliteOptions::wal_restart_bytes`]: the `journal_size_limit` the WAL is cut
/// back to.
pub const WAL_RESTART_BYTES: u64 = 64 * 1024 * 1024;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            name: "sqlite",
            readers: 4,
            reader_cache_kib: 16 * 1024,
            writer_cache_kib: 16 * 1024,
            page_size: None,
            foreign_keys: false,
            statement_cache: 128,
            batch_max: 256,
            wal_restart_bytes: WAL_RESTART_BYTES,
        }
    }
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// A database opened with [`Sqlite::open`]. Cheap to clone; the writer and checkpoint
/// threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<mpsc::Sender<Box<dyn WriteJob>>>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read connection.
    read_permits: Arc<Semaphore>,
}

impl fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the data (a Vec or a Sender) intact: carry on.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sqlite {
    /// Opens (creating it and its directory if missing) the database at `path`, applies the
    /// `migrations` it lacks and starts the writer and checkpoint threads.
    pub async fn open(
        path: &Path,
        options: SqliteOptions,
        migrations: &'static Migrations,
    ) -> Result<Sqlite, DbError> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                DbError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let opened = {
            let path = path.to_path_buf();
            let options = options.clone();
            tokio::task::spawn_blocking(move || -> Result<_, DbError> {
                let write = open_connection(&path, &options, false)?;
                migrate::sqlite(&write, migrations)?;
                // The checkpoint thread does this work instead (see `checkpoint_loop`).
                write
                    .execute_batch(&format!(
                        "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{};",
                        options.writer_cache_kib
                    ))
                    .map_err(DbError::sqlite("configuring the write connection"))?;
                let readers = (0..options.readers)
                    .map(|_| open_connection(&path, &options, true))
                    .collect::<Result<Vec<_>, _>>()?;
                let checkpointer = open_connection(&path, &options, false)?;
                Ok((write, readers, checkpointer))
            })
            .await
            .map_err(|e| DbError::Unavailable(format!("opening the database failed: {e}")))?
        };
        let (write, readers, checkpointer) = opened?;
        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let batch_max = options.batch_max.max(1);
        let name = options.name;
        thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || writer_loop(write, rx, batch_max))
            .map_err(|e| DbError::Unavailable(format!("cannot start the {name} writer: {e}")))?;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            read_permits: Arc::new(Semaphore::new(options.readers.max(1))),
            options,
            writer: Mutex::new(tx),
            readers: Mutex::new(readers),
        });
        let alive = Arc::downgrade(&inner);
        let wal = wal_path(path);
        let wal_restart_bytes = inner.options.wal_restart_bytes;
        thread::Builder::new()
            .name(format!("{name}-checkpoint"))
            .spawn(move || checkpoint_loop(checkpointer, alive, name, &wal, wal_restart_bytes))
            .map_err(|e| {
                DbError::Unavailable(format!("cannot start the {name} checkpointer: {e}"))
            })?;
        Ok(Sqlite { inner })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` on the writer thread, in a savepoint of the next group commit; resolves
    /// once that committed. An error rolls back `work`'s changes (and only those).
    pub async fn write<R, E, F>(&self, work: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
    {
        self.write_or_roll_back(move |conn| work(conn).map(|r| (r, true)))
            .await
    }

    /// Like [`Sqlite::write`], except that `work` says whether to keep its changes: with
    /// `Ok((r, false))` they are rolled back and the caller still gets `r` (a dry run).
    pub async fn write_or_roll_back<R, E, F>(&self, work: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, bool), E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job {
            work: Some(work),
            result: None,
            reply,
        });
        let name = self.inner.options.name;
        lock(&self.inner.writer)
            .send(job)
            .map_err(|_| DbError::Unavailable(format!("the {name} writer has stopped")))?;
        answer.await.map_err(|_| {
            DbError::Unavailable(format!("the {name} writer stopped before answering"))
        })?
    }

    /// Runs a point lookup (an indexed read of a row or a few) on an idle read connection in
    /// the calling task, without handing it to the blocking pool: handing every small read
    /// to another thread and back cost more than the read (a provisioning cycle spent a
    /// third of its time in those hand-offs). Reads in WAL mode never wait for the writer,
    /// so the task is held for the lookup only. When every reader is busy, `work` goes to the
    /// blocking pool as [`SqliteDb::read`] would send it. Not for scans or lists.
    pub async fn read_point<R, E, F>(&self, work: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
    {
        if let Ok(permit) = Arc::clone(&self.inner.read_permits).try_acquire_owned() {
            // Popped in a statement of its own: the guard must be gone before the push.
            let idle = lock(&self.inner.readers).pop();
            if let Some(conn) = idle {
                let result = work(&conn);
                lock(&self.inner.readers).push(conn);
                drop(permit);
                return result;
            }
        }
        self.read(work).await
    }

    /// Runs `work` on a read connection, on the blocking pool.
    pub async fn read<R, E, F>(&self, work: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.read_permits)
            .acquire_owned()
            .await
            .map_err(|e| DbError::Unavailable(format!("reader pool closed: {e}")))?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let popped = lock(&inner.readers).pop();
            // A reader lost to a panic is replaced.
            let conn = match popped {
                Some(c) => c,
                None => open_connection(&inner.path, &inner.options, true)?,
            };
            let result = work(&conn);
            lock(&inner.readers).push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| DbError::Unavailable(format!("read task failed: {e}")))?
    }
}

/// Caps the memory SQLite takes in this process, every database and connection together,
/// at about `bytes` (0 lifts the cap): past it, a connection that needs a page recycles the
/// least recently used cached page of any connection instead of allocating one.
///
/// Why a budget for the process and not only `cache_size` per connection: each connection's
/// page cache is private, so the read connections of a database each cache the same hot
/// pages, and a cache filled once (the writer's, by an import) stays full while other
/// connections need the memory. Summed, the per-connection limits allowed about 280 MB in
/// `provisio serve`; a 100,000-user cycle filled 295 MiB of C heap with them (half of the
/// process), and ran as fast with a 64 MiB budget. The bundled SQLite is built with
/// `SQLITE_ENABLE_MEMORY_MANAGEMENT`, which puts every connection's pages on one LRU list
/// that the budget (`soft_heap_limit`) recycles from.
pub fn limit_process_memory(bytes: u64) -> Result<(), DbError> {
    // The setting belongs to the library, not to a connection: any connection sets it.
    let conn = Connection::open_in_memory().map_err(DbError::sqlite(
        "opening a connection to set SQLite's memory budget",
    ))?;
    conn.query_row(&format!("PRAGMA soft_heap_limit = {bytes}"), [], |_| Ok(()))
        .map_err(DbError::sqlite("setting SQLite's memory budget"))
}

fn open_connection(
    path: &Path,
    options: &SqliteOptions,
    read_only: bool,
) -> Result<Connection, DbError> {
    let opening = || format!("cannot open {}", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(DbError::sqlite(opening()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(DbError::sqlite(opening()))?;
    conn.set_prepared_statement_cache_capacity(options.statement_cache);
    if let Some(size) = options.page_size {
        // Only takes effect before the first write, i.e. on a new file.
        conn.execute_batch(&format!("PRAGMA page_size = {size};"))
            .map_err(DbError::sqlite(opening()))?;
    }
    // journal_mode answers with a row; the others do not.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(DbError::sqlite(opening()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError::Unavailable(format!(
            "cannot put {} in WAL mode (it is in {mode:?} mode)",
            path.display()
        )));
    }
    // No mmap: every connection maps the file again, which counted the same pages up to five
    // times in the resident size for no measurable gain once the WAL checkpoints on its own
    // thread.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = {}; PRAGMA cache_size = -{}; \
         PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 0; PRAGMA journal_size_limit = 67108864;",
        if options.foreign_keys { "ON" } else { "OFF" },
        options.reader_cache_kib
    ))
    .map_err(DbError::sqlite(opening()))?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")
            .map_err(DbError::sqlite(opening()))?;
    }
    Ok(conn)
}

/// Checkpoints the WAL from its own thread and connection, so that the writer thread never
/// stalls every queued write behind a checkpoint (and its fsync) at commit time. PASSIVE
/// checkpoints never block readers or the writer. Ends when the database is dropped.
/// The WAL file of a database file.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// Copies the WAL back into the database every [`CHECKPOINT_EVERY`] without waiting for
/// anyone (PASSIVE). A passive checkpoint never starts the WAL over while some reader still
/// uses it, and under a steady mix of reads and writes some reader always does: the WAL then
/// grew without bound (20 GB in three minutes while a million assignments went in). So when
/// the WAL is past `restart_bytes`, the checkpoint waits for the readers of the moment to
/// finish (up to the busy timeout; new readers and the writer wait meanwhile) and truncates
/// it (TRUNCATE).
fn checkpoint_loop(
    conn: Connection,
    alive: Weak<Inner>,
    name: &'static str,
    wal: &Path,
    restart_bytes: u64,
) {
    while alive.strong_count() > 0 {
        thread::sleep(CHECKPOINT_EVERY);
        let oversized = std::fs::metadata(wal).is_ok_and(|m| m.len() > restart_bytes);
        let mode = if oversized { "TRUNCATE" } else { "PASSIVE" };
        let checkpoint = format!("PRAGMA wal_checkpoint({mode})");
        if let Err(error) = conn.query_row(&checkpoint, [], |_| Ok(())) {
            tracing::warn!(message = "SQLite checkpoint failed.", database = name, %error);
        }
    }
    // A last full checkpoint so the database file is complete when the process ends cleanly.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

// ---------------------------------------------------------------------------
// The writer thread.
// ---------------------------------------------------------------------------

/// What a job's savepoint becomes.
enum Ran {
    Keep,
    RollBack,
}

/// A write the writer thread runs inside a savepoint of the batch transaction, and answers
/// once the batch is over.
trait WriteJob: Send {
    fn run(&mut self, conn: &Connection) -> Ran;
    /// Sends the reply: the job's own error, or `batch` if the transaction as a whole
    /// failed, or the job's result.
    fn finish(self: Box<Self>, batch: Option<&DbError>);
}

struct Job<R, E, F> {
    work: Option<F>,
    result: Option<Result<R, E>>,
    reply: oneshot::Sender<Result<R, E>>,
}

impl<R, E, F> WriteJob for Job<R, E, F>
where
    R: Send,
    E: From<DbError> + Send,
    F: FnOnce(&Connection) -> Result<(R, bool), E> + Send,
{
    fn run(&mut self, conn: &Connection) -> Ran {
        let Some(work) = self.work.take() else {
            return Ran::RollBack;
        };
        // A panic must not take the writer thread, and every later write, down with it.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| work(conn)));
        let (result, ran) = match outcome {
            Ok(Ok((r, true))) => (Ok(r), Ran::Keep),
            Ok(Ok((r, false))) => (Ok(r), Ran::RollBack),
            Ok(Err(e)) => (Err(e), Ran::RollBack),
            Err(_) => (
                Err(E::from(DbError::Unavailable(
                    "the write panicked".to_string(),
                ))),
                Ran::RollBack,
            ),
        };
        self.result = Some(result);
        ran
    }

    fn finish(self: Box<Self>, batch: Option<&DbError>) {
        let reply = match (self.result, batch) {
            (Some(Err(e)), _) => Err(e),
            (_, Some(e)) => Err(E::from(DbError::Unavailable(format!(
                "write not committed: {e}"
            )))),
            (Some(Ok(r)), None) => Ok(r),
            (None, None) => Err(E::from(DbError::Unavailable(
                "write did not run".to_string(),
            ))),
        };
        // The caller may have gone away; the write stands regardless.
        let _ = self.reply.send(reply);
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(DbError::sqlite(sql))
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>, batch_max: usize) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(batch_max);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < batch_max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&conn, &mut batch);
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch.drain(..) {
            job.finish(outcome.as_ref().err());
        }
    }
}

/// Runs `batch` in one transaction, one savepoint per job; a job alone needs no savepoint.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn WriteJob>]) -> Result<(), DbError> {
    exec(conn, "BEGIN IMMEDIATE")?;
    if let [job] = batch {
        return match job.run(conn) {
            Ran::Keep => exec(conn, "COMMIT"),
            // SQLite may have rolled back already (e.g. on an I/O error).
            Ran::RollBack if conn.is_autocommit() => Ok(()),
            Ran::RollBack => exec(conn, "ROLLBACK"),
        };
    }
    for job in batch.iter_mut() {
        exec(conn, "SAVEPOINT job")?;
        match job.run(conn) {
            Ran::Keep => exec(conn, "RELEASE job")?,
            Ran::RollBack => {
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back (e.g. on an I/O error): the
                    // jobs before this one are gone too.
                    return Err(DbError::Unavailable(
                        "the transaction was rolled back".to_string(),
                    ));
                }
                exec(conn, "ROLLBACK TO job")?;
                exec(conn, "RELEASE job")?;
            }
        }
    }
    exec(conn, "COMMIT")
}
