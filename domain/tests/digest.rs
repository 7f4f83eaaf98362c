//! The stream digest against committed test vectors (tests/vectors/digest_vectors.json), which
//! were cross-checked independently with Python's hashlib and json.dumps; then tampering, and the
//! `sha256:` text form.

use std::collections::BTreeMap;

use coprod_domain::digest::{canonical_json, chain_next, verify_chain, DIGEST_KEY};
use coprod_domain::recorded::{format_instant, RecordedEvent};
use coprod_domain::{Digest, StoredEntry};
use serde::Deserialize;
use serde_json::{json, Value};

const VECTORS: &str = include_str!("vectors/digest_vectors.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    description: String,
    entries: Vec<Vector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    entry: StoredEntry,
    canonical_json: String,
    digest_after: Digest,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("the vectors file parses")
}

/// The vector entries exactly as in the file (only the last carries a stored digest).
fn entries() -> Vec<StoredEntry> {
    vectors().entries.into_iter().map(|v| v.entry).collect()
}

/// The vector entries as the store keeps them: each with its digest in the metadata.
fn stored() -> Vec<StoredEntry> {
    vectors()
        .entries
        .into_iter()
        .map(|v| {
            let mut entry = v.entry;
            entry
                .metadata
                .insert(DIGEST_KEY.into(), v.digest_after.to_string());
            entry
        })
        .collect()
}

fn digest_after() -> Vec<Digest> {
    vectors().entries.iter().map(|v| v.digest_after).collect()
}

// ---- the vectors --------------------------------------------------------------------------------

#[test]
fn the_vectors_are_the_first_six_entries_of_one_project() {
    let vectors = vectors();
    assert!(vectors.description.contains("head_0 is 32 zero bytes"));
    assert_eq!(vectors.entries.len(), 6);
    let project = &vectors.entries[0].entry.aggregate_id;
    for (i, vector) in vectors.entries.iter().enumerate() {
        assert_eq!(vector.entry.sequence, i as u64 + 1);
        assert_eq!(&vector.entry.aggregate_id, project);
        assert_eq!(vector.entry.event_version, "1");
    }
}

#[test]
fn canonical_json_of_each_entry_is_the_one_in_the_vectors() {
    for vector in vectors().entries {
        assert_eq!(
            vector.entry.canonical_json(),
            vector.canonical_json,
            "entry {}",
            vector.entry.sequence
        );
    }
}

#[test]
fn the_canonical_json_is_the_entry_written_with_sorted_keys_and_no_whitespace() {
    // A second route to the same text: the entry serialised as a whole by serde, the digest
    // dropped, and the result written by the free `canonical_json` function.
    for vector in vectors().entries {
        let mut value = serde_json::to_value(&vector.entry).unwrap();
        value["metadata"]
            .as_object_mut()
            .unwrap()
            .remove(DIGEST_KEY);
        assert_eq!(canonical_json(&value), vector.canonical_json);
    }
}

#[test]
fn the_chain_heads_are_the_ones_in_the_vectors() {
    let mut head = Digest::ZERO;
    for vector in vectors().entries {
        head = chain_next(&head, &vector.entry);
        assert_eq!(head, vector.digest_after, "entry {}", vector.entry.sequence);
    }
    let check = verify_chain(&entries());
    assert_eq!(check.heads, digest_after());
    assert_eq!(check.head, *digest_after().last().unwrap());
}

#[test]
fn the_first_head_is_the_sha256_of_32_zero_bytes_followed_by_the_canonical_json() {
    let first = &vectors().entries[0];
    let mut bytes = vec![0u8; 32];
    bytes.extend_from_slice(first.canonical_json.as_bytes());
    assert_eq!(Digest::of_bytes(&bytes), first.digest_after);
}

#[test]
fn each_head_is_the_sha256_of_the_previous_head_followed_by_the_canonical_json() {
    let vectors = vectors();
    for pair in vectors.entries.windows(2) {
        let mut bytes = pair[0].digest_after.0.to_vec();
        bytes.extend_from_slice(pair[1].canonical_json.as_bytes());
        assert_eq!(Digest::of_bytes(&bytes), pair[1].digest_after);
    }
}

#[test]
fn the_stored_digest_in_the_metadata_is_left_out_of_the_canonical_json() {
    let last = vectors().entries.pop().unwrap();
    assert!(last.entry.metadata.contains_key(DIGEST_KEY));
    assert!(!last.canonical_json.contains("\"digest\""));

    let mut other_digest = last.entry.clone();
    other_digest
        .metadata
        .insert(DIGEST_KEY.into(), format!("sha256:{}", "0".repeat(64)));
    let mut no_digest = last.entry.clone();
    no_digest.metadata.remove(DIGEST_KEY);
    assert_eq!(other_digest.canonical_json(), last.canonical_json);
    assert_eq!(no_digest.canonical_json(), last.canonical_json);
}

