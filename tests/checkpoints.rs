//! Signed checkpoints, end to end on every backend (docs/checkpoints.md): made, stored and
//! served with their proofs (checked by Coprod and by docs/verify_checkpoint.py); then someone
//! with superuser access to the database switches the append-only triggers off and removes a
//! project's last entry, rolls another back and appends others in their place, and rewrites a
//! third whole with a chain that is valid on its own. The chain alone finds nothing wrong with
//! any of them; the checkpoint and the head each view recorded catch all three: through
//! `GET …/verify`, `coprod verify`, `coprod verify --file … --checkpoint … --public-key …` on an
//! export made after the change, and by refusing to make the next checkpoint. A checkpoint whose
//! signature does not match is refused with a message naming it, and a non-zero exit; `serve`
//! without a checkpoint key starts and says that checkpoints are off.

mod kit;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use coprod::store::CheckpointError;
use coprod_domain::checkpoint::{
    CheckpointPublicKey, CheckpointSigningKey, ConsistencyProof, SignedCheckpoint,
};
use coprod_domain::digest::{chain_next, DIGEST_KEY};
use coprod_domain::{Digest, StoredEntry};
use kit::app::*;
use kit::facts::*;
use kit::{Backend, TestDb};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;
use uuid::Uuid;

/// RFC 8032's TEST 1 secret key: public, so plainly not a secret.
const CHECKPOINT_KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// RFC 8032's TEST 2 secret key: a key other than the one the checkpoints are signed with.
const OTHER_KEY: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_checkpoint.py");

fn signing_key() -> CheckpointSigningKey {
    CheckpointSigningKey::from_hex(CHECKPOINT_KEY).unwrap()
}

fn public_key() -> CheckpointPublicKey {
    signing_key().public_key()
}

/// Entries in the fixture project.
const ENTRIES: u64 = 7;

/// An `oxfordshire` project of seven entries: the registration, two people joining, the first
/// stage, and three workshops.
async fn project(app: &TestApp, title: &str) -> String {
    let id = app.new_project_titled(title).await;
    app.record(
        &id,
        batch(&[
            joined("p1", "lived_experience", &["carers"]),
            joined("p2", "professional", &[]),
            stage_started("commission"),
            activity("a1", "commission", &["p1"], &["p2"]),
        ]),
    )
    .await;
    app.record(&id, activity("a2", "commission", &["p2"], &["p1"]))
        .await;
    app.record(&id, activity("a3", "commission", &["p1"], &["p2"]))
        .await;
    app.assert_sequence(&id, ENTRIES, "the fixture").await;
    id
}

fn uuid(id: &str) -> Uuid {
    id.parse().expect("a project id")
}

// ---- raw SQL, as a superuser ----------------------------------------------------------------------

/// Runs `statements` in order on one connection; the first error is returned.
async fn sql(db: &TestDb, statements: &[String]) -> Result<(), String> {
    macro_rules! run {
        ($connection:ty) => {{
            let mut conn = <$connection>::connect(&db.url)
                .await
                .map_err(|e| e.to_string())?;
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{statement}: {e}"))?;
            }
            conn.close().await.ok();
        }};
    }
    match db.backend {
        Backend::Postgres => run!(sqlx::PgConnection),
        Backend::Sqlite => run!(sqlx::SqliteConnection),
    }
    Ok(())
}

/// Switches the append-only triggers of `table` (events: migrations/*/20250301000000_events.sql;
/// checkpoints and checkpoint_heads: their own migration) off for good: an attacker who can do
/// this does not put them back.
async fn drop_triggers(db: &TestDb, table: &str) {
    let statements: Vec<String> = match (db.backend, table) {
        (Backend::Postgres, table) => vec![format!("ALTER TABLE {table} DISABLE TRIGGER USER")],
        (Backend::Sqlite, "events") => vec![
            "DROP TRIGGER events_no_update".into(),
            "DROP TRIGGER events_no_delete".into(),
        ],
        (Backend::Sqlite, table) => vec![
            format!("DROP TRIGGER {table}_no_update"),
            format!("DROP TRIGGER {table}_no_delete"),
        ],
    };
    sql(db, &statements)
        .await
        .unwrap_or_else(|e| panic!("[{}] triggers off: {e}", db.backend));
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `entries` from `from` on replaced by `replacements`, each chained from the entry before, so
/// that the trail's chain is valid on its own.
async fn replace_tail(
    db: &TestDb,
    kept: &[StoredEntry],
    from: u64,
    replacements: Vec<StoredEntry>,
) -> Vec<StoredEntry> {
    let id = &kept[0].aggregate_id;
    let mut head = match from {
        1 => Digest::ZERO,
        _ => kept[from as usize - 2].stored_digest().unwrap(),
    };
    let mut statements = vec![format!(
        "DELETE FROM events WHERE aggregate_id = '{id}' AND sequence >= {from}"
    )];
    let json_cast = match db.backend {
        Backend::Postgres => "::json",
        Backend::Sqlite => "",
    };
    let mut forged = Vec::new();
    for (i, mut entry) in replacements.into_iter().enumerate() {
        entry.sequence = from + i as u64;
        entry.metadata.remove(DIGEST_KEY);
        head = chain_next(&head, &entry);
        entry
            .metadata
            .insert(DIGEST_KEY.to_string(), head.to_string());
        statements.push(format!(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES ('project', '{id}', {}, {}, {}, {}{json_cast}, {}{json_cast})",
            entry.sequence,
            quoted(&entry.event_type),
            quoted(&entry.event_version),
            quoted(&entry.payload.to_string()),
            quoted(&serde_json::to_string(&entry.metadata).unwrap()),
        ));
        forged.push(entry);
    }
    sql(db, &statements)
        .await
        .unwrap_or_else(|e| panic!("[{}] forging: {e}", db.backend));
    forged
}

/// A workshop entry like `entry` (a stored `activity_held`), with another id and title.
fn forged_workshop(entry: &StoredEntry, activity_id: &str) -> StoredEntry {
    let mut forged = entry.clone();
    forged.payload["activity_id"] = json!(activity_id);
    forged.payload["title"] = json!("A workshop that never happened");
    forged
}

/// How the database is changed behind the server's back.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    /// The last entry deleted.
    Truncate,
    /// The last two entries deleted, three others appended in their place.
    RollBack,
    /// The registration's title changed, and every digest recomputed.
    Rewrite,
}

