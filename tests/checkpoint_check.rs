//! docs/verify_checkpoint.py — the checkpoint checker an outside auditor can read — agrees with
//! Coprod: it finds every root, proof and signature of the committed test vectors sound and
//! names what fails in a tampered copy; and, given a checkpoint, a head proof and an exported
//! trail, it finds the trail intact, or truncated, rewritten or rolled back, as Coprod does.

mod kit;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use coprod_domain::checkpoint::{check_trail, CheckpointLog, CheckpointSigningKey, Head};
use coprod_domain::digest::{chain_next, DIGEST_KEY};
use coprod_domain::{Digest, StoredEntry};
use serde_json::{json, Value};
use uuid::Uuid;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_checkpoint.py");
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/domain/tests/vectors/checkpoint_vectors.json"
);
/// RFC 8032's TEST 1 key, the one the vectors are signed with: public, so plainly not a secret.
const TEST_SECRET_KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const OTHER_SECRET_KEY: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/// Runs the checker: whether it exited 0, and what it said.
fn run(python: &str, args: &[&Path]) -> (bool, String) {
    let output = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run the checker");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a file");
    path
}

// ---- the test vectors ---------------------------------------------------------------------------

#[test]
fn the_python_checker_finds_every_root_proof_and_signature_of_the_vectors_sound() {
    let Some(python) = kit::python("docs/verify_checkpoint.py") else {
        return;
    };
    let (ok, said) = run(python, &[Path::new("--vectors"), Path::new(VECTORS)]);
    assert!(ok, "{said}");
    assert!(
        said.contains("210 inclusion and 210 consistency proofs"),
        "{said}"
    );
    assert!(said.contains("3 signed checkpoints"), "{said}");
    assert!(said.starts_with("Ed25519: 2 RFC 8032 vectors"), "{said}");
}

fn flip_last_hex_digit(value: &mut Value) {
    let text = value.as_str().expect("a string").to_string();
    let last = if text.ends_with('0') { '1' } else { '0' };
    *value = json!(format!("{}{last}", &text[..text.len() - 1]));
}

