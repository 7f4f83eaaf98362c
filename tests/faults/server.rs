//! The real `coprod` binary as child processes: `coprod serve` on a fixed port of 127.0.0.1
//! (so that it can be killed and started again on the same address), and one-shot commands.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_coprod");

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address").port()
}

/// Runs `coprod --database URL ARGS…` to completion.
pub fn coprod(database: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("COPROD_MASTER_KEY", crate::kit::TEST_MASTER_KEY)
        .stdin(Stdio::null())
        .output()
        .expect("run coprod")
}

/// `coprod token create --role ROLE --org ORG`: the token it prints.
pub fn create_token(database: &str, role: &str, org: &str) -> String {
    let output = coprod(database, &["token", "create", "--role", role, "--org", org]);
    assert!(
        output.status.success(),
        "coprod token create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("token is text")
        .trim()
        .to_string()
}

/// `coprod rebuild`: drops the views and rebuilds them from the log.
pub fn rebuild(database: &str) {
    let output = coprod(database, &["rebuild"]);
    assert!(
        output.status.success(),
        "coprod rebuild failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `coprod verify` (every project): whether it exits 0, and what it printed.
pub fn verify_all(database: &str) -> (bool, String) {
    let output = coprod(database, &["verify"]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// One `coprod serve` process (started again by [`Server::start`] after a kill).
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    pub base: String,
    database: String,
    log: PathBuf,
    child: Option<Child>,
    /// Further words after `serve --listen …`.
    serve_args: Vec<String>,
}

impl Server {
    /// Starts `coprod serve` on `port` over `database`, its output appended to `log`; waits
    /// until `/readyz` answers 200.
    pub async fn spawn(name: &'static str, database: &str, port: u16, log: &Path) -> Server {
        Server::spawn_with(name, database, port, log, &[]).await
    }

    /// [`Server::spawn`] with further words for `coprod serve` (`--read-database URL`, say).
    pub async fn spawn_with(
        name: &'static str,
        database: &str,
        port: u16,
        log: &Path,
        serve_args: &[&str],
    ) -> Server {
        let mut server = Server {
            name,
            port,
            base: format!("http://127.0.0.1:{port}"),
            database: database.to_string(),
            log: log.to_path_buf(),
            child: None,
            serve_args: serve_args.iter().map(|word| word.to_string()).collect(),
        };
        server.start().await;
        server
    }

    /// Starts the process (again), on the same port and database; waits until it is ready.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the server log");
        let child = Command::new(BIN)
            .arg("--database")
            .arg(&self.database)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.serve_args)
            .env_remove("DATABASE_URL")
            .env("COPROD_MASTER_KEY", crate::kit::TEST_MASTER_KEY)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start coprod serve");
        watchdog(child.id());
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(20)).await;
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&mut self, within: Duration) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + within;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    panic!(
                        "{} exited ({status}) before it was ready:\n{}",
                        self.name,
                        self.log_tail()
                    );
                }
            }
            let ready = client.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within {within:?}:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the process dies at once, mid-request, with no chance to clean up.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap the killed server");
    }

    /// Sends SIGTERM (graceful shutdown); [`Server::wait_exit`] collects the status.
    pub fn terminate(&self) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `within` for the process to exit; `None` if it did not (it is then killed).
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let mut child = self.child.take().expect("the server is running");
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 40)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `sh -c script` in a session of its own (`setsid`, when there is one), so that it outlives
/// a signal sent to this test's whole process group (as `timeout` sends).
pub fn detached_shell(script: &str) -> Command {
    let mut command = if Path::new("/usr/bin/setsid").is_file() {
        let mut command = Command::new("/usr/bin/setsid");
        command.arg("sh");
        command
    } else {
        Command::new("sh")
    };
    command
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Kills server `pid` if this test process dies first (so that no server outlives the tests);
/// gives up as soon as the server itself is gone.
fn watchdog(pid: u32) {
    let script = format!(
        "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         kill -0 {me} 2>/dev/null || kill -9 {pid} 2>/dev/null",
        me = std::process::id()
    );
    let _ = detached_shell(&script).spawn();
}