impl Tamper {
    async fn apply(self, db: &TestDb, entries: &[StoredEntry]) {
        let last = entries.len() as u64;
        match self {
            Tamper::Truncate => {
                let id = &entries[0].aggregate_id;
                let delete =
                    format!("DELETE FROM events WHERE aggregate_id = '{id}' AND sequence = {last}");
                sql(db, &[delete]).await.unwrap();
            }
            Tamper::RollBack => {
                let workshop = &entries[last as usize - 1];
                let forged = ["f1", "f2", "f3"]
                    .iter()
                    .map(|id| forged_workshop(workshop, id))
                    .collect();
                replace_tail(db, entries, last - 1, forged).await;
            }
            Tamper::Rewrite => {
                let mut all = entries.to_vec();
                all[0].payload["title"] = json!("A project that was never registered");
                replace_tail(db, entries, 1, all).await;
            }
        }
    }

    /// What a check against the checkpoint says about it.
    fn finding(self) -> &'static str {
        match self {
            Tamper::Truncate => "entries were removed",
            Tamper::RollBack | Tamper::Rewrite => "the trail was rewritten or rolled back",
        }
    }
}

// ---- the command line -----------------------------------------------------------------------------

fn coprod_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coprod"));
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .env("COPROD_MASTER_KEY", kit::TEST_MASTER_KEY)
        .env_remove("DATABASE_URL")
        .env_remove("COPROD_CHECKPOINT_KEY")
        .env_remove("COPROD_CHECKPOINT_KEY_FILE");
    command
}

/// `coprod --database URL ARGS…`, with the checkpoint key in the environment when given.
fn coprod(db: &TestDb, checkpoint_key: Option<&str>, args: &[&str]) -> Output {
    let mut command = coprod_command(&[&["--database", &db.url], args].concat());
    if let Some(key) = checkpoint_key {
        command.env("COPROD_CHECKPOINT_KEY", key);
    }
    command.output().expect("run coprod")
}

