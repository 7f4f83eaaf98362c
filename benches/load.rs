//! The load tool: Coprod's store and HTTP server measured against the database itself, in the
//! same run, on PostgreSQL and on SQLite, with durable commits (PostgreSQL
//! `synchronous_commit = on`; SQLite WAL with `synchronous = FULL`, as the server runs them).
//!
//! ```sh
//! cargo bench --bench load                                  # every scenario, both stores
//! cargo bench --bench load -- --store postgres --scenarios appends --clients 32 --seconds 30
//! ```
//!
//! Scenarios (each on fresh scratch databases, removed afterwards):
//! - `appends`: HTTP clients (16, then 64) post single facts to many projects through the real
//!   server, then 16 post to one hot project; after each run the very rows it stored are inserted
//!   again straight into an identical `events` table of a fresh scratch database, twice: one row
//!   per transaction at the same concurrency (the raw single-row baseline, what `pgbench -c N`
//!   measures; each inserter with its own connection on PostgreSQL, all sharing one on SQLite), and in batches of the sizes of the groups Coprod committed, one transaction each,
//!   one after another (the raw batched baseline: the most group commit could reach). Appends/s,
//!   p50/p95/p99 of each, and the ratios.
//! - `replay`: `GET /assessment` of a 10,000-event project against reading its rows raw.
//! - `length`: append latency on projects already 1, 1,000 and 10,000 entries long.
//! - `rebuild`: `coprod rebuild`'s code path over 1,000,000 events against reading every row by
//!   position raw.
//!
//! It is a `[[bench]]` (harness = false) rather than a `coprod` subcommand so that the HTTP
//! client and the measuring code stay out of the server binary. PostgreSQL databases are made on
//! the server of `--postgres` (default: `DATABASE_URL` when it is a postgres:// URL); SQLite
//! files under `--sqlite-dir`, on the same disk as the worktree (not a tmpfs).

#[path = "../tests/kit/mod.rs"]
mod kit;
use coprod_domain::testkit::sample;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use coprod::store::{AccessRole, GroupCommits, MasterKey, Store};
use coprod_domain::digest::StoredEntry;
use kit::facts::{joined_on, minimal_registration};
use kit::Backend;
use rand::Rng;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, QueryBuilder, SqlitePool};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The server binary's allocator, so that the server in this process runs as `coprod serve` does
/// (the baselines in the same process use it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The organisation every benchmark project belongs to (the sample project's).
const ORGANISATION: &str = "oxfordshire";
/// Pool sizes of the store (src/store/db.rs), given to the raw baselines too, except the
/// single-row one (see `appends_run`).
const POSTGRES_POOL: u32 = 10;
const SQLITE_POOL: u32 = 8;
/// Rows per multi-row INSERT when loading data sets.
const LOAD_CHUNK: usize = 1000;

#[derive(Debug, Parser)]
#[command(about = "Coprod against the database itself: appends, replay, stream length, rebuild")]
struct Args {
    /// Which stores to measure.
    #[arg(long, value_enum, default_value_t = StoreChoice::Both)]
    store: StoreChoice,
    /// Which scenarios to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "appends,replay,length,rebuild"
    )]
    scenarios: Vec<Scenario>,
    /// Concurrent HTTP clients (and concurrent raw inserters) in `appends`: one run for each,
    /// comma-separated; then one more with 16 clients on one hot project.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    clients: Vec<usize>,
    /// Projects the clients of `appends` post to (each client has its own share).
    #[arg(long, default_value_t = 64)]
    projects: usize,
    /// How long `appends` posts for, after a warm-up of a fifth of it.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// How many times `appends` measures each shape, with its baselines each time; with more
    /// than one, it also reports the median and range of each ratio, which on a shared machine
    /// are steadier than any one run's.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Requests measured per case in `replay` and `length`.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Events in the log that `rebuild` replays (projects of 1,000 events each).
    #[arg(long, default_value_t = 1_000_000)]
    rebuild_events: usize,
    /// The PostgreSQL server on which to make scratch databases.
    #[arg(long)]
    postgres: Option<String>,
    /// Where SQLite scratch files go.
    #[arg(long, default_value = "target/bench-data")]
    sqlite_dir: PathBuf,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Appends,
    Replay,
    Length,
    Rebuild,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;
type Outcome<T = ()> = Result<T, Failure>;

fn fail(message: impl Into<String>) -> Failure {
    message.into().into()
}

