//! A throwaway PostgreSQL cluster of this test's own, which it may stop and start again at will
//! (never the shared server on 127.0.0.1:5432: other tests use it at the same time).
//!
//! `initdb` and `pg_ctl` are looked up on PATH, then in Debian's `/usr/lib/postgresql/*/bin`.
//! When we run as root, they run as the `postgres` user (the server refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::kit::db::{is_root, INITDB_OPTIONS};
use crate::server::detached_shell;

/// One cluster in a temporary directory, on a fixed port of 127.0.0.1; stopped (immediately)
/// and removed when dropped, or when the test process exits (a watchdog shell sees to that).
pub struct Cluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// Says loudly that the PostgreSQL fault tests cannot run here; fails instead when
/// `COPROD_REQUIRE_POSTGRES=1` (as CI sets it).
pub fn skip_or_fail(test: &str) {
    let why = format!(
        "PostgreSQL fault test '{test}' SKIPPED: initdb and pg_ctl are not on PATH \
         (nor in /usr/lib/postgresql/*/bin)"
    );
    if std::env::var("COPROD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("{why} (COPROD_REQUIRE_POSTGRES=1)");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {why} !!!!!!!!\n");
}

/// The directory holding both `initdb` and `pg_ctl` (and PostgreSQL's other tools: `pg_dump`,
/// `pg_restore`, `pg_basebackup`), if there is one.
pub fn postgres_bin() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(paths) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&paths).find(|dir| has_both(dir)) {
            // Where `initdb` really lives (PATH may hold a link to it), beside the other tools.
            return std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
                .filter(|real| has_both(real))
                .or(Some(dir));
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|dir| has_both(dir))
        .collect();
    versions.sort();
    versions.pop()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address").port()
}

impl Cluster {
    /// Initialises and starts a cluster; `None` if `initdb`/`pg_ctl` cannot be found.
    pub fn start() -> Option<Cluster> {
        let bin = postgres_bin()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("coprod-faults-pg-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        let cluster = Cluster {
            port: free_port(),
            dir,
            bin,
            as_postgres,
        };
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&cluster.dir)
                .status()
                .expect("chown");
            assert!(chown.success(), "cannot hand {:?} to postgres", cluster.dir);
        }
        cluster.watchdog();
        let data = cluster.data();
        let init = cluster
            .tool("initdb", &[&["-D", &data], INITDB_OPTIONS].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(init.success(), "initdb failed in {data}");
        cluster.start_server();
        Some(cluster)
    }

    /// A hot standby of `primary`: `pg_basebackup -R` (which writes `standby.signal` and the
    /// `primary_conninfo` to stream from) into a directory of its own, started on a port of its
    /// own. The primary's `pg_hba.conf`, made by `initdb --auth=trust`, lets 127.0.0.1 replicate.
    #[allow(dead_code)] // Used by tests/replica.rs, not by every test binary including this file.
    pub fn replica_of(primary: &Cluster) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("coprod-replica-pg-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        let replica = Cluster {
            port: free_port(),
            dir,
            bin: primary.bin.clone(),
            as_postgres: primary.as_postgres,
        };
        if replica.as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&replica.dir)
                .status()
                .expect("chown");
            assert!(chown.success(), "cannot hand {:?} to postgres", replica.dir);
        }
        replica.watchdog();
        let data = replica.data();
        let port = primary.port.to_string();
        let copied = replica
            .tool(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-D",
                    &data,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ],
            )
            .stdin(Stdio::null())
            .output()
            .expect("run pg_basebackup");
        assert!(
            copied.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&copied.stderr)
        );
        replica.start_server();
        replica
    }

    /// `postgres://…` for a database on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database on the cluster; returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the throwaway cluster");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        self.url(name)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn log(&self) -> String {
        self.dir.join("server.log").display().to_string()
    }

    /// The tail of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn tool(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(args);
            command
        } else {
            let mut command = Command::new(program);
            command.args(args);
            command
        }
    }

    /// Starts the server (again) on the same port and data directory; waits until it accepts
    /// connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let (data, log) = (self.data(), self.log());
        let status = self
            .tool(
                "pg_ctl",
                &[
                    "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "30", "start",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run pg_ctl start");
        assert!(
            status.success(),
            "pg_ctl start failed:\n{}",
            self.log_tail()
        );
    }

    /// `pg_ctl -m fast stop`: disconnects every client, rolls back open transactions, shuts
    /// down cleanly; waits until it is down.
    pub fn stop_fast(&self) {
        let data = self.data();
        let status = self
            .tool(
                "pg_ctl",
                &["-D", &data, "-m", "fast", "-w", "-t", "30", "stop"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run pg_ctl stop");
        assert!(status.success(), "pg_ctl stop failed:\n{}", self.log_tail());
    }

    /// Stops the cluster and removes its directory once this test process has exited, even if
    /// it is killed.
    fn watchdog(&self) {
        let stop = format!(
            "{} '{}' -D '{}' -m immediate stop",
            if self.as_postgres {
                "runuser -u postgres --"
            } else {
                ""
            },
            self.bin.join("pg_ctl").display(),
            self.data()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.display()
        );
        let _ = detached_shell(&script).spawn();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .tool("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(50));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