/// `coprod verify --file TRAIL --checkpoint BUNDLE --public-key KEY`, with no database.
fn verify_offline(trail: &Path, bundle: &Path, key: &str) -> Output {
    let (trail, bundle) = (trail.display().to_string(), bundle.display().to_string());
    coprod_command(&[
        "verify",
        "--file",
        &trail,
        "--checkpoint",
        &bundle,
        "--public-key",
        key,
    ])
    .current_dir(Path::new(&trail).parent().unwrap())
    .output()
    .expect("run coprod")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn export(db: &TestDb, id: &str) -> String {
    let out = coprod(db, None, &["export", id]);
    assert!(out.status.success(), "export: {}", said(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs docs/verify_checkpoint.py: whether it exited 0, and what it said.
fn python_check(python: &str, args: &[&Path]) -> (bool, String) {
    let out = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run the checker");
    (out.status.success(), said(&out))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

// ---- made and served --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_checkpoints_when_served_then_their_signatures_and_proofs_hold_for_coprod_and_for_the_python_checker(
) {
    each_backend(async |app| {
        let backend = app.backend;
        let assurance = Some(app.tokens.assurance.as_str());
        let first = project(app, "Carers' strategy refresh").await;
        let second = project(app, "Day services review").await;

        // Before the server has a key, checkpoints are off, said plainly.
        app.get(assurance, "/checkpoints")
            .await
            .problem(404, "checkpoints_off");
        let verified = app
            .get(assurance, &format!("/projects/{first}/verify"))
            .await
            .json_with(200);
        assert_eq!(verified["valid"], true, "[{backend}] {verified}");
        assert_eq!(verified["checkpoint"]["valid"], Value::Null, "{verified}");
        assert!(
            verified["checkpoint"]["problem"]
                .as_str()
                .unwrap()
                .contains("checkpoints are off"),
            "{verified}"
        );
        assert_eq!(verified["view"]["valid"], true, "{verified}");
        app.get(assurance, "/checkpoints/latest")
            .await
            .problem(404, "checkpoints_off");

        app.store.set_checkpoint_key(signing_key());
        app.get(assurance, "/checkpoints/latest")
            .await
            .problem(404, "not_found");
        let made = app.store.make_checkpoint(true).await.unwrap().unwrap();
        assert_eq!(made.checkpoint.checkpoint.number, 1);
        assert_eq!(made.logged, 2);
        assert_eq!(
            app.store.make_checkpoint(true).await.unwrap(),
            None,
            "[{backend}] nothing changed, so no checkpoint"
        );
        app.record(&first, role_taken("p1", "co_chair")).await;
        let third = project(app, "Transport review").await;
        let made = app.store.make_checkpoint(true).await.unwrap().unwrap();
        assert_eq!(made.checkpoint.checkpoint.number, 2);
        assert_eq!(made.logged, 2, "the project that moved on, and the new one");
        assert_eq!(made.checkpoint.checkpoint.heads.size, 3);
        assert_eq!(made.checkpoint.checkpoint.log.size, 4);

        // The list, with the key; each checkpoint alone; the latest.
        let list = app.get(assurance, "/checkpoints").await.json_with(200);
        assert_eq!(list["public_key"], public_key().to_string());
        assert_eq!(list["key_id"], public_key().key_id().to_string());
        assert_eq!(list["latest"], 2);
        assert_eq!(list["next_after"], Value::Null);
        let listed: Vec<SignedCheckpoint> =
            serde_json::from_value(list["checkpoints"].clone()).unwrap();
        assert_eq!(listed.len(), 2);
        for signed in &listed {
            public_key().verify(signed).unwrap();
        }
        let page = app
            .get(assurance, "/checkpoints?after=1&limit=1")
            .await
            .json_with(200);
        assert_eq!(page["checkpoints"][0]["checkpoint"]["number"], 2, "{page}");
        let page = app
            .get(assurance, "/checkpoints?limit=1")
            .await
            .json_with(200);
        assert_eq!(page["next_after"], 1, "{page}");
        let latest = app
            .get(assurance, "/checkpoints/latest")
            .await
            .json_with(200);
        assert_eq!(latest, serde_json::to_value(&listed[1]).unwrap());
        let one = app.get(assurance, "/checkpoints/1").await.json_with(200);
        assert_eq!(one, serde_json::to_value(&listed[0]).unwrap());

        // A head proof, as a bundle, and the consistency of the two logs.
        let bundle = app
            .get(assurance, &format!("/checkpoints/2/projects/{first}/proof"))
            .await
            .json_with(200);
        let proved: coprod::app::checkpoints::CheckpointBundle =
            serde_json::from_value(bundle.clone()).unwrap();
        let head = proved
            .proof
            .verify_head(&proved.checkpoint, &public_key())
            .unwrap();
        assert_eq!(head.project_id, uuid(&first));
        assert_eq!(head.sequence, ENTRIES + 1);
        let consistency = app
            .get(assurance, "/checkpoints/2/consistency?from=1")
            .await
            .json_with(200);
        let proof: ConsistencyProof = serde_json::from_value(consistency.clone()).unwrap();
        proof.verify(&listed[0], &listed[1], &public_key()).unwrap();
        app.get(assurance, "/checkpoints/2/consistency?from=2")
            .await
            .json_with(200);
        // A project's head in an earlier checkpoint; one that checkpoint does not hold.
        app.get(
            assurance,
            &format!("/checkpoints/1/projects/{second}/proof"),
        )
        .await
        .json_with(200);
        app.get(assurance, &format!("/checkpoints/1/projects/{third}/proof"))
            .await
            .problem(404, "not_found");

        // The verify answer names the checkpoint it checked the trail against.
        let verified = app
            .get(assurance, &format!("/projects/{first}/verify"))
            .await
            .json_with(200);
        assert_eq!(verified["valid"], true, "[{backend}] {verified}");
        let checkpoint = &verified["checkpoint"];
        assert_eq!(checkpoint["number"], 2, "{verified}");
        assert_eq!(checkpoint["sequence"], ENTRIES + 1, "{verified}");
        assert_eq!(checkpoint["digest"], head.digest.to_string(), "{verified}");
        assert_eq!(checkpoint["valid"], true, "{verified}");
        assert_eq!(checkpoint["problem"], Value::Null, "{verified}");

        // The Python checker agrees, from what the API served and an export.
        if let Some(python) = kit::python("docs/verify_checkpoint.py") {
            let dir = tempfile::tempdir().unwrap();
            let key = write(dir.path(), "checkpoint.pub", &public_key().to_string());
            let bundle_path = write(dir.path(), "bundle.json", &bundle.to_string());
            let earlier = write(dir.path(), "cp1.json", &one.to_string());
            let consistency_path = write(dir.path(), "consistency.json", &consistency.to_string());
            let trail = write(dir.path(), "trail.ndjson", &export(&app.db, &first));
            let (ok, said) = python_check(
                python,
                &[
                    Path::new("--public-key"),
                    &key,
                    &bundle_path,
                    Path::new("--trail"),
                    &trail,
                    Path::new("--earlier"),
                    &earlier,
                    Path::new("--consistency"),
                    &consistency_path,
                ],
            );
            assert!(ok, "[{backend}] {said}");
            assert!(
                said.contains(&format!(
                    "the trail holds checkpoint 2's head (entry {})",
                    ENTRIES + 1
                )),
                "{said}"
            );
            assert!(
                said.contains("checkpoint 2's log extends checkpoint 1's"),
                "{said}"
            );
            // The same proof given apart from its checkpoint, as the checker also takes it.
            let latest_path = write(dir.path(), "cp2.json", &latest.to_string());
            let proof_path = write(dir.path(), "proof.json", &bundle["proof"].to_string());
            let (ok, said) = python_check(
                python,
                &[
                    Path::new("--public-key"),
                    &key,
                    &latest_path,
                    Path::new("--proof"),
                    &proof_path,
                    Path::new("--trail"),
                    &trail,
                ],
            );
            assert!(ok, "[{backend}] {said}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_read_by_assurance_panel_and_admin_and_proofs_by_assurance_and_admin_of_projects_they_see(
) {
    each_backend(async |app| {
        let id = project(app, "Carers' strategy refresh").await;
        let bucks = app
            .register_as(&app.tokens.bucks, &registration("Bucks project", "bucks"))
            .await
            .json_with(201)["project_id"]
            .as_str()
            .unwrap()
            .to_string();
        app.store.set_checkpoint_key(signing_key());
        app.store.make_checkpoint(false).await.unwrap();
        let tokens = &app.tokens;
        let proof = format!("/checkpoints/1/projects/{id}/proof");
        for (who, token, reads, proves) in [
            ("admin", &tokens.admin, true, true),
            ("assurance", &tokens.assurance, true, true),
            ("panel", &tokens.panel, true, false),
            ("recorder", &tokens.recorder, false, false),
        ] {
            for path in [
                "/checkpoints",
                "/checkpoints/latest",
                "/checkpoints/1",
                "/checkpoints/1/consistency?from=1",
            ] {
                let answer = app.get(Some(token), path).await;
                let expected = if reads { 200 } else { 403 };
                assert_eq!(
                    answer.status.as_u16(),
                    expected,
                    "{who}: {}",
                    answer.context
                );
                if !reads {
                    answer.problem(403, "forbidden");
                }
            }
            let answer = app.get(Some(token), &proof).await;
            let expected = if proves { 200 } else { 403 };
            assert_eq!(
                answer.status.as_u16(),
                expected,
                "{who}: {}",
                answer.context
            );
            if !proves {
                answer.problem(403, "forbidden");
            }
        }
        app.get(None, "/checkpoints")
            .await
            .problem(401, "unauthorized");
        // Another organisation's project is not revealed, nor is an unknown one.
        app.get(
            Some(&tokens.assurance),
            &format!("/checkpoints/1/projects/{bucks}/proof"),
        )
        .await
        .problem(404, "not_found");
        app.get(
            Some(&tokens.admin),
            &format!("/checkpoints/1/projects/{bucks}/proof"),
        )
        .await
        .expect(200);
        app.get(
            Some(&tokens.admin),
            &format!("/checkpoints/1/projects/{}/proof", Uuid::new_v4()),
        )
        .await
        .problem(404, "not_found");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_checkpoint_addresses_and_queries_are_4xx_problems() {
    each_backend(async |app| {
        let id = project(app, "Carers' strategy refresh").await;
        app.store.set_checkpoint_key(signing_key());
        app.store.make_checkpoint(false).await.unwrap();
        app.record(&id, role_taken("p1", "co_chair")).await;
        app.store.make_checkpoint(false).await.unwrap();
        let admin = Some(app.tokens.admin.as_str());
        for (path, status, code, at) in [
            ("/checkpoints/abc", 400, "validation_failed", Some("number")),
            ("/checkpoints/-1", 400, "validation_failed", Some("number")),
            ("/checkpoints/1.5", 400, "validation_failed", Some("number")),
            ("/checkpoints/0", 404, "not_found", None),
            ("/checkpoints/3", 404, "not_found", None),
            (
                "/checkpoints/99999999999999999999",
                400,
                "validation_failed",
                Some("number"),
            ),
            (
                "/checkpoints?limit=0",
                400,
                "validation_failed",
                Some("limit"),
            ),
            (
                "/checkpoints?limit=1001",
                400,
                "validation_failed",
                Some("limit"),
            ),
            (
                "/checkpoints?after=x",
                400,
                "validation_failed",
                Some("query"),
            ),
            (
                "/checkpoints?colour=blue",
                400,
                "unknown_field",
                Some("query"),
            ),
            (
                "/checkpoints/2/consistency",
                400,
                "validation_failed",
                Some("query"),
            ),
            (
                "/checkpoints/2/consistency?from=x",
                400,
                "validation_failed",
                Some("query"),
            ),
            (
                "/checkpoints/1/consistency?from=2",
                422,
                "validation_failed",
                Some("from"),
            ),
            ("/checkpoints/2/consistency?from=3", 404, "not_found", None),
            ("/checkpoints/3/consistency?from=1", 404, "not_found", None),
            (
                "/checkpoints/x/consistency?from=1",
                400,
                "validation_failed",
                Some("number"),
            ),
        ] {
            let answer = app.get(admin, path).await;
            match at {
                Some(at) => answer.problem_at(status, code, at),
                None => answer.problem(status, code),
            };
        }
        let proof = |number: &str| format!("/checkpoints/{number}/projects/{id}/proof");
        app.get(admin, &proof("x"))
            .await
            .problem_at(400, "validation_failed", "number");
        app.get(admin, &proof("7")).await.problem(404, "not_found");
        app.get(admin, "/checkpoints/1/projects/not-a-uuid/proof")
            .await
            .problem(404, "not_found");
        let posted = app
            .send(app.request(Method::POST, "/checkpoints", admin))
            .await;
        posted.problem(405, "method_not_allowed");
        let unknown = app.get(admin, "/checkpoints/1/nothing").await;
        unknown.problem(404, "not_found");
    })
    .await;
}

// ---- tampering, caught --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_checkpoint_when_trails_are_truncated_rolled_back_or_rewritten_behind_the_triggers_then_every_check_catches_them(
) {
    each_backend(async |app| {
        let backend = app.backend;
        let db = &app.db;
        let assurance = Some(app.tokens.assurance.as_str());
        let control = project(app, "Left alone").await;
        let tampers = [Tamper::Truncate, Tamper::RollBack, Tamper::Rewrite];
        let mut projects = Vec::new();
        for tamper in tampers {
            projects.push((tamper, project(app, &format!("{tamper:?}")).await));
        }
        app.store.set_checkpoint_key(signing_key());
        app.store.make_checkpoint(false).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key_hex = public_key().to_string();
        // What an auditor keeps: each project's checkpoint bundle, fetched before any change.
        let mut bundles = Vec::new();
        for id in std::iter::once(&control).chain(projects.iter().map(|(_, id)| id)) {
            let bundle = app
                .get(assurance, &format!("/checkpoints/1/projects/{id}/proof"))
                .await
                .expect(200)
                .text();
            bundles.push(write(dir.path(), &format!("bundle-{id}.json"), &bundle));
        }

        drop_triggers(db, "events").await;
        for (tamper, id) in &projects {
            let entries = app.store.entries(uuid(id), 0, None).await.unwrap();
            tamper.apply(db, &entries).await;
        }

        for ((tamper, id), bundle) in projects.iter().zip(&bundles[1..]) {
            let what = format!("[{backend}] {tamper:?}");
            let finding = tamper.finding();

            // The chain alone finds nothing: it is valid on its own.
            let entries = app.store.entries(uuid(id), 0, None).await.unwrap();
            assert_eq!(
                coprod_domain::digest::verify_chain(&entries).first_divergence,
                None,
                "{what}"
            );

            // (i) The API.
            let verified = app
                .get(assurance, &format!("/projects/{id}/verify"))
                .await
                .json_with(200);
            assert_eq!(verified["valid"], false, "{what}: {verified}");
            assert_eq!(verified["first_divergence"], Value::Null, "{what}: {verified}");
            let checkpoint = &verified["checkpoint"];
            assert_eq!(checkpoint["number"], 1, "{what}: {verified}");
            assert_eq!(checkpoint["sequence"], ENTRIES, "{what}: {verified}");
            assert_eq!(checkpoint["valid"], false, "{what}: {verified}");
            let problem = checkpoint["problem"].as_str().unwrap();
            assert!(problem.contains(finding), "{what}: {problem}");
            // The cheap guard: the head the view recorded.
            let view = &verified["view"];
            assert_eq!(view["valid"], false, "{what}: {verified}");
            assert_eq!(view["sequence"], ENTRIES, "{what}: {verified}");
            let problem = view["problem"].as_str().unwrap();
            assert!(problem.contains(finding), "{what}: {problem}");

            // (ii) coprod verify PROJECT, with the checkpoint key, and with only the public key.
            for (key, extra) in [
                (Some(CHECKPOINT_KEY), vec![]),
                (None, vec!["--public-key", key_hex.as_str()]),
            ] {
                let out = coprod(db, key, &[&["verify", id.as_str()], &extra[..]].concat());
                let text = said(&out);
                assert_eq!(out.status.code(), Some(1), "{what}: {text}");
                assert!(
                    text.contains(&format!("{id} checkpoint 1: FAILS. ")) && text.contains(finding),
                    "{what}: {text}"
                );
                assert!(text.contains(&format!("{id} view: FAILS. ")), "{what}: {text}");
            }

            // (iii) Offline: an export made after the change, against the bundle kept before.
            let after = write(dir.path(), &format!("after-{id}.ndjson"), &export(db, id));
            let out = verify_offline(&after, bundle, &key_hex);
            let text = said(&out);
            assert_eq!(out.status.code(), Some(1), "{what}: {text}");
            assert!(
                text.contains(&format!("{} checkpoint 1: FAILS. ", after.display()))
                    && text.contains(finding),
                "{what}: {text}"
            );
            assert!(!text.contains("DIVERGES"), "the chain alone holds: {what}: {text}");
        }

        // The project left alone still verifies, online and offline.
        let verified = app
            .get(assurance, &format!("/projects/{control}/verify"))
            .await
            .json_with(200);
        assert_eq!(verified["valid"], true, "[{backend}] {verified}");
        assert_eq!(verified["checkpoint"]["valid"], true, "{verified}");
        let trail = write(dir.path(), "control.ndjson", &export(db, &control));
        let out = verify_offline(&trail, &bundles[0], &key_hex);
        assert_eq!(out.status.code(), Some(0), "[{backend}] {}", said(&out));
        assert!(
            said(&out).contains(&format!(
                "checkpoint 1: OK (signature holds; the trail holds its entry {ENTRIES})"
            )),
            "{}",
            said(&out)
        );
        let out = coprod(db, Some(CHECKPOINT_KEY), &["verify", &control]);
        assert_eq!(out.status.code(), Some(0), "[{backend}] {}", said(&out));
        assert!(
            said(&out).contains(&format!("{control} checkpoint 1: OK (the trail holds its entry {ENTRIES})")),
            "{}",
            said(&out)
        );

        // The next checkpoint is refused, naming every project that no longer holds its head.
        let refused = app.store.make_checkpoint(false).await.unwrap_err();
        let CheckpointError::Refused { number, problems } = &refused else {
            panic!("[{backend}] {refused}");
        };
        assert_eq!(*number, 2);
        assert_eq!(problems.len(), 3, "[{backend}] {refused}");
        for (_, id) in &projects {
            assert!(refused.to_string().contains(id.as_str()), "{refused}");
        }
        let out = coprod(db, Some(CHECKPOINT_KEY), &["checkpoint"]);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {}", said(&out));
        assert!(said(&out).contains("checkpoint 2 was not made"), "{}", said(&out));

        // A whole trail removed: `coprod verify` still names it from the checkpoint.
        let (_, truncated) = &projects[0];
        sql(db, &[format!("DELETE FROM events WHERE aggregate_id = '{truncated}'")])
            .await
            .unwrap();
        let out = coprod(db, Some(CHECKPOINT_KEY), &["verify"]);
        let text = said(&out);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {text}");
        assert!(text.contains(&format!("{truncated} NOT FOUND")), "{text}");
        assert!(
            text.contains(&format!(
                "{truncated} checkpoint 1: FAILS. the trail has 0 entries but the checkpoint holds entry {}",
                ENTRIES
            )),
            "{text}"
        );
        assert!(text.contains(&format!("{control} checkpoint 1: OK")), "{text}");

        // Checkpoints removed from the database behind the server's back are reported by the
        // server that saw them; the bundle kept elsewhere still catches the change.
        drop_triggers(db, "checkpoint_heads").await;
        drop_triggers(db, "checkpoints").await;
        sql(
            db,
            &["DELETE FROM checkpoint_heads".into(), "DELETE FROM checkpoints".into()],
        )
        .await
        .unwrap();
        let (tamper, rolled_back) = &projects[1];
        let verified = app
            .get(assurance, &format!("/projects/{rolled_back}/verify"))
            .await
            .json_with(200);
        assert_eq!(verified["valid"], false, "[{backend}] {verified}");
        let problem = verified["checkpoint"]["problem"].as_str().unwrap();
        assert!(problem.contains("checkpoints were removed"), "{problem}");
        let after = write(dir.path(), "rolled-back.ndjson", &export(db, rolled_back));
        let out = verify_offline(&after, &bundles[2], &key_hex);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {}", said(&out));
        assert!(said(&out).contains(tamper.finding()), "{}", said(&out));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_whose_signature_does_not_match_is_refused_naming_it_with_a_non_zero_exit() {
    each_backend(async |app| {
        let backend = app.backend;
        let db = &app.db;
        let id = project(app, "Carers' strategy refresh").await;
        app.store.set_checkpoint_key(signing_key());
        app.store.make_checkpoint(false).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bundle: Value = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/checkpoints/1/projects/{id}/proof"),
            )
            .await
            .json_with(200);
        let trail = write(dir.path(), "trail.ndjson", &export(db, &id));
        let key_hex = public_key().to_string();
        let other_hex = CheckpointSigningKey::from_hex(OTHER_KEY)
            .unwrap()
            .public_key()
            .to_string();

        let good = write(dir.path(), "good.json", &bundle.to_string());
        let out = verify_offline(&trail, &good, &key_hex);
        assert_eq!(out.status.code(), Some(0), "[{backend}] {}", said(&out));

        // Its body altered after signing; its signature altered; another key given.
        let mut altered = bundle.clone();
        altered["checkpoint"]["checkpoint"]["made_at"] = json!("2030-01-01T00:00:00.000000Z");
        let mut flipped = bundle.clone();
        let signature = flipped["checkpoint"]["signature"]
            .as_str()
            .unwrap()
            .to_string();
        let last = if signature.ends_with('0') { '1' } else { '0' };
        flipped["checkpoint"]["signature"] =
            json!(format!("{}{last}", &signature[..signature.len() - 1]));
        for (name, forged, key, expected) in [
            (
                "altered",
                &altered,
                &key_hex,
                "checkpoint 1's signature does not match its contents",
            ),
            (
                "flipped",
                &flipped,
                &key_hex,
                "checkpoint 1's signature does not match its contents",
            ),
            (
                "good",
                &bundle,
                &other_hex,
                "checkpoint 1 was signed with key sha256:",
            ),
        ] {
            let path = write(dir.path(), &format!("{name}.json"), &forged.to_string());
            let out = verify_offline(&trail, &path, key);
            let text = said(&out);
            assert_eq!(out.status.code(), Some(1), "[{backend}] {name}: {text}");
            assert!(
                text.contains(&format!("checkpoint 1: FAILS. {expected}")),
                "[{backend}] {name}: {text}"
            );
        }

        // A bare checkpoint, a broken file and a malformed key are errors (exit 2), said plainly.
        let bare = write(dir.path(), "bare.json", &bundle["checkpoint"].to_string());
        let out = verify_offline(&trail, &bare, &key_hex);
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("no proof of the project's head"),
            "{}",
            said(&out)
        );
        let broken = write(
            dir.path(),
            "broken.json",
            "{\"checkpoint\": 1, \"proof\": 2}",
        );
        let out = verify_offline(&trail, &broken, &key_hex);
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("is not a checkpoint bundle"),
            "{}",
            said(&out)
        );
        let out = verify_offline(&trail, &good, "not-a-key");
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("--public-key 'not-a-key'"),
            "{}",
            said(&out)
        );

        // A stored checkpoint forged in the database: a process reading it refuses it by name.
        drop_triggers(db, "checkpoints").await;
        let forged = serde_json::to_string(&altered["checkpoint"]).unwrap();
        sql(
            db,
            &[format!(
                "UPDATE checkpoints SET signed = {} WHERE number = 1",
                quoted(&forged)
            )],
        )
        .await
        .unwrap();
        let out = coprod(db, Some(CHECKPOINT_KEY), &["verify", &id]);
        let text = said(&out);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {text}");
        assert!(
            text.contains(&format!(
                "{id} checkpoint: FAILS. the stored checkpoints cannot be trusted: checkpoint 1's \
                 signature does not match its contents"
            )),
            "[{backend}] {text}"
        );
        let fresh = app.another_server().await;
        let answer = fresh
            .client
            .execute(
                fresh
                    .request(Method::GET, "/checkpoints", Some(&fresh.tokens.admin))
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        // The fresh server has no key: it keeps no checkpoints.
        assert_eq!(answer.status().as_u16(), 404);
        fresh.store.set_checkpoint_key(signing_key());
        let answer = fresh
            .client
            .execute(
                fresh
                    .request(Method::GET, "/checkpoints", Some(&fresh.tokens.admin))
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 500);
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(problem["code"], "checkpoints_untrusted", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("checkpoint 1's signature does not match its contents"),
            "{problem}"
        );
        let verified = fresh
            .get(
                Some(&fresh.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(verified["valid"], false, "{verified}");
        assert_eq!(verified["checkpoint"]["valid"], false, "{verified}");
        fresh.stop().await;
    })
    .await;
}

// ---- the key and the command line -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coprod_checkpoint_creates_a_private_key_on_first_use_only_and_never_signs_with_another() {
    for db in kit::backends().await {
        let backend = db.backend;
        let store = db.store().await;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("keys").join("checkpoint.key");
        let key_file_arg = key_file.display().to_string();
        let with_file = |args: &[&str]| {
            coprod(
                &db,
                None,
                &[&["--checkpoint-key-file", &key_file_arg], args].concat(),
            )
        };

        let out = with_file(&["checkpoint", "public-key"]);
        assert_eq!(out.status.code(), Some(2), "[{backend}] {}", said(&out));
        assert!(said(&out).contains("no checkpoint key"), "{}", said(&out));

        let out = with_file(&["checkpoint"]);
        assert!(out.status.success(), "[{backend}] {}", said(&out));
        let signed: SignedCheckpoint = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(signed.checkpoint.number, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "[{backend}] the key file is private");
        }
        let out = with_file(&["checkpoint", "public-key"]);
        let public = String::from_utf8(out.stdout).unwrap();
        let public = CheckpointPublicKey::from_hex(&public).unwrap();
        public.verify(&signed).unwrap();
        assert!(said(&with_file(&["checkpoint"])).contains(&public.to_string()));

        // The key file gone: no new key is made for a database that has checkpoints.
        let moved = dir.path().join("elsewhere.key");
        std::fs::rename(&key_file, &moved).unwrap();
        let out = with_file(&["checkpoint"]);
        assert_eq!(out.status.code(), Some(2), "[{backend}] {}", said(&out));
        assert!(
            said(&out).contains("holds 2 checkpoints signed with key"),
            "{}",
            said(&out)
        );
        assert!(!key_file.exists(), "[{backend}] no new key was written");
        // Another key: refused before anything is signed.
        let out = coprod(&db, Some(OTHER_KEY), &["checkpoint"]);
        assert_eq!(out.status.code(), Some(2), "[{backend}] {}", said(&out));
        assert!(said(&out).contains("are signed with key"), "{}", said(&out));
        // A key file others may read is refused.
        std::fs::rename(&moved, &key_file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let out = with_file(&["checkpoint"]);
            assert_eq!(out.status.code(), Some(2), "[{backend}] {}", said(&out));
            assert!(said(&out).contains("chmod 600"), "{}", said(&out));
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }

        // `checkpoint show`: one checkpoint, or a bundle for a project.
        let out = with_file(&["checkpoint", "show", "1"]);
        assert!(out.status.success(), "{}", said(&out));
        let shown: SignedCheckpoint = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(shown, signed);
        let out = coprod(
            &db,
            None,
            &["checkpoint", "show", "--public-key", &public.to_string()],
        );
        assert!(out.status.success(), "{}", said(&out));
        let out = with_file(&["checkpoint", "show", "9"]);
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("there is no checkpoint 9"),
            "{}",
            said(&out)
        );
        drop(store);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_bundle_from_the_command_line_checks_an_export_offline() {
    each_backend(async |app| {
        let db = &app.db;
        let id = project(app, "Carers' strategy refresh").await;
        let out = coprod(db, Some(CHECKPOINT_KEY), &["checkpoint"]);
        assert!(out.status.success(), "{}", said(&out));
        let out = coprod(
            db,
            Some(CHECKPOINT_KEY),
            &["checkpoint", "show", "--project", &id],
        );
        assert!(out.status.success(), "{}", said(&out));
        let dir = tempfile::tempdir().unwrap();
        let bundle = write(
            dir.path(),
            "bundle.json",
            &String::from_utf8_lossy(&out.stdout),
        );
        let trail = write(dir.path(), "trail.ndjson", &export(db, &id));
        let key = write(dir.path(), "checkpoint.pub", &format!("{}\n", public_key()));
        let out = verify_offline(&trail, &bundle, &key.display().to_string());
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{}] {}",
            app.backend,
            said(&out)
        );
        assert!(said(&out).contains("checkpoint 1: OK"), "{}", said(&out));
    })
    .await;
}

/// Reads a child's log lines (JSON) until every one of `wanted` has appeared in their messages
/// (or `patience` runs out); the lines read.
fn read_until(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    wanted: &[&str],
    patience: Duration,
) -> Vec<Value> {
    let start = Instant::now();
    let mut seen: Vec<Value> = Vec::new();
    let said = |seen: &[Value], what: &str| {
        seen.iter().any(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(what))
        })
    };
    while start.elapsed() < patience && !wanted.iter().all(|w| said(&seen, w)) {
        match lines.next() {
            Some(Ok(line)) => {
                seen.push(serde_json::from_str(&line).unwrap_or_else(|_| json!({"raw": line})))
            }
            _ => break,
        }
    }
    seen
}

fn message_with<'a>(seen: &'a [Value], what: &str) -> Option<&'a Value> {
    seen.iter().find(|line| {
        line["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(what))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_a_checkpoint_key_starts_and_says_checkpoints_are_off_and_with_one_makes_them(
) {
    for db in kit::backends().await {
        let backend = db.backend;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("checkpoint.key").display().to_string();
        let serve = |key: Option<&str>| {
            let mut command = coprod_command(&[
                "--database",
                &db.url,
                "--checkpoint-key-file",
                &key_file,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--checkpoint-every",
                "1s",
            ]);
            command
                .env("RUST_LOG", "info")
                .env("COPROD_LOG_JSON", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(key) = key {
                command.env("COPROD_CHECKPOINT_KEY", key);
            }
            command.spawn().expect("start coprod serve")
        };

        let mut child = serve(None);
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let seen = read_until(
            &mut lines,
            &["checkpoints are off", "coprod is listening"],
            Duration::from_secs(60),
        );
        child.kill().ok();
        child.wait().ok();
        let off = message_with(&seen, "checkpoints are off");
        assert!(off.is_some(), "[{backend}] {seen:?}");
        let off = off.unwrap().to_string();
        assert!(
            off.contains("coprod checkpoint"),
            "[{backend}] says how: {off}"
        );
        assert!(
            off.contains(&key_file),
            "[{backend}] names the key file: {off}"
        );
        assert!(
            message_with(&seen, "coprod is listening").is_some(),
            "[{backend}] {seen:?}"
        );

        // With a key, a project registered is checkpointed within the interval.
        let organisation = "oxfordshire";
        let store = db.connect().await;
        let role = coprod::store::AccessRole::Recorder;
        let token = kit::app::token(&store, role, organisation, "recorder").await;
        let mut child = serve(Some(CHECKPOINT_KEY));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let seen = read_until(
            &mut lines,
            &["checkpoints on", "coprod is listening"],
            Duration::from_secs(60),
        );
        let address = message_with(&seen, "coprod is listening")
            .and_then(|line| line["fields"]["address"].as_str())
            .map(str::to_string);
        let Some(address) = address else {
            child.kill().ok();
            child.wait().ok();
            panic!("[{backend}] no address in {seen:?}");
        };
        let registered = reqwest::Client::new()
            .post(format!("http://{address}/api/v1/projects"))
            .bearer_auth(&token)
            .json(&registration("Checkpointed by serve", organisation))
            .send()
            .await
            .map(|r| r.status().as_u16());
        let made = read_until(&mut lines, &["checkpoint made"], Duration::from_secs(30));
        child.kill().ok();
        child.wait().ok();
        assert_eq!(registered.ok(), Some(201), "[{backend}] {seen:?}");
        let made = message_with(&made, "checkpoint made").cloned();
        assert!(made.is_some(), "[{backend}] no checkpoint made: {seen:?}");
        assert!(
            message_with(&seen, "checkpoints on")
                .is_some_and(|l| l.to_string().contains(&public_key().to_string())),
            "[{backend}] the public key is logged: {seen:?}"
        );
        store.set_checkpoint_public_key(public_key());
        let log = store.checkpoint_log().await.unwrap();
        assert_eq!(
            log.latest().unwrap().checkpoint.heads.size,
            1,
            "[{backend}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_tables_refuse_update_delete_and_truncate_and_the_openapi_document_lists_their_routes(
) {
    each_backend(async |app| {
        let backend = app.backend;
        project(app, "Carers' strategy refresh").await;
        app.store.set_checkpoint_key(signing_key());
        app.store.make_checkpoint(false).await.unwrap();
        let mut statements = vec![
            "UPDATE checkpoints SET made_at = made_at",
            "DELETE FROM checkpoints",
            "UPDATE checkpoint_heads SET digest = digest",
            "DELETE FROM checkpoint_heads",
        ];
        if backend == Backend::Postgres {
            statements.extend([
                "TRUNCATE checkpoint_heads",
                "TRUNCATE checkpoints, checkpoint_heads",
            ]);
        }
        for statement in statements {
            let refused = sql(&app.db, &[statement.to_string()]).await;
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("append-only")),
                "[{backend}] {statement}: {refused:?}"
            );
        }
        let stored = app.store.stored_checkpoints().await.unwrap();
        assert_eq!(stored.0, 1, "[{backend}] the checkpoint is still there");

        let document = app.get(None, "/openapi.json").await.json_with(200);
        let paths = document["paths"].as_object().expect("paths");
        for path in [
            "/api/v1/checkpoints",
            "/api/v1/checkpoints/latest",
            "/api/v1/checkpoints/{number}",
            "/api/v1/checkpoints/{number}/projects/{id}/proof",
            "/api/v1/checkpoints/{number}/consistency",
        ] {
            assert!(paths[path].get("get").is_some(), "{path} missing");
        }
        let verification = &document["components"]["schemas"]["Verification"]["properties"];
        for field in ["checkpoint", "view"] {
            assert!(
                verification.get(field).is_some(),
                "Verification.{field}: {verification}"
            );
        }
    })
    .await;
}