#[tokio::main]
async fn main() -> Outcome {
    let args = Args::parse();
    if !args.bench {
        // `cargo test --benches` runs bench targets without `--bench`: this is no unit test.
        eprintln!("the load tool runs under `cargo bench --bench load`; nothing to test");
        return Ok(());
    }
    coprod::config::init_logging();
    coprod::http::metrics::handle();
    let postgres = args.postgres.clone().unwrap_or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| url.starts_with("postgres"))
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
    });
    let backends = match args.store {
        StoreChoice::Sqlite => vec![Backend::Sqlite],
        StoreChoice::Postgres => vec![Backend::Postgres],
        StoreChoice::Both => vec![Backend::Postgres, Backend::Sqlite],
    };
    let lab = Lab {
        postgres,
        sqlite_dir: std::fs::canonicalize(".")?.join(&args.sqlite_dir),
    };
    println!("# Coprod load tool");
    println!("machine: {} CPUs; {}", cores(), load_average());
    for backend in backends {
        for scenario in &args.scenarios {
            println!();
            match scenario {
                Scenario::Appends => appends(&lab, backend, &args).await?,
                Scenario::Replay => replay(&lab, backend, &args).await?,
                Scenario::Length => length(&lab, backend, &args).await?,
                Scenario::Rebuild => rebuild(&lab, backend, &args).await?,
            }
            println!("  ({})", load_average());
        }
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The machine's load, as `uptime` shows it: other work on the machine moves every figure.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", fields.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Scratch databases and the raw pool

/// Where scratch databases are made.
struct Lab {
    postgres: String,
    sqlite_dir: PathBuf,
}

/// A fresh, migrated database; [`Scratch::remove`] deletes it.
struct Scratch {
    backend: Backend,
    url: String,
    name: String,
}

impl Lab {
    async fn scratch(&self, backend: Backend, label: &str) -> Outcome<Scratch> {
        let name = format!(
            "coprod_bench_{label}_{:08x}",
            rand::thread_rng().gen::<u32>()
        );
        let url = match backend {
            Backend::Postgres => {
                let mut server = sqlx::PgConnection::connect(&self.postgres).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut server)
                    .await?;
                server.close().await?;
                let options = PgConnectOptions::from_str(&self.postgres)?.database(&name);
                format!(
                    "postgres://{}@{}:{}/{name}",
                    options.get_username(),
                    options.get_host(),
                    options.get_port()
                )
            }
            Backend::Sqlite => {
                let dir = self.sqlite_dir.join(&name);
                std::fs::create_dir_all(&dir)?;
                format!("sqlite://{}", dir.join("coprod.db").display())
            }
        };
        // The schema is the store's own: its migrations.
        Store::connect(&url).await?.migrate().await?;
        Ok(Scratch { backend, url, name })
    }

    async fn remove(&self, scratch: Scratch) -> Outcome {
        match scratch.backend {
            Backend::Postgres => {
                let mut server = sqlx::PgConnection::connect(&self.postgres).await?;
                sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    scratch.name
                ))
                .execute(&mut server)
                .await?;
            }
            Backend::Sqlite => std::fs::remove_dir_all(self.sqlite_dir.join(&scratch.name))?,
        }
        Ok(())
    }
}

/// A pool straight to a scratch database, opened as the store opens its own (same durability,
/// same size).
#[derive(Clone)]
enum Raw {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Raw {
    async fn open(scratch: &Scratch) -> Outcome<Raw> {
        let connections = match scratch.backend {
            Backend::Postgres => POSTGRES_POOL,
            Backend::Sqlite => SQLITE_POOL,
        };
        Raw::open_with(scratch, connections).await
    }

    /// A pool of up to `connections` connections.
    async fn open_with(scratch: &Scratch, connections: u32) -> Outcome<Raw> {
        Ok(match scratch.backend {
            Backend::Postgres => Raw::Postgres(
                PgPoolOptions::new()
                    .max_connections(connections)
                    // Raw SQL as a tight client writes it: no ping before each statement.
                    .test_before_acquire(false)
                    .connect_with(PgConnectOptions::from_str(&scratch.url)?)
                    .await?,
            ),
            Backend::Sqlite => Raw::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(connections)
                    .test_before_acquire(false)
                    .connect_with(
                        SqliteConnectOptions::from_str(&scratch.url)?
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(SqliteSynchronous::Full)
                            .foreign_keys(true)
                            .pragma("temp_store", "MEMORY")
                            .busy_timeout(Duration::from_secs(5)),
                    )
                    .await?,
            ),
        })
    }