#[test]
fn the_vectors_cover_non_ascii_text_escapes_and_unsorted_keys() {
    let canonical: Vec<String> = vectors()
        .entries
        .into_iter()
        .map(|v| v.canonical_json)
        .collect();
    // Non-ASCII stays literal UTF-8, including a character outside the BMP.
    assert!(canonical[1].contains("Café group"));
    assert!(canonical[1].contains('🌱'));
    // Quotes, backslashes, newline, tab and U+0001, in the payload and in the metadata.
    assert!(canonical[3].contains(
        r#"She said \"evening sessions\" work best.\nSee C:\\carers\\forum\tnotes;\u0001end"#
    ));
    assert!(canonical[3].contains(r#"\"night shift\" \\ desk"#));
    // The votes object, written for/against/abstain, is hashed abstain/against/for.
    assert!(canonical[4].contains(r#""votes":{"abstain":[],"against":[],"for":["p-001"]}"#));
    // The file itself keeps insertion order, so a reader must sort.
    let for_at = VECTORS.find("\"for\":").unwrap();
    let abstain_at = VECTORS.find("\"abstain\":").unwrap();
    assert!(for_at < abstain_at);
}

#[test]
fn every_vector_entry_decodes_as_a_recorded_event() {
    for entry in stored() {
        let recorded = RecordedEvent::from_stored(&entry).expect("decodes");
        assert_eq!(recorded.sequence, entry.sequence);
        assert_eq!(recorded.event.type_name(), entry.event_type);
        assert_eq!(recorded.recorded_by, entry.metadata["recorded_by"]);
        assert_eq!(
            format_instant(recorded.recorded_at),
            entry.metadata["recorded_at"]
        );
        assert_eq!(Some(recorded.digest), entry.stored_digest());
    }
}

// ---- verifying a stored stream --------------------------------------------------------------------

#[test]
fn a_stream_whose_stored_digests_match_reports_no_divergence() {
    let check = verify_chain(&stored());
    assert_eq!(check.first_divergence, None);
    assert_eq!(check.heads, digest_after());
}

#[test]
fn a_prefix_of_the_stream_verifies_on_its_own() {
    let check = verify_chain(&stored()[..3]);
    assert_eq!(check.first_divergence, None);
    assert_eq!(check.head, digest_after()[2]);
}

#[test]
fn an_empty_stream_has_the_zero_head_and_no_divergence() {
    let check = verify_chain(&[]);
    assert_eq!(check.head, Digest::ZERO);
    assert_eq!(check.first_divergence, None);
    assert!(check.heads.is_empty());
}

#[test]
fn entries_stored_without_digests_diverge_at_the_first() {
    let check = verify_chain(&entries());
    assert_eq!(check.first_divergence, Some(1));
}

#[test]
fn a_changed_payload_is_found_at_its_entry() {
    let mut entries = stored();
    entries[2].payload["stage"] = json!("design");
    let check = verify_chain(&entries);
    assert_eq!(check.first_divergence, Some(3));
    assert_eq!(check.heads[..2], digest_after()[..2]);
    assert_ne!(check.heads[2], digest_after()[2]);
}

#[test]
fn a_changed_recorded_by_is_found_at_its_entry() {
    let mut entries = stored();
    entries[4]
        .metadata
        .insert("recorded_by".into(), "recorder:somebody-else".into());
    assert_eq!(verify_chain(&entries).first_divergence, Some(5));
}

#[test]
fn a_changed_recorded_at_is_found_at_its_entry() {
    let mut entries = stored();
    entries[5]
        .metadata
        .insert("recorded_at".into(), "2025-01-11T09:15:43.000000Z".into());
    assert_eq!(verify_chain(&entries).first_divergence, Some(6));
}

#[test]
fn an_added_metadata_field_is_found_at_its_entry() {
    let mut entries = stored();
    entries[1].metadata.insert("note".into(), "edited".into());
    assert_eq!(verify_chain(&entries).first_divergence, Some(2));
}

#[test]
fn a_removed_entry_is_found_at_its_sequence() {
    let mut entries = stored();
    entries.remove(2);
    assert_eq!(verify_chain(&entries).first_divergence, Some(3));
}

#[test]
fn two_swapped_entries_are_found_at_the_first_of_them() {
    let mut entries = stored();
    entries.swap(3, 4);
    assert_eq!(verify_chain(&entries).first_divergence, Some(4));
}

#[test]
fn swapped_entries_are_found_even_when_renumbered_and_their_digests_kept() {
    let mut entries = stored();
    entries.swap(3, 4);
    entries[3].sequence = 4;
    entries[4].sequence = 5;
    assert_eq!(verify_chain(&entries).first_divergence, Some(4));
}

#[test]
fn a_wrong_stored_digest_is_found_at_its_entry() {
    let mut entries = stored();
    let previous = entries[3].metadata[DIGEST_KEY].clone();
    entries[4].metadata.insert(DIGEST_KEY.into(), previous);
    let check = verify_chain(&entries);
    assert_eq!(check.first_divergence, Some(5));
    // The recomputed chain itself is unaffected: the digest is not hashed.
    assert_eq!(check.heads, digest_after());
}

#[test]
fn a_malformed_stored_digest_is_a_divergence() {
    let mut entries = stored();
    let upper = entries[1].metadata[DIGEST_KEY].to_uppercase();
    entries[1].metadata.insert(DIGEST_KEY.into(), upper);
    assert_eq!(verify_chain(&entries).first_divergence, Some(2));
}

#[test]
fn a_rewritten_chain_still_reveals_an_entry_from_another_project() {
    // Even with every stored digest recomputed to match, an entry of another stream is out of place.
    let mut entries = stored();
    entries[3].aggregate_id = "7d1f0a2b-0000-4000-8000-000000000000".into();
    let mut head = Digest::ZERO;
    for entry in &mut entries {
        head = chain_next(&head, entry);
        entry.metadata.insert(DIGEST_KEY.into(), head.to_string());
    }
    assert_eq!(verify_chain(&entries).first_divergence, Some(4));
}

// ---- the digest's text form ---------------------------------------------------------------------------

#[test]
fn a_digest_displays_as_sha256_and_lowercase_hex_and_parses_back() {
    for digest in digest_after() {
        let text = digest.to_string();
        assert!(text.starts_with("sha256:"));
        assert_eq!(text.len(), 7 + 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<Digest>(), Ok(digest));
        assert_eq!(format!("{digest:?}"), text);
    }
    assert_eq!(
        Digest::ZERO.to_string(),
        format!("sha256:{}", "0".repeat(64))
    );
}

#[test]
fn the_digest_of_abc_is_the_published_sha256_test_vector() {
    assert_eq!(
        Digest::of_bytes(b"abc").to_string(),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn malformed_digest_strings_are_refused() {
    let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert!(format!("sha256:{good}").parse::<Digest>().is_ok());
    let bad = [
        good.to_string(),                          // missing prefix
        format!("sha256:{}", good.to_uppercase()), // uppercase hex
        format!("sha256:{}", &good[..63]),         // short
        format!("sha256:{}", &good[..62]),         // short, even length
        format!("sha256:{good}0"),                 // long
        format!("sha256:{good}00"),                // long, even length
        format!("SHA256:{good}"),                  // uppercase prefix
        format!("sha-256:{good}"),                 // other prefix
        format!("sha256: {good}"),                 // space
        format!("sha256:{good}\n"),                // trailing newline
        format!("sha256:{}g", &good[..63]),        // not hex
        "sha256:".to_string(),
        String::new(),
    ];
    for text in bad {
        assert!(text.parse::<Digest>().is_err(), "{text:?} was accepted");
    }
}

#[test]
fn a_digest_is_serialised_as_its_text_and_malformed_text_is_refused() {
    let digest = digest_after()[0];
    let value = serde_json::to_value(digest).unwrap();
    assert_eq!(value, Value::String(digest.to_string()));
    assert_eq!(serde_json::from_value::<Digest>(value).unwrap(), digest);
    let upper = Value::String(digest.to_string().to_uppercase());
    assert!(serde_json::from_value::<Digest>(upper).is_err());
}

// ---- canonical JSON ------------------------------------------------------------------------------------

#[test]
fn canonical_json_sorts_keys_at_every_depth_by_their_utf8_bytes() {
    let value = json!({
        "é": 1,
        "b": {"z": [ {"y": 1, "x": 2} ], "a": null},
        "a": true,
        "B": false,
        "aa": -7,
    });
    assert_eq!(
        canonical_json(&value),
        r#"{"B":false,"a":true,"aa":-7,"b":{"a":null,"z":[{"x":2,"y":1}]},"é":1}"#
    );
}

#[test]
fn canonical_json_escapes_only_quotes_backslashes_and_control_characters() {
    let value = json!("q\" b\\ \u{8}\u{c}\n\r\t \u{0}\u{1}\u{1f} del\u{7f} / é 🌱 \u{2028}");
    assert_eq!(
        canonical_json(&value),
        "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0000\\u0001\\u001f del\u{7f} / é 🌱 \u{2028}\""
    );
}

#[test]
fn canonical_json_writes_no_insignificant_whitespace() {
    let value: Value =
        serde_json::from_str("{ \"a\" : [ 1 , 2 ] ,\n \"b\" : { } , \"c\" : [ ] }").unwrap();
    assert_eq!(canonical_json(&value), r#"{"a":[1,2],"b":{},"c":[]}"#);
}

#[test]
fn the_entry_fields_are_hashed_in_sorted_order() {
    let entry = StoredEntry {
        aggregate_id: "x".into(),
        sequence: 1,
        event_type: "t".into(),
        event_version: "1".into(),
        payload: json!({"type": "t"}),
        metadata: BTreeMap::from([
            ("recorded_by".to_string(), "r".to_string()),
            (DIGEST_KEY.to_string(), "ignored".to_string()),
        ]),
    };
    assert_eq!(
        entry.canonical_json(),
        r#"{"aggregate_id":"x","event_type":"t","event_version":"1","metadata":{"recorded_by":"r"},"payload":{"type":"t"},"sequence":1}"#
    );
}
