//! Decoding stored entries for the read side: `RecordedEvent::from_text` (straight from the
//! stored text, as rebuilding views reads) must agree with `RecordedEvent::from_stored` (from
//! JSON values) on every entry, and refuse what it refuses.

use std::collections::BTreeMap;

use coprod_domain::digest::{chain_next, DIGEST_KEY, RECORDED_AT_KEY, RECORDED_BY_KEY};
use coprod_domain::recorded::{format_instant, DecodeError, RecordedEvent};
use coprod_domain::testkit::facts::{self, joined, registered, RECORDER};
use coprod_domain::{
    Digest, ParticipantKind, Personal, ProjectEvent, SealedValue, StoredEntry, EVENT_VERSION,
};

fn entry(sequence: u64, event: ProjectEvent, previous: &Digest) -> StoredEntry {
    let mut entry = StoredEntry {
        aggregate_id: facts::PROJECT_ID.into(),
        sequence,
        event_type: event.type_name().into(),
        event_version: EVENT_VERSION.into(),
        payload: serde_json::to_value(&event).unwrap(),
        metadata: BTreeMap::from([
            (RECORDED_AT_KEY.to_string(), format_instant(facts::now())),
            (RECORDED_BY_KEY.to_string(), RECORDER.to_string()),
            ("request_id".to_string(), "r-1".to_string()),
        ]),
    };
    let head = chain_next(previous, &entry);
    entry.metadata.insert(DIGEST_KEY.into(), head.to_string());
    entry
}

/// Decodes `entry` from its text, as the store reads it back.
fn from_text(entry: &StoredEntry) -> Result<RecordedEvent, DecodeError> {
    RecordedEvent::from_text(
        entry.sequence,
        &entry.payload.to_string(),
        &serde_json::to_string(&entry.metadata).unwrap(),
    )
}

fn sample() -> Vec<StoredEntry> {
    let mut sealed = joined("p2", ParticipantKind::Carer);
    sealed.groups = Personal::Sealed(SealedValue {
        cipher: "aes-256-gcm".into(),
        nonce: "AAAAAAAAAAAAAAAA".into(),
        ciphertext: "c2VhbGVk".into(),
    });
    let events = [
        registered(),
        ProjectEvent::ParticipantJoined(joined("p1", ParticipantKind::LivedExperience)),
        ProjectEvent::ParticipantJoined(sealed),
    ];
    let mut head = Digest::ZERO;
    let mut entries = Vec::new();
    for (i, event) in events.into_iter().enumerate() {
        let next = entry(i as u64 + 1, event, &head);
        head = next.stored_digest().unwrap();
        entries.push(next);
    }
    entries
}

#[test]
fn decoding_from_text_agrees_with_decoding_from_json_values() {
    for entry in sample() {
        let from_values = RecordedEvent::from_stored(&entry).expect("decodes from values");
        assert_eq!(from_text(&entry), Ok(from_values));
    }
}

#[test]
fn decoding_from_text_refuses_what_decoding_from_values_refuses() {
    let entry = &sample()[1];
    for field in [RECORDED_AT_KEY, RECORDED_BY_KEY, DIGEST_KEY] {
        let mut broken = entry.clone();
        broken.metadata.remove(field);
        let expected = RecordedEvent::from_stored(&broken).unwrap_err();
        assert!(matches!(expected, DecodeError::Metadata { .. }));
        assert_eq!(from_text(&broken), Err(expected), "without {field}");
    }
    let mut malformed = entry.clone();
    malformed
        .metadata
        .insert(RECORDED_AT_KEY.into(), "1 March 2025".into());
    assert_eq!(
        from_text(&malformed),
        Err(DecodeError::Metadata {
            sequence: 2,
            field: RECORDED_AT_KEY
        })
    );
    let mut unknown = entry.clone();
    unknown.payload["type"] = "participant_teleported".into();
    assert!(matches!(
        from_text(&unknown),
        Err(DecodeError::Payload { sequence: 2, .. })
    ));
    assert!(RecordedEvent::from_stored(&unknown).is_err());
}