#[test]
fn given_a_tampered_copy_of_the_vectors_when_checked_then_the_python_checker_fails_and_says_what() {
    let Some(python) = kit::python("docs/verify_checkpoint.py") else {
        return;
    };
    let original: Value = serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap();
    type Tampering = fn(&mut Value);
    let tamperings: Vec<(&str, Tampering, &str)> = vec![
        (
            "a root",
            |v| flip_last_hex_digit(&mut v["tree"]["roots"][7]["root"]),
            "the root of the tree of 7 leaves is wrong",
        ),
        (
            "an inclusion proof",
            |v| flip_last_hex_digit(&mut v["tree"]["inclusion_proofs"][20]["path"][1]),
            "the inclusion proof of leaf 5 in the tree of 6 leaves does not hold",
        ),
        (
            "a consistency proof",
            |v| flip_last_hex_digit(&mut v["tree"]["consistency_proofs"][40]["path"][0]),
            "the consistency proof from 5 to 9 leaves does not hold",
        ),
        (
            "a signed checkpoint's log size",
            |v| v["checkpoints"]["signed"][1]["checkpoint"]["log"]["size"] = json!(4),
            "the signature of checkpoint 2 does not match its contents",
        ),
        (
            "a signature",
            |v| flip_last_hex_digit(&mut v["checkpoints"]["signed"][2]["signature"]),
            "the signature of checkpoint 3 does not match its contents",
        ),
        (
            "the key id, with a signature made by another key",
            |v| {
                let other = CheckpointSigningKey::from_hex(OTHER_SECRET_KEY).unwrap();
                let body =
                    serde_json::from_value(v["checkpoints"]["signed"][0]["checkpoint"].clone())
                        .unwrap();
                v["checkpoints"]["signed"][0] = serde_json::to_value(other.sign(body)).unwrap();
            },
            "checkpoint 1 was signed with key sha256:",
        ),
        (
            "a logged head removed",
            |v| {
                v["checkpoints"]["logged"].as_array_mut().unwrap().remove(6);
            },
            "checkpoint 3's log is not the tree of the heads logged up to it",
        ),
        (
            "a head proof of an older head",
            |v| {
                // Project 1's checkpoint 1 head, offered as its head at checkpoint 2.
                let older = v["checkpoints"]["head_proofs"][0]["head"].clone();
                v["checkpoints"]["head_proofs"][3]["head"] = older;
            },
            "tree proof of project 00000000-0000-4000-8000-000000000001 entry 3 in checkpoint 2 \
             does not lead to its signed root",
        ),
        (
            "a consistency proof between checkpoints",
            |v| flip_last_hex_digit(&mut v["checkpoints"]["consistency_proofs"][1]["path"][0]),
            "the consistency proof from checkpoint 1 to 2 does not hold",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, tamper, expected) in tamperings {
        let mut copy = original.clone();
        tamper(&mut copy);
        let path = write(dir.path(), "tampered.json", &copy.to_string());
        let (ok, said) = run(python, &[Path::new("--vectors"), &path]);
        assert!(!ok, "{what} tampered with, yet the checker passed: {said}");
        assert!(said.contains(expected), "{what}: {said}");
        assert!(said.contains("FAILED"), "{what}: {said}");
    }
}

// ---- a checkpoint, a proof and a trail, offline -------------------------------------------------

fn project_id() -> Uuid {
    "0b6f3c9e-2d4a-4c1b-9f7e-5a8d2e1c3b40".parse().unwrap()
}

/// A project's stored entries up to `length`, `wording` varying the notes after the first `keep`.
fn entries(length: u64, keep: u64, wording: &str) -> Vec<StoredEntry> {
    let mut head = Digest::ZERO;
    (1..=length)
        .map(|sequence| {
            let payload = if sequence == 1 {
                json!({"type": "project_registered", "project_id": project_id(),
                       "title": "Short breaks redesign — Café group", "started_on": "2025-01-06"})
            } else {
                let note = if sequence <= keep { "note" } else { wording };
                json!({"type": "note_recorded", "text": format!("{note} {sequence}")})
            };
            let mut entry = StoredEntry {
                aggregate_id: project_id().to_string(),
                sequence,
                event_type: payload["type"].as_str().unwrap().to_string(),
                event_version: "1".into(),
                payload,
                metadata: BTreeMap::from([
                    (
                        "recorded_at".to_string(),
                        format!("2025-03-01T09:{sequence:02}:00.000000Z"),
                    ),
                    ("recorded_by".to_string(), "officer \"Sam\"".to_string()),
                ]),
            };
            head = chain_next(&head, &entry);
            entry
                .metadata
                .insert(DIGEST_KEY.to_string(), head.to_string());
            entry
        })
        .collect()
}

/// The trail as `coprod export` writes it.
fn ndjson(entries: &[StoredEntry]) -> String {
    entries
        .iter()
        .map(|e| serde_json::to_string(&coprod::trail::trail_entry(e, None)).unwrap() + "\n")
        .collect()
}

fn head_of(entries: &[StoredEntry]) -> Head {
    let last = entries.last().unwrap();
    Head {
        project_id: project_id(),
        sequence: last.sequence,
        digest: last.stored_digest().unwrap(),
    }
}

#[test]
fn given_a_checkpointed_trail_when_checked_offline_then_truncation_rewriting_and_rollback_are_found_as_coprod_finds_them(
) {
    let Some(python) = kit::python("docs/verify_checkpoint.py") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = CheckpointSigningKey::from_hex(TEST_SECRET_KEY).unwrap();
    let public_key = write(
        dir.path(),
        "checkpoint.pub",
        &format!("{}\n", key.public_key()),
    );
    let made_at = |hour| Utc.with_ymd_and_hms(2025, 3, 1, hour, 0, 0).unwrap();

    // Checkpoint 1 when the project had 4 entries; checkpoint 2 when it had 6.
    let mut log = CheckpointLog::new();
    let first = log
        .append(&[head_of(&entries(4, 4, "note"))], made_at(10), &key)
        .unwrap()
        .checkpoint;
    let trail = entries(6, 6, "note");
    let latest = log
        .append(&[head_of(&trail)], made_at(11), &key)
        .unwrap()
        .checkpoint;
    let checkpoint = write(
        dir.path(),
        "cp2.json",
        &serde_json::to_string(&latest).unwrap(),
    );
    let earlier = write(
        dir.path(),
        "cp1.json",
        &serde_json::to_string(&first).unwrap(),
    );
    let proof = log.head_proof(2, project_id()).unwrap();
    let proof = write(
        dir.path(),
        "proof.json",
        &serde_json::to_string(&proof).unwrap(),
    );
    let consistency = log.consistency_proof(1, 2).unwrap();
    let consistency = write(
        dir.path(),
        "consistency.json",
        &serde_json::to_string(&consistency).unwrap(),
    );
    let check = |trail: &[StoredEntry]| {
        let path = write(dir.path(), "trail.ndjson", &ndjson(trail));
        let args = [
            Path::new("--public-key"),
            &public_key,
            &checkpoint,
            Path::new("--proof"),
            &proof,
            Path::new("--trail"),
            &path,
            Path::new("--earlier"),
            &earlier,
            Path::new("--consistency"),
            &consistency,
        ];
        run(python, &args)
    };
    let checkpointed = head_of(&trail);

    let (ok, said) = check(&trail);
    assert!(ok, "{said}");
    assert!(
        said.contains("the trail holds checkpoint 2's head (entry 6)"),
        "{said}"
    );
    assert!(
        said.contains("checkpoint 2's log extends checkpoint 1's"),
        "{said}"
    );
    let (ok, said) = check(&entries(9, 9, "note"));
    assert!(ok, "a trail that moved on still holds the head: {said}");

    let cases = [
        ("truncated", entries(4, 4, "note"), "entries were removed"),
        (
            "rewritten from entry 3",
            entries(6, 2, "forged"),
            "the trail was rewritten or rolled back at or before entry 6",
        ),
        (
            "rolled back to 4 and extended",
            entries(8, 4, "replacement"),
            "the trail was rewritten or rolled back at or before entry 6",
        ),
    ];
    for (what, tampered, expected) in cases {
        let (ok, said) = check(&tampered);
        assert!(!ok, "a {what} trail passed: {said}");
        assert!(said.contains(expected), "{what}: {said}");
        // Coprod's own check finds the same.
        let coprod = check_trail(&tampered, &checkpointed)
            .unwrap_err()
            .to_string();
        assert!(coprod.contains(expected), "{what}: {coprod}");
    }

    // Another key, and a checkpoint altered after signing.
    let other = CheckpointSigningKey::from_hex(OTHER_SECRET_KEY).unwrap();
    let other_key = write(dir.path(), "other.pub", &other.public_key().to_string());
    let (ok, said) = run(
        python,
        &[Path::new("--public-key"), &other_key, &checkpoint],
    );
    assert!(
        !ok && said.contains("checkpoint 2 was signed with key"),
        "{said}"
    );
    let mut altered = latest.clone();
    altered.checkpoint.made_at = made_at(12);
    let altered = write(
        dir.path(),
        "altered.json",
        &serde_json::to_string(&altered).unwrap(),
    );
    let (ok, said) = run(python, &[Path::new("--public-key"), &public_key, &altered]);
    assert!(
        !ok && said.contains("the signature of checkpoint 2 does not match its contents"),
        "{said}"
    );
}
