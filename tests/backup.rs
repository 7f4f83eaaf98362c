//! Backup → restore → verify on both stores, against the real parts: `coprod serve` as a child
//! process taking writes while the backup is made, then `coprod verify` on the restored copy.
//!
//! - SQLite: `coprod backup FILE` while a client keeps appending; the file copied elsewhere is
//!   the restore.
//! - PostgreSQL: `pg_dump -Fc` of a throwaway cluster's database while a client keeps appending,
//!   `pg_restore` into a fresh database, as docs/operations.md says. Skipped loudly when the
//!   PostgreSQL tools cannot be found, unless `COPROD_REQUIRE_POSTGRES=1`.
//!
//! Also the backups that must be refused, each writing nothing.

#[path = "faults/cluster.rs"]
#[allow(dead_code)]
mod cluster;
#[path = "kit/mod.rs"]
mod kit;
#[path = "faults/server.rs"]
#[allow(dead_code)]
mod server;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use cluster::Cluster;
use kit::facts::{joined, registration, stage_started};
use server::{coprod, create_token, free_port, Server};

/// Notes the backend a test used, for CI's count (as tests/kit does).
fn note_backend(backend: &str) {
    let Ok(path) = std::env::var("COPROD_BACKEND_LOG") else {
        return;
    };
    let thread = std::thread::current();
    let line = format!(
        "{backend}\tbackup::{}\n",
        thread.name().unwrap_or("unnamed")
    );
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
}

fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Projects, entries and a sealed assessment recorded through `server`; returns the projects.
async fn record_some(base: &str, recorder: &str, assurance: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let post = |path: String, token: &str, body: Value| {
        let request = client
            .post(format!("{base}/api/v1{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status();
            let answer: Value = response.json().await.expect("JSON");
            assert_eq!(status, 201, "POST {path}: {answer}");
            answer
        }
    };
    let mut projects = Vec::new();
    for title in ["Carers' strategy refresh", "Day services review"] {
        let receipt = post(
            "/projects".into(),
            recorder,
            registration(title, "oxfordshire"),
        )
        .await;
        let id = receipt["project_id"].as_str().expect("id").to_string();
        post(
            format!("/projects/{id}/events"),
            recorder,
            joined("carer-01", "carer", &["carers"]),
        )
        .await;
        post(
            format!("/projects/{id}/events"),
            recorder,
            stage_started("commission"),
        )
        .await;
        post(
            format!("/projects/{id}/assessments"),
            assurance,
            json!({"purpose": "Adults scrutiny panel 2025-03-04"}),
        )
        .await;
        projects.push(id);
    }
    projects
}

/// Appends to `project` until `stop` is set; counts the acknowledged appends.
fn keep_appending(
    base: String,
    recorder: String,
    project: String,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let response = client
                .post(format!("{base}/api/v1/projects/{project}/events"))
                .bearer_auth(&recorder)
                .json(&joined(&format!("carer-{n:03}"), "carer", &["carers"]))
                .send()
                .await
                .expect("an answer");
            assert_eq!(
                response.status(),
                201,
                "{}",
                response.text().await.unwrap_or_default()
            );
            acknowledged.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// `coprod verify` of every project in `database`: exit 0, each project's chain OK and each
/// seal OK.
fn assert_verifies(database: &str, projects: &[String]) {
    let output = coprod(database, &["verify"]);
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", said(&output));
    for id in projects {
        assert!(
            printed
                .lines()
                .any(|line| line.starts_with(&format!("{id} OK ("))),
            "{id}'s chain is not reported intact:\n{printed}"
        );
        assert!(
            printed
                .lines()
                .any(|line| line.starts_with(&format!("{id} seal at entry"))
                    && line.contains(": OK.")),
            "{id}'s seal is not reported holding:\n{printed}"
        );
    }
    assert!(
        !printed.contains("DIVERGES") && !printed.contains("FAILS"),
        "{printed}"
    );
}

/// How many entries `project` has in a SQLite file.
async fn entries_in_sqlite(file: &Path, project: &str) -> i64 {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .expect("open the copy");
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(project)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.ok();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_made_while_serving_restores_and_verifies_every_chain_and_seal() {
    note_backend("sqlite");
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("data/coprod.db").display());
    let migrated = blocking(|| coprod(&database, &["migrate"]));
    assert!(migrated.status.success(), "{}", said(&migrated));
    let recorder = blocking(|| create_token(&database, "recorder", "oxfordshire"));
    let assurance = blocking(|| create_token(&database, "assurance", "oxfordshire"));
    let server = Server::spawn(
        "serving",
        &database,
        free_port(),
        &dir.path().join("server.log"),
    )
    .await;
    let projects = record_some(&server.base, &recorder, &assurance).await;

    // A client keeps appending while the backup is made.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writer = keep_appending(
        server.base.clone(),
        recorder.clone(),
        projects[0].clone(),
        stop.clone(),
        acknowledged.clone(),
    );
    while acknowledged.load(Ordering::SeqCst) < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let acknowledged_before = acknowledged.load(Ordering::SeqCst) as i64;
    let backup = dir.path().join("backups/coprod-backup.db");
    std::fs::create_dir(dir.path().join("backups")).expect("a folder for backups");
    let backup_text = backup.display().to_string();
    let made = blocking(|| coprod(&database, &["backup", &backup_text]));
    assert!(made.status.success(), "{}", said(&made));
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(stderr.contains("backed up 2 projects"), "{stderr}");
    while acknowledged.load(Ordering::SeqCst) < acknowledged_before as u64 + 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("the writer");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup)
            .expect("the backup")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the backup is readable by its owner only"
        );
    }

    // Restored: the file put in place of a lost database.
    let restored_dir = tempfile::tempdir().expect("temporary directory");
    let restored = restored_dir.path().join("coprod.db");
    std::fs::copy(&backup, &restored).expect("restore the copy");
    let restored_url = format!("sqlite://{}", restored.display());
    // Everything acknowledged before the backup began is in it (3 entries, a seal, the writes).
    let held = entries_in_sqlite(&restored, &projects[0]).await;
    assert!(
        held >= 4 + acknowledged_before,
        "{held} entries < {}",
        4 + acknowledged_before
    );
    blocking(|| assert_verifies(&restored_url, &projects));
    // The live database went on, untouched by the backup.
    blocking(|| assert_verifies(&database, &projects));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_that_cannot_be_made_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("coprod.db").display());
    let migrated = blocking(|| coprod(&database, &["migrate"]));
    assert!(migrated.status.success(), "{}", said(&migrated));

    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"keep me").expect("a file");
    let existing_text = existing.display().to_string();
    let output = blocking(|| coprod(&database, &["backup", &existing_text]));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("exists already"),
        "{}",
        said(&output)
    );
    assert_eq!(std::fs::read(&existing).expect("the file"), b"keep me");

    let nowhere = dir
        .path()
        .join("no/such/folder/backup.db")
        .display()
        .to_string();
    let output = blocking(|| coprod(&database, &["backup", &nowhere]));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot create"),
        "{}",
        said(&output)
    );

    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let target = dir.path().join("from-missing.db");
    let target_text = target.display().to_string();
    let output = blocking(|| coprod(&missing, &["backup", &target_text]));
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("there is no database"),
        "{}",
        said(&output)
    );
    assert!(!target.exists() && !dir.path().join("missing.db").exists());

    if let Some(db) = kit::postgres().await {
        let output = blocking(|| coprod(&db.url, &["backup", &target_text]));
        assert_eq!(output.status.code(), Some(2), "{}", said(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("pg_dump"),
            "{}",
            said(&output)
        );
        assert!(!target.exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_dump_taken_while_serving_restores_into_a_fresh_database_that_verifies() {
    let (Some(primary), Some(bin)) = (blocking(Cluster::start), cluster::postgres_bin()) else {
        cluster::skip_or_fail("a_postgres_dump_taken_while_serving_restores…");
        return;
    };
    note_backend("postgres");
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = primary.create_database("coprod").await;
    let migrated = blocking(|| coprod(&database, &["migrate"]));
    assert!(migrated.status.success(), "{}", said(&migrated));
    let recorder = blocking(|| create_token(&database, "recorder", "oxfordshire"));
    let assurance = blocking(|| create_token(&database, "assurance", "oxfordshire"));
    let server = Server::spawn(
        "serving",
        &database,
        free_port(),
        &dir.path().join("server.log"),
    )
    .await;
    let projects = record_some(&server.base, &recorder, &assurance).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writer = keep_appending(
        server.base.clone(),
        recorder.clone(),
        projects[0].clone(),
        stop.clone(),
        acknowledged.clone(),
    );
    while acknowledged.load(Ordering::SeqCst) < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // As docs/operations.md says: a custom-format dump, one consistent snapshot.
    let dump = dir.path().join("coprod.dump");
    let port = primary.port.to_string();
    let dumped = blocking(|| {
        Command::new(bin.join("pg_dump"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "coprod",
            ])
            .args(["--format=custom", "--file"])
            .arg(&dump)
            .output()
            .expect("run pg_dump")
    });
    assert!(dumped.status.success(), "{}", said(&dumped));
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("the writer");

    let restored_url = primary.create_database("coprod_restored").await;
    let restored = blocking(|| {
        Command::new(bin.join("pg_restore"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args([
                "--dbname",
                "coprod_restored",
                "--no-owner",
                "--exit-on-error",
            ])
            .arg(&dump)
            .output()
            .expect("run pg_restore")
    });
    assert!(restored.status.success(), "{}", said(&restored));
    blocking(|| assert_verifies(&restored_url, &projects));
}
