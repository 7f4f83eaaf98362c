//! Tamper evidence (docs/architecture.md, invariant 4), end to end. Someone with superuser access to the database
//! switches the append-only triggers off and changes the log behind the server's back: a payload,
//! who recorded an entry, a deleted entry, two entries trading places. Each change must be caught
//! by `GET /projects/{id}/verify` (naming the first divergent entry, and failing any seal whose
//! cut-off it falls at or before), by `coprod verify PROJECT`, by `coprod verify --file` on an
//! export made after the change, and by `coprod verify --file` on an export made before it and
//! then edited the same way as text.
//!
//! That the triggers refuse a plain UPDATE, DELETE (and on PostgreSQL TRUNCATE) is tested in
//! tests/store.rs (`the_events_table_refuses_update_and_delete`); here they are only checked to
//! be back in force after each tampering.
//!
//! Every test runs against every backend, with `kit::each_backend`.

mod kit;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kit::app::*;
use kit::facts::*;
use kit::{Backend, TestDb};
use serde_json::{json, Value};
use sqlx::Connection;

const PURPOSE: &str = "Adults scrutiny panel 2025-03-04";
/// The entry holding the fixture's seal.
const SEAL: u64 = 12;
/// The last entry the seal covers.
const SEALED_UP_TO: u64 = 11;
/// Entries in the fixture: 11 facts, the seal, two facts after it.
const ENTRIES: u64 = 14;

// ---- the fixture --------------------------------------------------------------------------------

/// A project with eleven facts (`rich_project`), a seal of them at entry 12 and two more facts
/// (a carer joins at 13 and takes a role at 14).
async fn sealed_project(app: &TestApp) -> String {
    let id = rich_project(app).await;
    let sealed = app
        .post(
            Some(&app.tokens.panel),
            &format!("/projects/{id}/assessments"),
            &json!({ "purpose": PURPOSE }),
        )
        .await
        .json_with(201);
    assert_eq!(sealed["seal"]["sequence"], SEAL);
    assert_eq!(sealed["seal"]["at_sequence"], SEALED_UP_TO);
    app.record(&id, joined("p3", "carer", &["young carers"]))
        .await;
    app.record(&id, role_taken("p3", "learner")).await;
    app.assert_sequence(&id, ENTRIES, "the fixture").await;
    id
}

// ---- tampering ----------------------------------------------------------------------------------

/// One change made to the log behind the server's back.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    /// A string field of an entry's payload given another value.
    Payload {
        sequence: u64,
        field: &'static str,
        value: &'static str,
    },
    /// `recorded_by` in an entry's metadata changed (the metadata itself: `recorded_at` is a
    /// column derived from it, `recorded_by` has no column of its own).
    RecordedBy { sequence: u64, name: &'static str },
    /// An entry deleted.
    Delete { sequence: u64 },
    /// Two neighbouring entries trade sequence numbers (so they read back in swapped order).
    Swap { first: u64 },
}

impl Tamper {
    /// The first entry whose digest no longer matches.
    fn first_divergence(self) -> u64 {
        match self {
            Tamper::Payload { sequence, .. }
            | Tamper::RecordedBy { sequence, .. }
            | Tamper::Delete { sequence } => sequence,
            Tamper::Swap { first } => first,
        }
    }

    /// Whether the entries the seal covers are still as they were.
    fn sealed_entries_intact(self) -> bool {
        self.first_divergence() > SEALED_UP_TO
    }

    /// Whether the seal still holds: the entries it covers and the seal entry itself intact.
    fn seal_holds(self) -> bool {
        self.first_divergence() > SEAL
    }

