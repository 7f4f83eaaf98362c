//! Answers as bytes: the same question gives the same bytes (JSON or CSV), named by their
//! SHA-256 (the `ETag` both transports send).

use coprod_domain::Digest;
use serde::Serialize;

use super::AppError;

/// `value` as JSON; a value that cannot be written is a fault (never an empty answer).
pub fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::internal("json", e))
}

/// Writes `header` and `rows` as CSV.
pub fn csv_bytes<H: AsRef<[u8]>>(header: &[H], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal("csv", e);
    writer.write_record(header).map_err(fail)?;
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::internal("csv", e.to_string()))
}

/// The entity tag of `body`: its SHA-256, quoted.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Digest::of_bytes(body).0))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_value_json_cannot_write_is_a_fault_not_an_empty_body() {
        // JSON object keys must be strings: a map keyed by pairs cannot be written.
        let unwritable = BTreeMap::from([((1, 2), 3)]);
        assert!(matches!(
            json_bytes(&unwritable),
            Err(AppError::Internal {
                context: "json",
                ..
            })
        ));
    }

    #[test]
    fn the_same_body_has_the_same_quoted_sha256_tag() {
        assert_eq!(etag(b"{}"), etag(b"{}"));
        assert_ne!(etag(b"{}"), etag(b"[]"));
        assert_eq!(etag(b"").len(), 64 + 2);
    }
}
