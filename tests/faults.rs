//! Fault tests: the real `coprod` binary, started as child processes on 127.0.0.1, under load
//! from concurrent clients, while a server is killed (SIGKILL) or stopped (SIGTERM), or while
//! PostgreSQL restarts, while appends are committed in groups (the kill and restart tests check
//! on a server's `/metrics` that groups held several appends). Clients treat a connection error,
//! a cut body or a 5xx as an unknown outcome and retry with the same `Idempotency-Key`. Afterwards the log must hold every
//! acknowledged write exactly once, where its receipt says, with no gap, no duplicate, no
//! half-written batch, an intact hash chain, and views equal to a rebuild (see
//! [`load::check_log`]).
//!
//! The PostgreSQL tests start a throwaway cluster of their own (they stop and start it), and are
//! skipped loudly when `initdb`/`pg_ctl` cannot be found, unless `COPROD_REQUIRE_POSTGRES=1`.
//! The tests run one at a time (they share two CPU cores with everything else); each takes
//! well under a minute.
//!
//! Run with `cargo test --test faults -- --nocapture` to see what the clients saw; with
//! `COPROD_FAULTS_KEEP=1` the servers' logs (and SQLite files) are kept.

#[path = "faults/cluster.rs"]
mod cluster;
#[path = "faults/idempotency.rs"]
mod idempotency;
#[path = "kit/mod.rs"]
mod kit;
#[path = "faults/load.rs"]
mod load;
#[path = "faults/server.rs"]
mod server;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::Cluster;
use load::{check_log, run_writers, until_acked, until_in_flight, Fact, Load, Outcome, Write};
use server::{create_token, free_port, Server};

/// One fault test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Projects under load in each test.
const PROJECTS: usize = 3;
/// Concurrent clients, and the single-event writes each settles one after another: enough
/// clients that each server's groups hold several appends even though a group on PostgreSQL
/// commits in one round trip.
const WRITERS: usize = 16;
const WRITES_EACH: usize = 13;
/// The fault strikes once this many writes are acknowledged (the kill tests strike twice).
const FAULT_AFTER: usize = 60;
const SECOND_FAULT_AFTER: usize = 130;
/// No write may take longer than this to settle (the test fails instead of hanging).
const SETTLE_WITHIN: Duration = Duration::from_secs(40);

/// Runs blocking work (a child process) without stalling the clients' tasks.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// A fresh database on an own throwaway cluster, with a recorder token; `None` (after saying
/// so) if PostgreSQL is not available.
async fn postgres(test: &str) -> Option<(Cluster, String, String)> {
    let Some(cluster) = blocking(Cluster::start) else {
        cluster::skip_or_fail(test);
        return None;
    };
    kit::note_backend(kit::Backend::Postgres);
    let database = cluster.create_database("coprod_faults").await;
    let token = blocking(|| create_token(&database, "recorder", "oxfordshire"));
    Some((cluster, database, token))
}

fn sqlite(dir: &tempfile::TempDir) -> (String, String) {
    kit::note_backend(kit::Backend::Sqlite);
    let database = format!("sqlite://{}", dir.path().join("data/coprod.db").display());
    // Only `migrate` and `serve` create a database.
    let migrated = blocking(|| server::coprod(&database, &["migrate"]));
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let token = blocking(|| create_token(&database, "recorder", "oxfordshire"));
    (database, token)
}

/// A directory for a test's SQLite file and server logs: removed afterwards, unless
/// `COPROD_FAULTS_KEEP=1` (then its path is printed).
fn work_dir() -> tempfile::TempDir {
    let mut dir = tempfile::Builder::new()
        .prefix("coprod-faults-")
        .tempdir()
        .expect("temporary directory");
    if std::env::var("COPROD_FAULTS_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("keeping {}", dir.path().display());
        dir.disable_cleanup(true);
    }
    dir
}