    /// The SQL that makes the change (with the triggers off).
    fn statements(self, backend: Backend, id: &str) -> Vec<String> {
        let row = |sequence: u64| format!("aggregate_id = '{id}' AND sequence = {sequence}");
        match self {
            Tamper::Payload {
                sequence,
                field,
                value,
            } => vec![match backend {
                Backend::Postgres => format!(
                    "UPDATE events SET payload = \
                     jsonb_set(payload::jsonb, '{{{field}}}', to_jsonb('{value}'::text))::json \
                     WHERE {}",
                    row(sequence)
                ),
                Backend::Sqlite => format!(
                    "UPDATE events SET payload = json_set(payload, '$.{field}', '{value}') \
                     WHERE {}",
                    row(sequence)
                ),
            }],
            Tamper::RecordedBy { sequence, name } => vec![match backend {
                Backend::Postgres => format!(
                    "UPDATE events SET metadata = \
                     jsonb_set(metadata::jsonb, '{{recorded_by}}', to_jsonb('{name}'::text))::json \
                     WHERE {}",
                    row(sequence)
                ),
                Backend::Sqlite => format!(
                    "UPDATE events SET metadata = json_set(metadata, '$.recorded_by', '{name}') \
                     WHERE {}",
                    row(sequence)
                ),
            }],
            Tamper::Delete { sequence } => {
                vec![format!("DELETE FROM events WHERE {}", row(sequence))]
            }
            // Through a spare number: the (aggregate, sequence) key stays unique at every step.
            Tamper::Swap { first } => vec![
                format!("UPDATE events SET sequence = 1000000 WHERE {}", row(first)),
                format!(
                    "UPDATE events SET sequence = {first} WHERE {}",
                    row(first + 1)
                ),
                format!(
                    "UPDATE events SET sequence = {} WHERE {}",
                    first + 1,
                    row(1_000_000)
                ),
            ],
        }
    }

    /// The same change made to an exported trail, as text.
    fn edit(self, export: &str) -> String {
        let mut lines: Vec<String> = export.lines().map(str::to_string).collect();
        let index = |sequence: u64| sequence as usize - 1;
        match self {
            Tamper::Payload {
                sequence,
                field,
                value,
            } => {
                let line = &mut lines[index(sequence)];
                let old = parse(line)["data"][field].as_str().unwrap().to_string();
                *line = replace_once(
                    line,
                    &format!("\"{field}\":\"{old}\""),
                    &format!("\"{field}\":\"{value}\""),
                );
            }
            Tamper::RecordedBy { sequence, name } => {
                let line = &mut lines[index(sequence)];
                let old = parse(line)["recorded_by"].as_str().unwrap().to_string();
                *line = replace_once(
                    line,
                    &format!("\"recorded_by\":\"{old}\""),
                    &format!("\"recorded_by\":\"{name}\""),
                );
            }
            Tamper::Delete { sequence } => {
                lines.remove(index(sequence));
            }
            Tamper::Swap { first } => {
                let second = first + 1;
                let (a, b) = (index(first), index(second));
                lines[a] = replace_once(
                    &lines[a],
                    &format!("{{\"sequence\":{first},"),
                    &format!("{{\"sequence\":{second},"),
                );
                lines[b] = replace_once(
                    &lines[b],
                    &format!("{{\"sequence\":{second},"),
                    &format!("{{\"sequence\":{first},"),
                );
                lines.swap(a, b);
            }
        }
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a trail line ({e}): {line}"))
}

/// `text` with the one occurrence of `from` replaced by `to`.
#[track_caller]
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} in {text}");
    text.replacen(from, to, 1)
}

// ---- raw SQL, as a superuser ----------------------------------------------------------------------

/// Runs `statements` in order on one connection; the first error is returned.
async fn sql(db: &TestDb, statements: &[String]) -> Result<(), String> {
    match db.backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .map_err(|e| e.to_string())?;
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{statement}: {e}"))?;
            }
            conn.close().await.ok();
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .map_err(|e| e.to_string())?;
            for statement in statements {
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{statement}: {e}"))?;
            }
            conn.close().await.ok();
        }
    }
    Ok(())
}

/// Switches the append-only triggers (migrations/*/20250301000000_events.sql) off, runs
/// `statements`, and puts the triggers back.
async fn behind_the_triggers(db: &TestDb, statements: &[String]) {
    let (off, on): (&[&str], &[&str]) = match db.backend {
        Backend::Postgres => (
            &["ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete"],
            &["ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete"],
        ),
        Backend::Sqlite => (
            &[
                "DROP TRIGGER events_no_update",
                "DROP TRIGGER events_no_delete",
            ],
            &[
                "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN \
                 SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END",
                "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN \
                 SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END",
            ],
        ),
    };
    let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    sql(db, &owned(off)).await.expect("triggers off");
    let tampered = sql(db, statements).await;
    sql(db, &owned(on)).await.expect("triggers back on");
    tampered.unwrap_or_else(|e| panic!("[{}] tampering: {e}", db.backend));
    // Back in force (the full check is tests/store.rs).
    for statement in [
        "UPDATE events SET event_type = event_type",
        "DELETE FROM events",
    ] {
        let refused = sql(db, &[statement.to_string()]).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "[{}] {statement}: {refused:?}",
            db.backend
        );
    }
}