    async fn close(self) {
        match self {
            Raw::Postgres(pool) => pool.close().await,
            Raw::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Runs the same code on whichever pool a [`Raw`] holds.
macro_rules! on_raw {
    ($raw:expr, |$pool:ident, $db:ident| $body:expr) => {
        match $raw {
            Raw::Postgres($pool) => {
                #[allow(unused)]
                type $db = sqlx::Postgres;
                $body
            }
            Raw::Sqlite($pool) => {
                #[allow(unused)]
                type $db = sqlx::Sqlite;
                $body
            }
        }
    };
}

/// One stored row of `events`, as the store wrote it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Row {
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: Value,
    metadata: Value,
}

impl Row {
    fn from_entry(entry: &StoredEntry) -> Row {
        Row {
            aggregate_id: entry.aggregate_id.clone(),
            sequence: entry.sequence as i64,
            event_type: entry.event_type.clone(),
            event_version: entry.event_version.clone(),
            payload: entry.payload.clone(),
            metadata: serde_json::to_value(&entry.metadata).expect("metadata serialises"),
        }
    }
}

const INSERT_EVENT: &str = "INSERT INTO events \
    (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) ";

/// One multi-row INSERT of `rows` into `events`, for the backend `Db`.
macro_rules! insert_rows {
    ($Db:ty, $rows:expr) => {{
        let mut insert = QueryBuilder::<$Db>::new(INSERT_EVENT);
        insert.push_values($rows, |mut values, row| {
            values
                .push_bind("project")
                .push_bind(row.aggregate_id.clone())
                .push_bind(row.sequence)
                .push_bind(row.event_type.clone())
                .push_bind(row.event_version.clone())
                .push_bind(row.payload.clone())
                .push_bind(row.metadata.clone());
        });
        insert
    }};
}

/// Loads rows in multi-row INSERTs, in one transaction (setting up data sets, not measured).
async fn load_rows(raw: &Raw, rows: &[Row]) -> Outcome {
    on_raw!(raw, |pool, Db| {
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(LOAD_CHUNK) {
            insert_rows!(Db, chunk).build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    analyse(raw).await
}

/// Brings the planner's statistics up to date after a bulk load, as autovacuum would have done
/// for a log that grew over months (otherwise PostgreSQL may plan for an empty table).
async fn analyse(raw: &Raw) -> Outcome {
    if let Raw::Postgres(pool) = raw {
        sqlx::query("ANALYZE events").execute(pool).await?;
    }
    Ok(())
}

/// A sample project of `size` entries, chained as the store chains them.
fn sample_rows(project_id: Uuid, size: usize) -> Vec<Row> {
    let entries = sample::chained(sample::stored(&sample::project_with_id(size, project_id)));
    entries.iter().map(Row::from_entry).collect()
}

async fn max_position(raw: &Raw) -> Outcome<i64> {
    let sql = "SELECT COALESCE(MAX(position), 0) FROM events";
    let (position,): (i64,) = on_raw!(raw, |pool, Db| sqlx::query_as(sql).fetch_one(pool).await?);
    Ok(position)
}

// ---------------------------------------------------------------------------------------------
// The server

/// The real HTTP server over a scratch database, on a port of its own, with a recorder's token.
struct Server {
    base: String,
    token: String,
    store: Store,
    client: reqwest::Client,
    server: kit::Server,
}

impl Server {
    /// Starts as `coprod serve` does: migrations, one catch-up of the views, then serving.
    async fn start(scratch: &Scratch) -> Outcome<Server> {
        let store = Store::connect(&scratch.url).await?;
        store.migrate().await?;
        // Personal data (a participant's groups) is encrypted as it is appended, as in service.
        store.unlock(MasterKey::generate()).await?;
        let token = store
            .create_token(AccessRole::Recorder, ORGANISATION, "load tool")
            .await?;
        store.catch_up().await?;
        let server = kit::Server::start_without_metrics(store.clone()).await?;
        let base = format!("{}/api/v1", server.base());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Server {
            base,
            token,
            store,
            client,
            server,
        })
    }

    async fn stop(self) -> Outcome {
        // Let the views of the last commits be written before the database goes.
        self.store.catch_up().await?;
        let Server { client, server, .. } = self;
        // Idle keep-alive connections would hold the graceful shutdown open.
        drop(client);
        server.stop(Duration::from_secs(30)).await.map_err(fail)
    }

    /// POSTs `body` to `path`; the answer's JSON, or an error naming an unexpected status.
    async fn post(&self, path: &str, body: &Value, expect: u16) -> Outcome<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if status != expect {
            return Err(fail(format!("POST {path}: {status} {text}")));
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// GETs `path` and reads the whole body; fails on anything but 200.
    async fn get(&self, path: &str) -> Outcome<usize> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        if status != 200 {
            return Err(fail(format!(
                "GET {path}: {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body.len())
    }

    async fn register(&self, title: &str) -> Outcome<String> {
        let receipt = self
            .post(
                "/projects",
                &minimal_registration(title, ORGANISATION, "carers", "2025-01-06"),
                201,
            )
            .await?;
        receipt["project_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| fail(format!("no project_id in {receipt}")))
    }

    /// Posts the `n`th single fact of a load to a project (`n` from 0 up, per project): person
    /// `p{n}` joins (their groups are personal data, sealed with a new data key).
    async fn post_fact(&self, project: &str, n: u64) -> Outcome {
        let fact = joined_on(&format!("p{n}"), "carer", &["carers"], "2025-01-07");
        self.post(&format!("/projects/{project}/events"), &fact, 201)
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Latencies of one run, and how long it took in all.
struct Latencies {
    samples: Vec<Duration>,
    elapsed: Duration,
}

impl Latencies {
    fn new(mut samples: Vec<Duration>, elapsed: Duration) -> Latencies {
        samples.sort_unstable();
        Latencies { samples, elapsed }
    }

    /// The nearest-rank percentile.
    fn percentile(&self, p: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1]
    }

    fn per_second(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn summary(&self) -> String {
        format!(
            "{} in {:.1} s = {:.0}/s; p50 {} p95 {} p99 {} max {}",
            self.samples.len(),
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.percentile(50.0)),
            ms(self.percentile(95.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(100.0)),
        )
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

/// Times `samples` sequential runs of `work`.
async fn time_each<F, Fut>(samples: usize, mut work: F) -> Outcome<Latencies>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut latencies = Vec::with_capacity(samples);
    let started = Instant::now();
    for _ in 0..samples {
        let begun = Instant::now();
        work().await?;
        latencies.push(begun.elapsed());
    }
    Ok(Latencies::new(latencies, started.elapsed()))
}

// ---------------------------------------------------------------------------------------------
// Scenario: appends against raw single-row inserts and raw batches

/// One measured run of `appends`: how many clients, on how many projects.
struct Shape {
    clients: usize,
    projects: usize,
}

async fn appends(lab: &Lab, backend: Backend, args: &Args) -> Outcome {
    let mut spread_16 = None;
    for (n, &clients) in args.clients.iter().enumerate() {
        let clients = clients.max(1);
        let shape = Shape {
            clients,
            projects: args.projects.max(clients),
        };
        let measured = appends_repeated(lab, backend, args, &shape, n == 0).await?;
        if clients == 16 {
            spread_16 = Some(measured);
        }
    }
    // One hot project: every client posts to the same project.
    let hot = Shape {
        clients: 16,
        projects: 1,
    };
    let measured = appends_repeated(lab, backend, args, &hot, false).await?;
    if let Some(spread) = spread_16 {
        println!(
            "  ratio hot project/{} projects at 16 clients: {:.2} (target >= 0.5){}",
            args.projects.max(16),
            measured / spread,
            if args.repeat > 1 {
                ", of the medians"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// What one run of a shape measured: Coprod's appends/s and its ratios to the baselines.
struct AppendRun {
    per_second: f64,
    to_single_row: f64,
    to_batches: f64,
    p99_ms: f64,
}

/// Runs a shape `--repeat` times (bare HTTP on the first only, if asked); with more than one
/// run, prints the median and range of each figure. Returns the median appends/s.
async fn appends_repeated(
    lab: &Lab,
    backend: Backend,
    args: &Args,
    shape: &Shape,
    over_bare_http: bool,
) -> Outcome<f64> {
    let mut runs = Vec::new();
    for run in 0..args.repeat.max(1) {
        runs.push(appends_run(lab, backend, args, shape, over_bare_http && run == 0).await?);
    }
    let per_second = median_and_range(runs.iter().map(|r| r.per_second));
    if runs.len() > 1 {
        println!();
        println!(
            "  over {} runs of {} clients on {} project(s), median (lowest–highest):",
            runs.len(),
            shape.clients,
            shape.projects
        );
        for (what, figure) in [
            ("appends/s", per_second),
            (
                "appends/raw single-row",
                median_and_range(runs.iter().map(|r| r.to_single_row)),
            ),
            (
                "appends/raw batches",
                median_and_range(runs.iter().map(|r| r.to_batches)),
            ),
            ("p99 (ms)", median_and_range(runs.iter().map(|r| r.p99_ms))),
        ] {
            let (median, lowest, highest) = figure;
            let digits = if median >= 100.0 { 0 } else { 2 };
            println!("    {what}: {median:.digits$} ({lowest:.digits$}–{highest:.digits$})");
        }
    }
    Ok(per_second.0)
}

/// The median (the lower middle of an even count), lowest and highest of `figures`.
fn median_and_range(figures: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut sorted: Vec<f64> = figures.collect();
    sorted.sort_unstable_by(f64::total_cmp);
    match (sorted.first(), sorted.last()) {
        (Some(&lowest), Some(&highest)) => (sorted[(sorted.len() - 1) / 2], lowest, highest),
        _ => (0.0, 0.0, 0.0),
    }
}

/// Runs Coprod and its two baselines on one shape; returns Coprod's appends/s.
async fn appends_run(
    lab: &Lab,
    backend: Backend,
    args: &Args,
    shape: &Shape,
    over_bare_http: bool,
) -> Outcome<AppendRun> {
    let &Shape { clients, projects } = shape;
    println!();
    println!(
        "## appends [{backend}]: {clients} clients, {projects} project{}, {} s (+{} s warm-up), \
         one participant_joined per request",
        if projects == 1 { "" } else { "s" },
        args.seconds,
        (args.seconds / 5).max(1)
    );
    let coprod = lab.scratch(backend, "appends").await?;
    let server = Arc::new(Server::start(&coprod).await?);
    let ids = {
        let mut registering = Vec::new();
        for client in 0..clients.min(projects) {
            let server = server.clone();
            let mine = (client..projects).step_by(clients).count();
            registering.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..mine {
                    let id = server.register(&format!("load {client}-{n}")).await?;
                    ids.push(id);
                }
                Outcome::Ok(ids)
            }));
        }
        let mut all = Vec::new();
        for task in registering {
            all.extend(task.await??);
        }
        all
    };
    // Client `c` posts to projects c, c + clients, ... (all of them to the one project when
    // there is one).
    let shares: Vec<Vec<usize>> = (0..clients)
        .map(|c| (c % projects..projects).step_by(clients).collect())
        .collect();
    let next_fact: Arc<Vec<AtomicUsize>> =
        Arc::new((0..projects).map(|_| AtomicUsize::new(0)).collect());
    let ids = Arc::new(ids);
    let warm_up = Duration::from_secs((args.seconds / 5).max(1));
    drive(&server, &ids, &shares, &next_fact, warm_up).await?;
    let raw_store = Raw::open(&coprod).await?;
    let from = max_position(&raw_store).await?;
    let groups_before = server.store.group_commits();
    let measured = drive(
        &server,
        &ids,
        &shares,
        &next_fact,
        Duration::from_secs(args.seconds),
    )
    .await?;
    let groups = group_sizes(&groups_before, &server.store.group_commits());
    let rows = stored_rows_after(&raw_store, from).await?;
    raw_store.close().await;
    Arc::try_unwrap(server)
        .map_err(|_| fail("the server is still in use"))?
        .stop()
        .await?;
    if rows.len() != measured.samples.len() {
        return Err(fail(format!(
            "{} appends acknowledged but {} rows stored",
            measured.samples.len(),
            rows.len()
        )));
    }
    // Baseline 1: the same rows, one INSERT (one durable commit) each, as many at once, each
    // inserter with a connection of its own on PostgreSQL (as `pgbench -c N` runs), and all
    // sharing one on SQLite, which writes one transaction at a time whatever the number of
    // connections: one connection was the fastest of 1, 8 and 16, without the busy waits
    // between connections.
    let baseline = lab.scratch(backend, "raw").await?;
    let raw_connections = match backend {
        Backend::Postgres => clients as u32,
        Backend::Sqlite => 1,
    };
    let raw = Raw::open_with(&baseline, raw_connections).await?;
    let inserted = insert_each(&raw, rows.clone(), clients).await?;
    raw.close().await;
    lab.remove(baseline).await?;
    // Baseline 2: the same rows in batches of the sizes Coprod's groups had, one transaction
    // (one durable commit) each, one after another as Coprod's committer writes them.
    let batched_db = lab.scratch(backend, "raw_batches").await?;
    let raw = Raw::open(&batched_db).await?;
    let batched = insert_batches(&raw, &rows, &groups).await?;
    raw.close().await;
    lab.remove(batched_db).await?;
    // The same rows again, each posted over HTTP to a bare handler that inserts it.
    let over_http = if over_bare_http {
        let behind_http = lab.scratch(backend, "raw_http").await?;
        let raw = Raw::open(&behind_http).await?;
        let over_http = insert_each_over_http(&raw, rows.clone(), clients).await?;
        raw.close().await;
        lab.remove(behind_http).await?;
        Some(over_http)
    } else {
        None
    };
    lab.remove(coprod).await?;
    let mean_group = rows.len() as f64 / groups.len().max(1) as f64;
    let largest = groups.iter().max().copied().unwrap_or(0);
    println!("  coprod appends (HTTP):  {}", measured.summary());
    println!(
        "  coprod's groups: {} commits, {mean_group:.1} entries each on average, largest {largest}",
        groups.len()
    );
    println!("  raw single-row inserts: {}", inserted.summary());
    println!(
        "  raw batches of coprod's group sizes (one writer): {} rows/s; per batch {}",
        format_args!("{:.0}", batched.rows_per_second),
        batched.latencies.summary()
    );
    let target = match backend {
        Backend::Postgres => 1.0,
        Backend::Sqlite => 2.0,
    };
    let run = AppendRun {
        per_second: measured.per_second(),
        to_single_row: measured.per_second() / inserted.per_second(),
        to_batches: measured.per_second() / batched.rows_per_second,
        p99_ms: measured.percentile(99.0).as_secs_f64() * 1e3,
    };
    println!(
        "  ratio appends/raw single-row: {:.2} (target >= {target:.1}); appends/raw batches: \
         {:.2} (target >= 0.5); p99 {:.2} ms (target < 25 ms)",
        run.to_single_row, run.to_batches, run.p99_ms
    );
    if let Some(over_http) = over_http {
        println!("  the same over bare HTTP: {}", over_http.summary());
        println!(
            "  ratio appends/bare HTTP inserts: {:.2}; bare HTTP inserts/raw: {:.2}",
            measured.per_second() / over_http.per_second(),
            over_http.per_second() / inserted.per_second()
        );
    }
    Ok(run)
}

/// The entries of each group Coprod committed between two counts (in no particular order).
fn group_sizes(before: &GroupCommits, after: &GroupCommits) -> Vec<usize> {
    let mut sizes = Vec::new();
    for (size, (b, a)) in before
        .entries_per_group
        .iter()
        .zip(&after.entries_per_group)
        .enumerate()
    {
        sizes.extend(std::iter::repeat_n(
            size.max(1),
            a.saturating_sub(*b) as usize,
        ));
    }
    sizes
}

/// Raw batches: rows inserted per second, and the latency of each batch.
struct Batched {
    rows_per_second: f64,
    latencies: Latencies,
}

/// Inserts `rows`, in order, in multi-row INSERTs of the sizes `groups` lists (taken in turn,
/// largest first, and again from the start if the rows outlast them), one after another, as
/// Coprod's committer writes its groups.
async fn insert_batches(raw: &Raw, rows: &[Row], groups: &[usize]) -> Outcome<Batched> {
    let mut sizes = groups.to_vec();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    if sizes.is_empty() {
        sizes.push(1);
    }
    let mut batches: Vec<&[Row]> = Vec::new();
    let mut rest = rows;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        batches.push(batch);
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(batches.len());
    for batch in batches {
        let begun = Instant::now();
        on_raw!(raw, |pool, Db| {
            // One statement: its own transaction, one durable commit.
            insert_rows!(Db, batch).build().execute(pool).await?;
        });
        latencies.push(begun.elapsed());
    }
    let elapsed = started.elapsed();
    Ok(Batched {
        rows_per_second: rows.len() as f64 / elapsed.as_secs_f64(),
        latencies: Latencies::new(latencies, elapsed),
    })
}

/// Every client posts facts to its share of the projects, in turn, for `period`, each over its
/// own keep-alive connection.
async fn drive(
    server: &Arc<Server>,
    ids: &Arc<Vec<String>>,
    shares: &[Vec<usize>],
    next_fact: &Arc<Vec<AtomicUsize>>,
    period: Duration,
) -> Outcome<Latencies> {
    let started = Instant::now();
    let deadline = started + period;
    let mut tasks = Vec::new();
    for mine in shares {
        let (server, ids, next_fact, mine) =
            (server.clone(), ids.clone(), next_fact.clone(), mine.clone());
        tasks.push(tokio::spawn(async move {
            let mut connection =
                HttpConnection::open(server.server.address, Some(&server.token)).await?;
            let paths: Vec<String> = mine
                .iter()
                .map(|&project| format!("/api/v1/projects/{}/events", ids[project]))
                .collect();
            let mut latencies = Vec::new();
            let mut turn = 0;
            while Instant::now() < deadline {
                let share = turn % mine.len();
                turn += 1;
                let n = next_fact[mine[share]].fetch_add(1, Ordering::Relaxed);
                let fact = joined_on(&format!("p{n}"), "carer", &["carers"], "2025-01-07");
                let begun = Instant::now();
                connection
                    .post(&paths[share], serde_json::to_vec(&fact)?, 201)
                    .await?;
                latencies.push(begun.elapsed());
            }
            Outcome::Ok(latencies)
        }));
    }
    gather(tasks, started).await
}

/// One keep-alive HTTP/1.1 connection, written to directly, as a load generator such as `wrk`
/// holds its connections: no pool, no URL parsing, no timers per request, so that the clients'
/// own work takes as little as it can of the cores the server runs on.
struct HttpConnection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<axum::body::Bytes>>,
    authorization: Option<String>,
}

impl HttpConnection {
    async fn open(address: std::net::SocketAddr, token: Option<&str>) -> Outcome<HttpConnection> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        // Ends when the sender is dropped.
        tokio::spawn(connection);
        Ok(HttpConnection {
            sender,
            authorization: token.map(|token| format!("Bearer {token}")),
        })
    }

    /// POSTs a JSON `body` to `path`; fails unless the answer's status is `expect`.
    async fn post(&mut self, path: &str, body: Vec<u8>, expect: u16) -> Outcome {
        use http_body_util::BodyExt;
        let mut request = axum::http::Request::post(path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(http_body_util::Full::new(axum::body::Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if status != expect {
            return Err(fail(format!(
                "POST {path}: {status} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(())
    }
}

/// The rows stored after `position`, in the order they were appended.
async fn stored_rows_after(raw: &Raw, position: i64) -> Outcome<Vec<Row>> {
    let sql = "SELECT aggregate_id, sequence, event_type, event_version, payload, metadata \
               FROM events WHERE position > $1 ORDER BY position";
    let rows: Vec<(String, i64, String, String, Value, Value)> = on_raw!(raw, |pool, Db| {
        sqlx::query_as(sql).bind(position).fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(aggregate_id, sequence, event_type, event_version, payload, metadata)| Row {
                aggregate_id,
                sequence,
                event_type,
                event_version,
                payload,
                metadata,
            },
        )
        .collect())
}

/// Inserts one row with one statement (its own transaction), as the raw baseline does.
async fn insert_row(raw: &Raw, row: &Row) -> Outcome {
    let sql = insert_sql();
    on_raw!(raw, |pool, Db| {
        sqlx::query(sql)
            .bind("project")
            .bind(&row.aggregate_id)
            .bind(row.sequence)
            .bind(&row.event_type)
            .bind(&row.event_version)
            .bind(&row.payload)
            .bind(&row.metadata)
            .execute(pool)
            .await?;
    });
    Ok(())
}

fn insert_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("{INSERT_EVENT} VALUES ($1, $2, $3, $4, $5, $6, $7)"))
}

/// The latencies every task measured, over the time since `started`.
async fn gather(
    tasks: Vec<JoinHandle<Outcome<Vec<Duration>>>>,
    started: Instant,
) -> Outcome<Latencies> {
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(Latencies::new(all, started.elapsed()))
}

/// Runs `work` on each of `rows`, in the order given, by `concurrency` tasks at once (`work` is
/// told which task runs it: from 0 below `concurrency`); the latency of each.
async fn each_row<F, Fut>(rows: Vec<Row>, concurrency: usize, work: F) -> Outcome<Latencies>
where
    F: Fn(Arc<Vec<Row>>, usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let rows = Arc::new(rows);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (rows, next, work) = (rows.clone(), next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= rows.len() {
                    break;
                }
                let begun = Instant::now();
                work(rows.clone(), i, task).await?;
                latencies.push(begun.elapsed());
            }
            Outcome::Ok(latencies)
        }));
    }
    gather(tasks, started).await
}

/// Inserts `rows` one per statement (each its own transaction), `concurrency` at a time, in
/// the order given.
async fn insert_each(raw: &Raw, rows: Vec<Row>, concurrency: usize) -> Outcome<Latencies> {
    let raw = raw.clone();
    each_row(rows, concurrency, move |rows, i, _| {
        let raw = raw.clone();
        async move { insert_row(&raw, &rows[i]).await }
    })
    .await
}

/// The least an append over HTTP could do: each row posted as JSON (by the same HTTP client)
/// to a bare axum handler that inserts it with one statement; no token, no checks, no chain,
/// no views. It shows how much of the gap to raw inserts is HTTP itself on this machine.
async fn insert_each_over_http(
    raw: &Raw,
    rows: Vec<Row>,
    concurrency: usize,
) -> Outcome<Latencies> {
    async fn insert_posted(
        axum::extract::State(raw): axum::extract::State<Raw>,
        axum::Json(row): axum::Json<Row>,
    ) -> Result<axum::http::StatusCode, (axum::http::StatusCode, String)> {
        let failed = |e: Failure| (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        insert_row(&raw, &row).await.map_err(failed)?;
        Ok(axum::http::StatusCode::CREATED)
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/rows", axum::routing::post(insert_posted))
        .with_state(raw.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    // One connection per client, as Coprod's clients have; each task uses its own.
    let mut connections = Vec::new();
    for _ in 0..concurrency {
        connections.push(tokio::sync::Mutex::new(
            HttpConnection::open(address, None).await?,
        ));
    }
    let connections = Arc::new(connections);
    let inserted = each_row(rows, concurrency, {
        let connections = connections.clone();
        move |rows, i, task| {
            let connections = connections.clone();
            async move {
                let body = serde_json::to_vec(&rows[i])?;
                connections[task]
                    .lock()
                    .await
                    .post("/rows", body, 201)
                    .await
            }
        }
    })
    .await;
    drop(connections);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .map_err(|_| fail("the bare server did not stop"))???;
    inserted
}

// ---------------------------------------------------------------------------------------------
// Scenario: replaying a 10,000-event project

async fn replay(lab: &Lab, backend: Backend, args: &Args) -> Outcome {
    const SIZE: usize = 10_000;
    println!(
        "## replay [{backend}]: GET /assessment of a {SIZE}-event project, {} times, one at a time",
        args.samples
    );
    let scratch = lab.scratch(backend, "replay").await?;
    let raw = Raw::open(&scratch).await?;
    let project = Uuid::new_v4();
    load_rows(&raw, &sample_rows(project, SIZE)).await?;
    let server = Server::start(&scratch).await?;
    let path = format!("/projects/{project}/assessment");
    let warm = time_each(5, || async { server.get(&path).await.map(drop) }).await?;
    drop(warm);
    let assessed = time_each(args.samples, || async { server.get(&path).await.map(drop) }).await?;
    let decoded = time_each(args.samples, || async {
        let events = server.store.recorded_events(project).await?;
        if events.len() != SIZE {
            return Err(fail(format!("read {} events", events.len())));
        }
        Ok(())
    })
    .await?;
    let sql = match backend {
        Backend::Postgres => {
            "SELECT aggregate_id, sequence, event_type, event_version, payload::text, \
             metadata::text FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
             ORDER BY sequence"
        }
        Backend::Sqlite => {
            "SELECT aggregate_id, sequence, event_type, event_version, payload, metadata \
             FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
        }
    };
    let id = project.to_string();
    let read = time_each(args.samples, || async {
        let rows: Vec<(String, i64, String, String, String, String)> =
            on_raw!(&raw, |pool, Db| sqlx::query_as(sql)
                .bind("project")
                .bind(&id)
                .fetch_all(pool)
                .await?);
        if rows.len() != SIZE {
            return Err(fail(format!("read {} rows", rows.len())));
        }
        Ok(())
    })
    .await?;
    let joined_read = match &raw {
        Raw::Sqlite(pool) => {
            let sql = "SELECT count(*), group_concat(payload || char(31) || metadata, char(30)) \
                       FROM (SELECT payload, metadata FROM events \
                       WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence)";
            let read = time_each(args.samples, || async {
                let (rows, joined): (i64, Option<String>) = sqlx::query_as(sql)
                    .bind("project")
                    .bind(&id)
                    .fetch_one(pool)
                    .await?;
                std::hint::black_box(joined);
                if rows as usize != SIZE {
                    return Err(fail(format!("read {rows} rows joined")));
                }
                Ok(())
            })
            .await?;
            Some(read)
        }
        Raw::Postgres(_) => None,
    };
    server.stop().await?;
    raw.close().await;
    lab.remove(scratch).await?;
    println!("  GET /assessment:               {}", assessed.summary());
    println!("  store: read and decode events: {}", decoded.summary());
    println!("  raw read of the rows:          {}", read.summary());
    println!(
        "  ratio assessment/raw read (p50): {:.2}",
        assessed.percentile(50.0).as_secs_f64() / read.percentile(50.0).as_secs_f64()
    );
    if let Some(joined) = joined_read {
        println!("  raw read, joined in one row:   {}", joined.summary());
        println!(
            "  ratio assessment/joined read (p50): {:.2}",
            assessed.percentile(50.0).as_secs_f64() / joined.percentile(50.0).as_secs_f64()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenario: append latency against stream length

async fn length(lab: &Lab, backend: Backend, args: &Args) -> Outcome {
    const LENGTHS: [usize; 3] = [1, 1_000, 10_000];
    println!(
        "## length [{backend}]: {} single appends, one at a time, to projects already \
         1, 1,000 and 10,000 entries long",
        args.samples
    );
    let scratch = lab.scratch(backend, "length").await?;
    let raw = Raw::open(&scratch).await?;
    let projects: Vec<Uuid> = LENGTHS.iter().map(|_| Uuid::new_v4()).collect();
    for (project, size) in projects.iter().zip(LENGTHS) {
        load_rows(&raw, &sample_rows(*project, size)).await?;
    }
    raw.close().await;
    let server = Server::start(&scratch).await?;
    let mut results = Vec::new();
    for (project, size) in projects.iter().zip(LENGTHS) {
        let project = project.to_string();
        // People join (even `n`: a 1-entry project has no stage for a workshop yet); the sample
        // project's people are p0..p59, so new people get other names.
        let n = AtomicUsize::new(1_000_000);
        let post = || async {
            let n = n.fetch_add(2, Ordering::Relaxed) as u64;
            server.post_fact(&project, n).await
        };
        // The first append in a process reads the whole stream; later ones only the new tail.
        let first = time_each(1, post).await?;
        let steady = time_each(args.samples, post).await?;
        results.push((size, first.percentile(50.0), steady));
    }
    server.stop().await?;
    lab.remove(scratch).await?;
    let flat = results[0].2.percentile(50.0).as_secs_f64();
    for (size, first, steady) in &results {
        println!(
            "  {size:>6} entries: first append {}; then {}; p50 ratio to 1 entry {:.2}",
            ms(*first),
            steady.summary(),
            steady.percentile(50.0).as_secs_f64() / flat
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenario: rebuilding the views from a million events

async fn rebuild(lab: &Lab, backend: Backend, args: &Args) -> Outcome {
    const PROJECT_SIZE: usize = 1_000;
    let projects = (args.rebuild_events / PROJECT_SIZE).max(1);
    let total = projects * PROJECT_SIZE;
    println!(
        "## rebuild [{backend}]: {total} events in {projects} projects of {PROJECT_SIZE}, \
         interleaved in the log"
    );
    let scratch = lab.scratch(backend, "rebuild").await?;
    let raw = Raw::open(&scratch).await?;
    let generating = Instant::now();
    generate_log(&raw, projects, PROJECT_SIZE).await?;
    println!(
        "  (generated in {:.1} s by bulk SQL)",
        generating.elapsed().as_secs_f64()
    );
    // Baseline: every row with its payload, by position, in the rebuild's batch size.
    let started = Instant::now();
    let read = read_all_by_position(&raw).await?;
    let raw_read = started.elapsed();
    if read != total {
        return Err(fail(format!("read {read} rows of {total}")));
    }
    let joined_read = match &raw {
        Raw::Sqlite(pool) => {
            let started = Instant::now();
            let read = sqlite_read_all_joined(pool).await?;
            if read != total {
                return Err(fail(format!("read {read} rows of {total} joined")));
            }
            Some(started.elapsed())
        }
        Raw::Postgres(_) => None,
    };
    raw.close().await;
    let store = Store::connect(&scratch.url).await?;
    store.unlock(MasterKey::generate()).await?;
    let started = Instant::now();
    let applied = store.rebuild_views(&|_, _| {}).await?;
    let rebuilt = started.elapsed();
    let views = store.list_views(None, None).await?.len();
    drop(store);
    lab.remove(scratch).await?;
    if applied as usize != total || views != projects {
        return Err(fail(format!(
            "rebuilt {views} views from {applied} events; expected {projects} from {total}"
        )));
    }
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "  coprod rebuild:            {:.1} s = {:.0} events/s (target >= 100,000)",
        rebuilt.as_secs_f64(),
        rate(rebuilt)
    );
    println!(
        "  raw read of every row:     {:.1} s = {:.0} events/s",
        raw_read.as_secs_f64(),
        rate(raw_read)
    );
    println!(
        "  ratio rebuild/raw read (throughput): {:.2}",
        rate(rebuilt) / rate(raw_read)
    );
    if let Some(joined_read) = joined_read {
        println!(
            "  raw read, joined {SQLITE_JOINED} rows to a row (as the store reads SQLite): \
             {:.1} s = {:.0} events/s; ratio rebuild/joined read: {:.2}",
            joined_read.as_secs_f64(),
            rate(joined_read),
            rate(rebuilt) / rate(joined_read)
        );
    }
    Ok(())
}

/// Rows SQLite baselines join into one text, as the store does when it reads entries.
const SQLITE_JOINED: i64 = 5_000;

/// Every row's payload and metadata by position, read thousands of rows to a row: the least a
/// read of the whole log can cost through sqlx on SQLite. Returns how many rows.
async fn sqlite_read_all_joined(pool: &SqlitePool) -> Outcome<usize> {
    let sql = "SELECT count(*), max(position), group_concat(payload || char(31) || metadata, \
               char(30)) FROM (SELECT position, payload, metadata FROM events \
               WHERE position > $1 ORDER BY position LIMIT $2)";
    let (mut after, mut count) = (0i64, 0usize);
    loop {
        let (rows, last, joined): (i64, Option<i64>, Option<String>) = sqlx::query_as(sql)
            .bind(after)
            .bind(SQLITE_JOINED)
            .fetch_one(pool)
            .await?;
        let Some(last) = last else { break };
        std::hint::black_box(joined);
        after = last;
        count += rows as usize;
    }
    Ok(count)
}

/// A log of `projects` sample projects of `size` entries: one chained template, then copies
/// under other ids made by the database itself, the projects' entries interleaved as when many
/// are recorded at once. The copies' digests are the template's (a rebuild does not check
/// chains; `verify` would report them).
async fn generate_log(raw: &Raw, projects: usize, size: usize) -> Outcome {
    let id = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    let template = id(0);
    load_rows(raw, &sample_rows(Uuid::parse_str(&template)?, size)).await?;
    // The template's rows come first; the copies follow in batches of 100 projects, each batch
    // ordered by sequence so that projects interleave. (SQLite numbers `?N` parameters; a `$N`
    // there would be a named one, numbered by first appearance.)
    for first in (1..projects).step_by(100) {
        let last = (first + 99).min(projects - 1);
        match raw {
            Raw::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                        event_version, payload, metadata) \
                     SELECT e.aggregate_type, c.id, e.sequence, e.event_type, e.event_version, \
                        CASE WHEN e.sequence = 1 \
                             THEN replace(e.payload::text, $1, c.id)::json \
                             ELSE e.payload END, \
                        e.metadata \
                     FROM events e, \
                        LATERAL (SELECT '00000000-0000-4000-8000-' || lpad(g::text, 12, '0') \
                                 AS id, g FROM generate_series($2::bigint, $3::bigint) g) c \
                     WHERE e.aggregate_id = $1 \
                     ORDER BY e.sequence, c.g",
                )
                .bind(&template)
                .bind(first as i64)
                .bind(last as i64)
                .execute(pool)
                .await?;
            }
            Raw::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                        event_version, payload, metadata) \
                     WITH RECURSIVE g(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM g WHERE i < ?3) \
                     SELECT e.aggregate_type, '00000000-0000-4000-8000-' || printf('%012d', g.i), \
                        e.sequence, e.event_type, e.event_version, \
                        CASE WHEN e.sequence = 1 \
                             THEN replace(e.payload, ?1, \
                                          '00000000-0000-4000-8000-' || printf('%012d', g.i)) \
                             ELSE e.payload END, \
                        e.metadata \
                     FROM events e, g \
                     WHERE e.aggregate_id = ?1 \
                     ORDER BY e.sequence, g.i",
                )
                .bind(&template)
                .bind(first as i64)
                .bind(last as i64)
                .execute(pool)
                .await?;
            }
        }
    }
    analyse(raw).await
}

/// Reads every row of the log with its payload and metadata, by position, 10,000 at a time (as
/// the rebuild reads positions); returns how many.
async fn read_all_by_position(raw: &Raw) -> Outcome<usize> {
    let sql = match raw {
        Raw::Postgres(_) => {
            "SELECT position, aggregate_id, sequence, event_type, event_version, payload::text, \
             metadata::text FROM events WHERE position > $1 ORDER BY position LIMIT 10000"
        }
        Raw::Sqlite(_) => {
            "SELECT position, aggregate_id, sequence, event_type, event_version, payload, \
             metadata FROM events WHERE position > $1 ORDER BY position LIMIT 10000"
        }
    };
    let mut after = 0i64;
    let mut count = 0;
    loop {
        let rows: Vec<(i64, String, i64, String, String, String, String)> =
            on_raw!(raw, |pool, Db| sqlx::query_as(sql)
                .bind(after)
                .fetch_all(pool)
                .await?);
        let Some(last) = rows.last() else { break };
        after = last.0;
        count += rows.len();
    }
    Ok(count)
}
