//! The audit trail as readers see it: each stored entry with who recorded it, when, its digest
//! and which later correction (if any) withdrew it. Shared by the API, its NDJSON export and the
//! `coprod export` command, so that all three say the same thing.

use std::collections::BTreeMap;

use coprod_domain::digest::{DIGEST_KEY, RECORDED_AT_KEY, RECORDED_BY_KEY};
use coprod_domain::personal::shown_field;
use coprod_domain::{RecordedEvent, StoredEntry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrailEntry {
    pub sequence: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: String,
    pub occurred_on: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
    /// The event's fields as stored, without its `type`.
    pub data: Value,
    /// The chain head after this entry.
    pub digest: String,
    /// The sequence of the correction that withdrew this entry, if any.
    pub withdrawn_by: Option<u64>,
    /// The entry's personal field (`groups` or `summary`, stored encrypted in `data`) as the
    /// reader may see it: decrypted, or `"erased"`. Only for readers allowed to see personal
    /// data, and never in exports (which are for checking, not reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data: Option<Value>,
}

/// Adds to `trail` the personal fields of `opened` (the same entries, decoded and opened).
pub fn add_personal_data(trail: &mut [TrailEntry], opened: &[RecordedEvent]) {
    let shown: BTreeMap<u64, (&str, Value)> = opened
        .iter()
        .filter_map(|e| shown_field(&e.event).map(|field| (e.sequence, field)))
        .collect();
    for entry in trail {
        if let Some((name, value)) = shown.get(&entry.sequence) {
            entry.personal_data = Some(serde_json::json!({ *name: value }));
        }
    }
}

/// Which entry withdrew which: target sequence → correction sequence.
pub fn withdrawals(entries: &[StoredEntry]) -> BTreeMap<u64, u64> {
    entries
        .iter()
        .filter(|e| e.event_type == "correction_recorded")
        .filter_map(|e| {
            let target = e.payload.get("corrects_sequence")?.as_u64()?;
            Some((target, e.sequence))
        })
        .collect()
}

pub fn trail_entry(entry: &StoredEntry, withdrawn_by: Option<u64>) -> TrailEntry {
    let mut data = entry.payload.clone();
    if let Value::Object(fields) = &mut data {
        fields.remove("type");
    }
    let occurred_on = data
        .get("occurred_on")
        .or_else(|| data.get("started_on"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let meta = |key: &str| entry.metadata.get(key).cloned().unwrap_or_default();
    TrailEntry {
        sequence: entry.sequence,
        event_type: entry.event_type.clone(),
        version: entry.event_version.clone(),
        occurred_on,
        recorded_at: meta(RECORDED_AT_KEY),
        recorded_by: meta(RECORDED_BY_KEY),
        data,
        digest: meta(DIGEST_KEY),
        withdrawn_by,
        personal_data: None,
    }
}

/// The whole trail of one project, in order.
pub fn trail(entries: &[StoredEntry]) -> Vec<TrailEntry> {
    let withdrawn = withdrawals(entries);
    entries
        .iter()
        .map(|e| trail_entry(e, withdrawn.get(&e.sequence).copied()))
        .collect()
}

/// The whole trail as NDJSON, one entry a line: the export of the API and of `coprod export`.
pub fn ndjson(entries: &[StoredEntry]) -> String {
    let mut out = String::new();
    for entry in trail(entries) {
        // A trail entry holds only strings, integers and JSON values: it always serialises.
        out.push_str(&serde_json::to_string(&entry).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The stored entries an exported trail stands for, so that its chain can be recomputed with no
/// server: the payload is `data` with its `type` put back, the metadata is `recorded_at`,
/// `recorded_by` and the digest, and the project id is the registration's.
pub fn stored_entries(trail: &[TrailEntry]) -> Vec<StoredEntry> {
    let project_id = trail
        .first()
        .and_then(|e| e.data.get("project_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    trail
        .iter()
        .map(|e| {
            let mut payload = e.data.clone();
            if let Value::Object(fields) = &mut payload {
                fields.insert("type".into(), Value::String(e.event_type.clone()));
            }
            let metadata = BTreeMap::from([
                (RECORDED_AT_KEY.to_string(), e.recorded_at.clone()),
                (RECORDED_BY_KEY.to_string(), e.recorded_by.clone()),
                (DIGEST_KEY.to_string(), e.digest.clone()),
            ]);
            StoredEntry {
                aggregate_id: project_id.clone(),
                sequence: e.sequence,
                event_type: e.event_type.clone(),
                event_version: e.version.clone(),
                payload,
                metadata,
            }
        })
        .collect()
}
