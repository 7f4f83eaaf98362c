//! A fresh, migrated database of each backend, for the integration tests and the benchmarks.
//!
//! - SQLite: a file in a temporary directory, removed afterwards.
//! - PostgreSQL: a new database `coprod_test_<random>` created on the server named by
//!   `DATABASE_URL` (when it is a `postgres://` URL) and dropped afterwards. Without
//!   `DATABASE_URL`, a throwaway cluster is started with `initdb`/`pg_ctl` when they are on PATH
//!   (stopped and removed when the test process exits). Otherwise the PostgreSQL half of each test
//!   is skipped with a loud message — unless `COPROD_REQUIRE_POSTGRES=1`, which makes it a failure.
//!
//! Use: `for db in kit::backends().await { let store = db.store().await; … }`, or, for a test
//! that needs a server, `kit::each_backend` (which also stops the server and drops the database
//! when the test fails).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use coprod::clock::Clock;
use coprod::store::Store;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The master key every test database and test server uses (`COPROD_MASTER_KEY`), unless a
/// test is about keys.
pub const TEST_MASTER_KEY: &str =
    "5f0c3a9e1b7d2468ace013579bdf2468ace013579bdf2468ace013579bdf2468";

pub fn test_master_key() -> coprod::store::MasterKey {
    coprod::store::MasterKey::parse(TEST_MASTER_KEY).expect("a valid test key")
}

/// A fresh database; dropped (PostgreSQL) or deleted (SQLite) when this value is dropped.
pub struct TestDb {
    pub backend: Backend,
    /// The URL to give `Store::connect` or `coprod --database`.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl TestDb {
    /// A connected store with the migrations applied and the test master key given.
    pub async fn store(&self) -> Store {
        self.store_with_clock(Clock::system()).await
    }

    /// [`TestDb::store`] on `clock`: the instant its entries are stamped with, and the "now" of
    /// a server over it.
    pub async fn store_with_clock(&self, clock: Clock) -> Store {
        let store = Store::connect_with_clock(&self.url, clock)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        store.migrate().await.expect("migrate");
        store
            .unlock(test_master_key())
            .await
            .expect("the test master key");
        store
    }

    /// Another store on this (already migrated) database, with the test master key, as a
    /// second server process would have.
    pub async fn connect(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        store
            .unlock(test_master_key())
            .await
            .expect("the test master key");
        store
    }

    /// The SQLite database directory, if this is SQLite.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::Dir(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDb({}, {})", self.backend, self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { server_url, name } = &self.cleanup {
            let (server_url, name) = (server_url.clone(), name.clone());
            // Drop may run inside a runtime: do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&server_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// SQLite always; PostgreSQL when a server is available (see the module documentation).
pub async fn backends() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres().await);
    dbs
}

/// Notes which test used which backend in the file named by `COPROD_BACKEND_LOG`, if set, so
/// that CI can say how many tests really ran against PostgreSQL. Called by [`sqlite`] and
/// [`postgres`], and by the tests that make their databases themselves.
pub fn note_backend(backend: Backend) {
    let Ok(path) = std::env::var("COPROD_BACKEND_LOG") else {
        return;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed");
    let line = format!("{backend}\t{test}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
    if let Err(error) = written {
        eprintln!("cannot note the backend in {path}: {error}");
    }
}

/// A fresh SQLite database file in a temporary directory.
pub fn sqlite() -> TestDb {
    note_backend(Backend::Sqlite);
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}",
        dir.path().join("data").join("coprod.db").display()
    );
    TestDb {
        backend: Backend::Sqlite,
        url,
        cleanup: Cleanup::Dir(dir),
    }
}

/// A fresh PostgreSQL database, or `None` (after saying so loudly) if no server is available.
pub async fn postgres() -> Option<TestDb> {
    let Some(server_url) = postgres_server() else {
        let why = "PostgreSQL tests: skipped (SQLite only): set DATABASE_URL=postgres://… or put initdb and \
                   pg_ctl on PATH";
        if std::env::var("COPROD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("{why} (COPROD_REQUIRE_POSTGRES=1)");
        }
        // Straight to the process's stderr (not the test's captured output), once per process.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {why} !!!!!!!!\n");
        });
        return None;
    };
    // Said once per test binary, so that `cargo test`'s output shows what the tests ran against.
    static RUNNING: std::sync::Once = std::sync::Once::new();
    RUNNING.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL tests: running against {}",
            without_password(&server_url)
        );
    });
    note_backend(Backend::Postgres);
    let name = format!("coprod_test_{}", random_hex(8));
    let mut conn = sqlx::PgConnection::connect(&server_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {server_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    conn.close().await.ok();
    Some(TestDb {
        backend: Backend::Postgres,
        url: with_database(&server_url, &name),
        cleanup: Cleanup::Postgres { server_url, name },
    })
}

/// `url` with any password replaced by `***`, fit to print.
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let host_start = rest.find('@');
    match host_start.and_then(|at| rest[..at].find(':').map(|colon| (colon, at))) {
        Some((colon, at)) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The URL of a PostgreSQL server to create test databases on, found once per test process.
fn postgres_server() -> Option<String> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(url)
            }
            _ => start_throwaway_cluster(),
        })
        .clone()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Whether this process runs as root (PostgreSQL's tools then run as the `postgres` user).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server refuses root).
fn pg_tool(as_postgres: bool, program: &str, args: &[&str]) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// How `initdb` makes a throwaway cluster (after `-D <data directory>`): the superuser
/// `postgres`, trusted, UTF-8, and no waiting for the disk.
pub const INITDB_OPTIONS: &[&str] = &["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"];

/// Runs a PostgreSQL tool with its output discarded; whether it ran and succeeded.
fn pg_tool_succeeds(as_postgres: bool, program: &str, args: &[&str]) -> bool {
    pg_tool(as_postgres, program, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn start_throwaway_cluster() -> Option<String> {
    if !on_path("initdb") || !on_path("pg_ctl") {
        return None;
    }
    let as_postgres = is_root();
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("coprod-pg-")
        .tempdir()
        .ok()?
        .keep();
    let data = dir.join("data");
    let log = dir.join("server.log");
    let (dir_s, data_s, log_s) = (
        dir.display().to_string(),
        data.display().to_string(),
        log.display().to_string(),
    );
    if as_postgres {
        let chown = Command::new("chown")
            .args(["-R", "postgres", &dir_s])
            .status()
            .ok()?;
        if !chown.success() {
            eprintln!("cannot hand {dir_s} to the postgres user");
            return None;
        }
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
        listener.local_addr().ok()?.port()
    };
    let initdb_args = [&["-D", &data_s], INITDB_OPTIONS].concat();
    if !pg_tool_succeeds(as_postgres, "initdb", &initdb_args) {
        eprintln!("initdb failed in {data_s}");
        return None;
    }
    let options = format!(
        "-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    );
    let start_args = ["-D", &data_s, "-o", &options, "-l", &log_s, "-w", "start"];
    if !pg_tool_succeeds(as_postgres, "pg_ctl", &start_args) {
        eprintln!("pg_ctl start failed; see {log_s}");
        return None;
    }
    // Stop and remove the cluster once this test process has exited.
    let stop = if as_postgres {
        format!("runuser -u postgres -- pg_ctl -D '{data_s}' -m immediate stop")
    } else {
        format!("pg_ctl -D '{data_s}' -m immediate stop")
    };
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir_s}'",
        pid = std::process::id()
    );
    let _ = Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    std::thread::sleep(Duration::from_millis(100));
    eprintln!("started a throwaway PostgreSQL cluster on port {port} in {dir_s}");
    Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