/// Every 5xx the clients saw was a proper 503, and `expected` holds of what they saw.
fn assert_seen(load: &Load, expected: impl Fn(&load::Seen) -> bool, otherwise: &str) {
    let seen = load.seen.lock().unwrap();
    assert!(
        seen.bad_5xx.is_empty(),
        "improper 5xx answers: {:?}",
        seen.bad_5xx
    );
    assert!(expected(&seen), "{otherwise}: {}", seen.summary());
}

/// No server panicked (a panic in a handler is caught and answered 500, so look in the log).
fn assert_no_panic(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(
        !text.contains("panicked"),
        "a server panicked; its log ({}):\n{}",
        log.display(),
        server::log_tail(log, 60)
    );
}

/// How many group commits a server has made since it started, and how many appends they held
/// (from its `/metrics`, read with an administrator's token of every organisation).
async fn group_commits(load: &Load, base: &str, admin: &str) -> (u64, u64) {
    let response = load
        .client
        .get(format!("{base}/metrics"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200, "GET /metrics");
    let text = response.text().await.expect("metrics");
    let total = |name: &str| -> u64 {
        text.lines()
            .filter(|line| line.starts_with(name))
            .filter_map(|line| line.split_whitespace().last()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    (
        total("coprod_group_commits_total"),
        total("coprod_group_appends_total"),
    )
}

/// The faults struck while appends were being committed in groups: some group of `server`
/// held more than one append.
async fn assert_grouped(load: &Load, base: &str, database: &str) {
    let admin = blocking(|| create_token(database, "admin", "*"));
    let (groups, appends) = group_commits(load, base, &admin).await;
    assert_some_group_held_several(base, groups, appends);
}

fn assert_some_group_held_several(base: &str, groups: u64, appends: u64) {
    eprintln!("{base}: {appends} appends in {groups} group commits");
    assert!(
        groups > 0 && appends > groups,
        "{base}: no group commit held more than one append ({appends} appends in {groups})"
    );
}

/// SIGKILL mid-load, once a request sent to `server` (the load's server `index`) is waiting for
/// its answer; then the same command again on the same port and database.
async fn kill_and_restart(load: &Load, index: usize, server: &mut Server) {
    until_in_flight(load, index, Duration::from_secs(5)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.start().await;
}

fn report(test: &str, started: Instant, load: &Load, entries: usize) {
    eprintln!(
        "[{test}] {:.1} s; {} writes settled, {} entries in the log; clients saw {}",
        started.elapsed().as_secs_f64(),
        load.settled.lock().unwrap().len(),
        entries,
        load.seen.lock().unwrap().summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_servers_one_killed_mid_load_lose_and_duplicate_nothing() {
    let _serial = SERIAL.lock().await;
    let test = "postgres_two_servers_one_killed";
    let started = Instant::now();
    let Some((_cluster, database, token)) = postgres(test).await else {
        return;
    };
    let logs = work_dir();
    let a = Server::spawn("A", &database, free_port(), &logs.path().join("a.log")).await;
    let mut b = Server::spawn("B", &database, free_port(), &logs.path().join("b.log")).await;
    let mut load = Load::new(token, vec![a.base.clone(), b.base.clone()], SETTLE_WITHIN);
    load.register_projects(PROJECTS).await;
    let load = Arc::new(load);

    let writers = tokio::spawn({
        let load = load.clone();
        async move { run_writers(&load, WRITERS, WRITES_EACH).await }
    });
    for after in [FAULT_AFTER, SECOND_FAULT_AFTER] {
        until_acked(&load, after, Duration::from_secs(20)).await;
        kill_and_restart(&load, 1, &mut b).await;
    }
    writers.await.expect("writers");

    assert_seen(
        &load,
        |seen| seen.after_connecting + seen.cut_bodies > 0,
        "the kills cut no request short: {}",
    );
    assert_no_panic(&logs.path().join("a.log"));
    assert_no_panic(&logs.path().join("b.log"));
    // Server A ran throughout: its groups were committing while B was killed.
    assert_grouped(&load, &a.base, &database).await;
    let entries = check_log(&load, &a.base, &database).await;
    assert_eq!(entries, PROJECTS * 2 + WRITERS * WRITES_EACH);
    report(test, started, &load, entries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_mid_load_gives_503_then_recovers_without_restarting_servers() {
    let _serial = SERIAL.lock().await;
    let test = "postgres_restarted_mid_load";
    let started = Instant::now();
    let Some((cluster, database, token)) = postgres(test).await else {
        return;
    };
    let logs = work_dir();
    let a = Server::spawn("A", &database, free_port(), &logs.path().join("a.log")).await;
    let b = Server::spawn("B", &database, free_port(), &logs.path().join("b.log")).await;
    let mut load = Load::new(token, vec![a.base.clone(), b.base.clone()], SETTLE_WITHIN);
    load.register_projects(PROJECTS).await;
    let load = Arc::new(load);

    let writers = tokio::spawn({
        let load = load.clone();
        async move { run_writers(&load, WRITERS, WRITES_EACH).await }
    });
    until_acked(&load, FAULT_AFTER, Duration::from_secs(20)).await;
    blocking(|| cluster.stop_fast());
    let down = Instant::now();

    // While PostgreSQL is down, both servers say they are not ready, as a proper 503.
    let probe = |name: &'static str, base: String| {
        let client = load.client.clone();
        async move {
            let resp = client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name}: /readyz while PostgreSQL is down: {e}"));
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.expect("readyz body");
            assert_eq!(status, 503, "{name}: /readyz while PostgreSQL is down");
            if let Some(wrong) = load::check_503(&headers, &body) {
                panic!("{name}: /readyz: {wrong}");
            }
        }
    };
    let (probe_a, probe_b) = (probe(a.name, a.base.clone()), probe(b.name, b.base.clone()));
    let probes = tokio::spawn(async move { tokio::join!(probe_a, probe_b) });
    // Down for about 2 s, and at least until a client has been told 503.
    while down.elapsed() < Duration::from_secs(2)
        || (load.seen.lock().unwrap().proper_503 == 0 && down.elapsed() < Duration::from_secs(8))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probes.await.expect("/readyz while PostgreSQL was down");
    let downtime = down.elapsed();
    blocking(|| cluster.start_server());

    // The same server processes recover by themselves.
    let mut recovered = Vec::new();
    for server in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ready = load
                .client
                .get(format!("{}/readyz", server.base))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not recover after PostgreSQL came back:\n{}",
                server.name,
                server.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        recovered.push(down.elapsed());
    }
    writers.await.expect("writers");

    assert_seen(
        &load,
        |seen| seen.proper_503 > 0,
        "no client was told 503 while PostgreSQL was down: {}",
    );
    assert_no_panic(&logs.path().join("a.log"));
    assert_no_panic(&logs.path().join("b.log"));
    // Neither server restarted: groups were in flight when PostgreSQL went down.
    assert_grouped(&load, &a.base, &database).await;
    assert_grouped(&load, &b.base, &database).await;
    let entries = check_log(&load, &a.base, &database).await;
    assert_eq!(entries, PROJECTS * 2 + WRITERS * WRITES_EACH);
    eprintln!(
        "[{test}] PostgreSQL down for {downtime:?}; servers ready again {recovered:?} after it \
         went down"
    );
    report(test, started, &load, entries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_server_killed_mid_load_and_restarted_loses_and_duplicates_nothing() {
    let _serial = SERIAL.lock().await;
    let test = "sqlite_server_killed";
    let started = Instant::now();
    let dir = work_dir();
    let (database, token) = sqlite(&dir);
    let log = dir.path().join("server.log");
    let mut server = Server::spawn("S", &database, free_port(), &log).await;
    let mut load = Load::new(token, vec![server.base.clone()], SETTLE_WITHIN);
    load.register_projects(PROJECTS).await;
    let load = Arc::new(load);

    let writers = tokio::spawn({
        let load = load.clone();
        async move { run_writers(&load, WRITERS, WRITES_EACH).await }
    });
    // A server's group counts start again with each life: add them up over its lives.
    let admin = blocking(|| create_token(&database, "admin", "*"));
    let (mut groups, mut appends) = (0, 0);
    for after in [FAULT_AFTER, SECOND_FAULT_AFTER] {
        until_acked(&load, after, Duration::from_secs(20)).await;
        let (g, a) = group_commits(&load, &server.base, &admin).await;
        (groups, appends) = (groups + g, appends + a);
        kill_and_restart(&load, 0, &mut server).await;
    }
    writers.await.expect("writers");
    let (g, a) = group_commits(&load, &server.base, &admin).await;
    (groups, appends) = (groups + g, appends + a);

    assert_seen(
        &load,
        |seen| seen.after_connecting + seen.cut_bodies > 0,
        "the kills cut no request short: {}",
    );
    assert_no_panic(&log);
    // The server committed in groups. One life alone (some sixty appends from eight writers
    // to one SQLite file) may hold no group of two.
    assert_some_group_held_several(&server.base, groups, appends);
    let entries = check_log(&load, &server.base, &database).await;
    assert_eq!(entries, PROJECTS * 2 + WRITERS * WRITES_EACH);
    report(test, started, &load, entries);
}

/// 20 clients post 3-event batches; SIGTERM arrives mid-load. Every answer that arrives is
/// complete; the process exits 0 within a few seconds; no batch is half there.
async fn graceful_shutdown(test: &str, database: &str, token: String, log: &std::path::Path) {
    const CLIENTS: usize = 20;
    const BATCHES_EACH: usize = 10;
    let started = Instant::now();
    let port = free_port();
    let mut server = Server::spawn("S", database, port, log).await;
    let mut load = Load::new(token, vec![server.base.clone()], SETTLE_WITHIN);
    load.register_projects(PROJECTS).await;
    let load = Arc::new(load);
    let terminated = Arc::new(AtomicBool::new(false));
    let after_term = Arc::new(AtomicUsize::new(0));

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (load, terminated, after_term) = (load.clone(), terminated.clone(), after_term.clone());
        clients.push(tokio::spawn(async move {
            for i in 0..BATCHES_EACH {
                let facts = (0..3)
                    .map(|k| Fact::Joined(format!("g{c}-{i}-{k}")))
                    .collect();
                let write = Write::new((c + i) % PROJECTS, facts);
                let project = &load.projects[write.project];
                let body = write.body(&project.payee);
                let sent = load
                    .client
                    .post(format!(
                        "{}/api/v1/projects/{}/events",
                        load.servers[0], project.id
                    ))
                    .bearer_auth(&load.token)
                    .header("Idempotency-Key", &write.key)
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = sent else {
                    // No answer: refused or reset once the server stopped listening.
                    load.seen.lock().unwrap().connection_errors += 1;
                    load.settled.lock().unwrap().push((write, Outcome::Unknown));
                    break;
                };
                let status = response.status();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let bytes = response
                    .bytes()
                    .await
                    .unwrap_or_else(|e| panic!("client {c}: a {status} answer was cut short: {e}"));
                if terminated.load(Ordering::SeqCst) {
                    after_term.fetch_add(1, Ordering::SeqCst);
                }
                *load
                    .seen
                    .lock()
                    .unwrap()
                    .statuses
                    .entry(status.as_u16())
                    .or_default() += 1;
                assert!(
                    status.is_success() || status.is_client_error(),
                    "client {c}: {status} during shutdown: {}",
                    String::from_utf8_lossy(&bytes)
                );
                assert!(
                    content_type.contains("json"),
                    "client {c}: {status} with content-type {content_type:?}"
                );
                let answer: serde_json::Value =
                    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        panic!(
                            "client {c}: a {status} body is not whole JSON ({e}): {}",
                            String::from_utf8_lossy(&bytes)
                        )
                    });
                let outcome = if status == 201 {
                    Outcome::Acked(load::receipt(&answer))
                } else {
                    Outcome::Unknown
                };
                load.settled.lock().unwrap().push((write, outcome));
            }
        }));
    }
    until_acked(&load, CLIENTS, Duration::from_secs(20)).await;
    terminated.store(true, Ordering::SeqCst);
    let term_at = Instant::now();
    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(10)).await;
    let took = term_at.elapsed();
    for client in clients {
        client.await.expect("a client failed");
    }
    let status = exit.unwrap_or_else(|| {
        panic!(
            "[{test}] the server did not exit within 10 s of SIGTERM:\n{}",
            server::log_tail(log, 40)
        )
    });
    assert!(
        status.success(),
        "[{test}] the server exited with {status} after SIGTERM:\n{}",
        server::log_tail(log, 40)
    );
    assert!(
        took < Duration::from_secs(5),
        "[{test}] exiting took {took:?}"
    );
    assert!(
        after_term.load(Ordering::SeqCst) > 0,
        "[{test}] no request was in flight at SIGTERM: the test proved nothing"
    );
    assert_no_panic(log);
    let log_text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(
        log_text.contains("coprod stopped"),
        "[{test}] the server did not stop by its graceful path:\n{}",
        server::log_tail(log, 40)
    );

    // Look at the log through a fresh server on the same database.
    server.start().await;
    let entries = check_log(&load, &server.base, database).await;
    eprintln!(
        "[{test}] exited 0 {took:?} after SIGTERM; {} answers arrived after it",
        after_term.load(Ordering::SeqCst)
    );
    report(test, started, &load, entries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sigterm_finishes_requests_in_flight_and_exits_zero() {
    let _serial = SERIAL.lock().await;
    let dir = work_dir();
    let (database, token) = sqlite(&dir);
    let log = dir.path().join("server.log");
    graceful_shutdown("sqlite_sigterm", &database, token, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sigterm_finishes_requests_in_flight_and_exits_zero() {
    let _serial = SERIAL.lock().await;
    let test = "postgres_sigterm";
    let Some((_cluster, database, token)) = postgres(test).await else {
        return;
    };
    let dir = work_dir();
    let log = dir.path().join("server.log");
    graceful_shutdown(test, &database, token, &log).await;
}

/// `serve --worker-threads 1` runs every request on one thread (the group committer has its
/// own): under sixteen concurrent writers it still answers each, commits in groups, and keeps
/// the log whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_worker_thread_serves_concurrent_writers() {
    let _serial = SERIAL.lock().await;
    let test = "one_worker_thread";
    let started = Instant::now();
    let dir = work_dir();
    let (database, token) = sqlite(&dir);
    let log = dir.path().join("server.log");
    let server = Server::spawn_with(
        "S",
        &database,
        free_port(),
        &log,
        &["--worker-threads", "1"],
    )
    .await;
    let listening = std::fs::read_to_string(&log).expect("the server's log");
    assert!(
        listening
            .lines()
            .any(|line| line.contains("coprod is listening") && line.contains("worker_threads=1")),
        "the runtime has one worker thread: {listening}"
    );
    let mut load = Load::new(token, vec![server.base.clone()], SETTLE_WITHIN);
    load.register_projects(PROJECTS).await;
    let load = Arc::new(load);
    run_writers(&load, WRITERS, WRITES_EACH).await;
    assert_no_panic(&log);
    assert_grouped(&load, &server.base, &database).await;
    let entries = check_log(&load, &server.base, &database).await;
    assert_eq!(entries, PROJECTS * 2 + WRITERS * WRITES_EACH);
    report(test, started, &load, entries);
}
