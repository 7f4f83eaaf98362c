//! The audit trail as data: one JSON object per entry, as `coprod export` prints it (NDJSON).

use coprod_domain::digest::{DIGEST_KEY, RECORDED_AT_KEY, RECORDED_BY_KEY};
use coprod_domain::{RecordedEvent, StoredEntry};
use serde_json::{json, Value};

use super::StoreError;

/// `{sequence, type, version, occurred_on, recorded_at, recorded_by, data, digest}` for one
/// stored entry, where `data` is the payload without its `type` tag and `digest` the chain head
/// stored with the entry.
pub fn trail_entry(entry: &StoredEntry) -> Result<Value, StoreError> {
    let event = RecordedEvent::from_stored(entry)
        .map_err(|e| StoreError::Internal(format!("project {}: {e}", entry.aggregate_id)))?;
    let mut data = entry.payload.clone();
    if let Some(object) = data.as_object_mut() {
        object.remove("type");
    }
    Ok(json!({
        "sequence": entry.sequence,
        "type": entry.event_type,
        "version": entry.event_version,
        "occurred_on": event.event.occurred_on(),
        "recorded_at": entry.metadata.get(RECORDED_AT_KEY),
        "recorded_by": entry.metadata.get(RECORDED_BY_KEY),
        "data": data,
        "digest": entry.metadata.get(DIGEST_KEY),
    }))
}
