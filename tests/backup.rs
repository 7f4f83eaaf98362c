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

/// `coprod serve` over `database` (migrated first), with [`record_some`] recorded through it
/// and a client appending to the first project ([`Appending`]); its log goes in `dir`.
async fn serving_while_appending(database: &str, dir: &Path) -> (Server, Vec<String>, Appending) {
    let migrated = blocking(|| coprod(database, &["migrate"]));
    assert!(migrated.status.success(), "{}", said(&migrated));
    let recorder = blocking(|| create_token(database, "recorder", "oxfordshire"));
    let assurance = blocking(|| create_token(database, "assurance", "oxfordshire"));
    let server = Server::spawn("serving", database, free_port(), &dir.join("server.log")).await;
    let projects = record_some(&server.base, &recorder, &assurance).await;
    let appending = Appending::start(server.base.clone(), recorder, projects[0].clone());
    appending.until(5).await;
    (server, projects, appending)
}

/// A client appending to a project, one entry after another, until stopped.
struct Appending {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicU64>,
    writer: tokio::task::JoinHandle<()>,
}

impl Appending {
    fn start(base: String, recorder: String, project: String) -> Appending {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn({
            let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
            async move {
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
            }
        });
        Appending {
            stop,
            acknowledged,
            writer,
        }
    }

    /// The appends acknowledged so far.
    fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits until `count` appends are acknowledged.
    async fn until(&self, count: u64) {
        while self.acknowledged() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.writer.await.expect("the writer");
    }
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
    kit::note_backend(kit::Backend::Sqlite);
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("data/coprod.db").display());
    // A client keeps appending while the backup is made.
    let (_server, projects, appending) = serving_while_appending(&database, dir.path()).await;
    let acknowledged_before = appending.acknowledged();
    let backup = dir.path().join("backups/coprod-backup.db");
    std::fs::create_dir(dir.path().join("backups")).expect("a folder for backups");
    let backup_text = backup.display().to_string();
    let made = blocking(|| coprod(&database, &["backup", &backup_text]));
    assert!(made.status.success(), "{}", said(&made));
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(stderr.contains("backed up 2 projects"), "{stderr}");
    appending.until(acknowledged_before + 5).await;
    appending.stop().await;
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
    let expected = 4 + acknowledged_before as i64;
    assert!(held >= expected, "{held} entries < {expected}");
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
    kit::note_backend(kit::Backend::Postgres);
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = primary.create_database("coprod").await;
    let (_server, projects, appending) = serving_while_appending(&database, dir.path()).await;
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
    appending.stop().await;

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