// ---- the command line -----------------------------------------------------------------------------

fn coprod(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coprod"))
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env("COPROD_MASTER_KEY", kit::TEST_MASTER_KEY)
        .output()
        .expect("run coprod")
}

/// `coprod verify --file PATH`, run in the file's directory with no database named.
fn verify_file(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coprod"))
        .args(["verify", "--file"])
        .arg(path)
        .current_dir(path.parent().expect("a directory"))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env("COPROD_MASTER_KEY", kit::TEST_MASTER_KEY)
        .output()
        .expect("run coprod")
}

/// `coprod export ID`, which must succeed.
fn export(db: &TestDb, id: &str) -> String {
    let out = coprod(db, &["export", id]);
    assert!(
        out.status.success(),
        "[{}] export: {}",
        db.backend,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts exit code 1 and a report naming the divergence at `sequence` and the seal's verdict.
#[track_caller]
/// `with_keys`: the check could open personal data (`coprod verify PROJECT`); an export checked
/// offline cannot, so a seal whose assessment used it cannot be replayed in full there.
fn assert_reports_tampering(
    out: &Output,
    label: &str,
    tamper: Tamper,
    what: &str,
    with_keys: bool,
) {
    let text = stdout(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diverges = format!(
        "{label} DIVERGES at sequence {}\n",
        tamper.first_divergence()
    );
    assert!(text.contains(&diverges), "{what}: {tamper:?}: {text}");
    let verdict = match (tamper.seal_holds(), with_keys) {
        (true, true) => "OK",
        (true, false) => "CANNOT BE REPLAYED IN FULL",
        (false, _) => "FAILS",
    };
    let seal = format!("{label} seal at entry {SEAL} ({PURPOSE}): {verdict}.");
    assert!(text.contains(&seal), "{what}: {tamper:?}: {text}");
}

// ---- the checks -----------------------------------------------------------------------------------

/// Builds a sealed project per tamper (and one left alone), exports each, tampers with the
/// database, and checks that the API, the CLI and both exports all catch every change.
async fn caught_everywhere(tampers: &[Tamper]) {
    each_backend(async |app| {
        let backend = app.backend;
        let control = sealed_project(app).await;
        let mut projects = Vec::new();
        for tamper in tampers {
            projects.push((*tamper, sealed_project(app).await));
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let before: Vec<String> = projects.iter().map(|(_, id)| export(&app.db, id)).collect();

        let statements: Vec<String> = projects
            .iter()
            .flat_map(|(tamper, id)| tamper.statements(backend, id))
            .collect();
        behind_the_triggers(&app.db, &statements).await;

        for ((tamper, id), before) in projects.iter().zip(&before) {
            let tamper = *tamper;
            let what = format!("[{backend}] {tamper:?}");
            let n = tamper.first_divergence();

            // (i) The API.
            let whole = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!("/projects/{id}/verify"),
                )
                .await
                .json_with(200);
            assert_eq!(whole["valid"], false, "{what}: {whole}");
            assert_eq!(whole["first_divergence"], n, "{what}: {whole}");
            assert_ne!(
                whole["expected_digest"], whole["recomputed_digest"],
                "{what}: {whole}"
            );
            let seals = whole["seals"].as_array().expect("seals");
            assert_eq!(seals.len(), 1, "{what}: {whole}");
            let check = &seals[0];
            assert_eq!(check["sequence"], SEAL, "{what}: {check}");
            assert_eq!(check["valid"], tamper.seal_holds(), "{what}: {check}");
            assert_eq!(
                check["stream_digest_matches"],
                tamper.sealed_entries_intact(),
                "{what}: {check}"
            );
            let explanation = check["explanation"].as_str().unwrap();
            if !tamper.sealed_entries_intact() {
                assert!(explanation.contains("altered"), "{what}: {explanation}");
            }
            let own = app
                .get(
                    Some(&app.tokens.panel),
                    &format!("/projects/{id}/assessments/{SEAL}/verify"),
                )
                .await
                .json_with(200);
            assert_eq!(&own, check, "{what}");
            // A receipt kept for an entry before the change still verifies; one after does not.
            // (There is no entry before the first.)
            if n > 1 {
                let receipt = before.lines().nth(n as usize - 2).map(parse).unwrap();
                let kept = app
                    .get(
                        Some(&app.tokens.assurance),
                        &format!(
                            "/projects/{id}/verify?sequence={}&digest={}",
                            receipt["sequence"],
                            receipt["digest"].as_str().unwrap()
                        ),
                    )
                    .await
                    .json_with(200);
                assert_eq!(kept["valid"], true, "{what}: {kept}");
            }
            let last = before.lines().last().map(parse).unwrap();
            let kept = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!(
                        "/projects/{id}/verify?sequence={}&digest={}",
                        last["sequence"],
                        last["digest"].as_str().unwrap()
                    ),
                )
                .await
                .json_with(200);
            assert_eq!(kept["valid"], false, "{what}: {kept}");

            // (ii) coprod verify PROJECT.
            let out = coprod(&app.db, &["verify", id]);
            assert_reports_tampering(&out, id, tamper, &format!("{what} verify PROJECT"), true);

            // (iii) An export made after the change.
            let after = export(&app.db, id);
            let after_path = dir.path().join(format!("after-{id}.ndjson"));
            std::fs::write(&after_path, &after).unwrap();
            let out = verify_file(&after_path);
            let label = after_path.display().to_string();
            assert_reports_tampering(&out, &label, tamper, &format!("{what} export after"), false);

            // (iv) An export made before, edited the same way: the same trail, also caught.
            let edited = tamper.edit(before);
            let lines = |text: &str| text.lines().map(parse).collect::<Vec<_>>();
            assert_eq!(
                lines(&edited),
                lines(&after),
                "{what}: the text edit matches the database change"
            );
            let edited_path = dir.path().join(format!("edited-{id}.ndjson"));
            std::fs::write(&edited_path, &edited).unwrap();
            let out = verify_file(&edited_path);
            let label = edited_path.display().to_string();
            assert_reports_tampering(
                &out,
                &label,
                tamper,
                &format!("{what} edited export"),
                false,
            );
            // The untouched export made before still verifies: it is the record as it was.
            let before_path = dir.path().join(format!("before-{id}.ndjson"));
            std::fs::write(&before_path, before).unwrap();
            let out = verify_file(&before_path);
            assert_eq!(out.status.code(), Some(0), "{what}: {}", stdout(&out));
        }

        // The project left alone still verifies, alone and among the others.
        let out = coprod(&app.db, &["verify", &control]);
        assert_eq!(out.status.code(), Some(0), "[{backend}] {}", stdout(&out));
        assert!(
            stdout(&out).contains(&format!("{control} OK ({ENTRIES} entries, head ")),
            "[{backend}] {}",
            stdout(&out)
        );
        let out = coprod(&app.db, &["verify"]);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {}", stdout(&out));
        let all = stdout(&out);
        assert!(all.contains(&format!("{control} OK (")), "{all}");
        for (tamper, id) in &projects {
            let diverges = format!("{id} DIVERGES at sequence {}", tamper.first_divergence());
            assert!(all.contains(&diverges), "[{backend}] {all}");
        }
        let whole = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{control}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(whole["valid"], true, "[{backend}] {whole}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_payload_is_caught_by_the_api_the_cli_and_any_export() {
    caught_everywhere(&[
        // How a decision was made, before the seal (it changes the assessment too).
        Tamper::Payload {
            sequence: 8,
            field: "method",
            value: "professional_only",
        },
        // The seal's own record of the body it covers.
        Tamper::Payload {
            sequence: SEAL,
            field: "assessment_digest",
            value: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        },
        // What kind of participant joined, after the seal.
        Tamper::Payload {
            sequence: 13,
            field: "kind",
            value: "professional",
        },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_recorded_by_is_caught_by_the_api_the_cli_and_any_export() {
    caught_everywhere(&[
        Tamper::RecordedBy {
            sequence: 6,
            name: "mallory",
        },
        Tamper::RecordedBy {
            sequence: 14,
            name: "mallory",
        },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_entry_is_caught_by_the_api_the_cli_and_any_export() {
    caught_everywhere(&[
        Tamper::Delete { sequence: 1 },
        Tamper::Delete { sequence: 9 },
        Tamper::Delete { sequence: 13 },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_entries_trading_places_are_caught_by_the_api_the_cli_and_any_export() {
    caught_everywhere(&[
        Tamper::Swap { first: 1 },
        Tamper::Swap { first: 3 },
        Tamper::Swap { first: 13 },
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_export_verifies_offline_and_its_seals_replay_in_full_with_the_keys() {
    each_backend(async |app| {
        let backend = app.backend;
        let id = sealed_project(app).await;
        // A second seal, of a past instant, and a correction after both.
        let trail = app.trail(&id).await;
        let as_of = trail[6]["recorded_at"].as_str().unwrap();
        app.post(
            Some(&app.tokens.assurance),
            &format!("/projects/{id}/assessments"),
            &json!({ "purpose": "Annual report", "as_of": as_of }),
        )
        .await
        .expect(201);
        app.record(&id, correction(9)).await;

        let exported = export(&app.db, &id);
        // The API's NDJSON export is the same trail, byte for byte.
        let api = app
            .send(
                app.request(
                    reqwest::Method::GET,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.assurance),
                )
                .header("Accept", "application/x-ndjson"),
            )
            .await
            .expect(200);
        assert_eq!(api.text(), exported, "[{backend}]");

        // Checked in an empty directory with no database named: none is needed or created.
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("trail.ndjson");
        std::fs::write(&path, &exported).unwrap();
        let out = verify_file(&path);
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{backend}] {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let label = path.display().to_string();
        let head = exported.lines().last().map(parse).unwrap()["digest"].clone();
        assert!(
            text.contains(&format!(
                "{label} OK (16 entries, head {})\n",
                head.as_str().unwrap()
            )),
            "[{backend}] {text}"
        );
        assert!(
            text.contains(&format!(
                "{label} seal at entry 12 ({PURPOSE}): CANNOT BE REPLAYED IN FULL. The sealed assessment cannot be replayed in full: the personal data it used is encrypted and this check has no keys. The entries up to 11 are unaltered."
            )),
            "[{backend}] {text}"
        );
        assert!(
            text.contains(&format!(
                "{label} seal at entry 15 (Annual report): CANNOT BE REPLAYED IN FULL. The sealed assessment cannot be replayed in full: the personal data it used is encrypted and this check has no keys. The entries up to 7 are unaltered."
            )),
            "[{backend}] {text}"
        );
        assert_eq!(text.lines().count(), 3, "[{backend}] {text}");
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            files,
            ["trail.ndjson"],
            "[{backend}] nothing else was created"
        );

        // The database's own check says the same of the chain, and with the master key it
        // replays both seals in full.
        let out = coprod(&app.db, &["verify", &id]);
        assert_eq!(out.status.code(), Some(0), "[{backend}] {}", stdout(&out));
        let with_keys = stdout(&out).replace(&id, &label);
        assert_eq!(with_keys.lines().next(), text.lines().next(), "[{backend}]");
        for seal in ["12 ({PURPOSE})", "15 (Annual report)"] {
            let seal = seal.replace("{PURPOSE}", PURPOSE);
            assert!(
                with_keys.contains(&format!("{label} seal at entry {seal}: OK. The seal holds")),
                "[{backend}] {with_keys}"
            );
        }

        // A file that is not a trail is refused, not passed.
        let junk = dir.path().join("junk.ndjson");
        std::fs::write(&junk, format!("{exported}not json\n")).unwrap();
        let out = verify_file(&junk);
        assert_eq!(out.status.code(), Some(1), "[{backend}] {}", stdout(&out));
        assert!(
            stdout(&out).contains("line 17 is not a trail entry"),
            "{}",
            stdout(&out)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_entry_is_caught_by_the_receipt_kept_for_it() {
    each_backend(async |app| {
        let backend = app.backend;
        let id = sealed_project(app).await;
        let newest = app.record(&id, role_taken("p3", "peer_supporter")).await;
        assert_eq!(newest["last_sequence"], ENTRIES + 1);
        behind_the_triggers(
            &app.db,
            &[format!(
                "DELETE FROM events WHERE aggregate_id = '{id}' AND sequence = {}",
                ENTRIES + 1
            )],
        )
        .await;
        // What is left is a consistent chain on its own ...
        let whole = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(
            whole["first_divergence"],
            Value::Null,
            "[{backend}] {whole}"
        );
        assert_eq!(whole["sequence"], ENTRIES, "[{backend}] {whole}");
        // ... so only the receipt the client kept shows the entry is gone.
        let receipt = app
            .get(
                Some(&app.tokens.assurance),
                &format!(
                    "/projects/{id}/verify?sequence={}&digest={}",
                    newest["last_sequence"],
                    newest["digest"].as_str().unwrap()
                ),
            )
            .await
            .json_with(200);
        assert_eq!(receipt["valid"], false, "[{backend}] {receipt}");
        assert_eq!(receipt["recomputed_digest"], Value::Null, "[{backend}]");
        assert_eq!(receipt["first_divergence"], ENTRIES + 1, "[{backend}]");
    })
    .await;
}
