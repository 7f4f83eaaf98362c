//! The stream digest: a SHA-256 hash chain over every stored entry of a project.
//!
//! `head_0` is 32 zero bytes; `head_n = SHA-256(head_{n-1} || canonical_json(entry_n))`, where
//! `entry_n` is `{aggregate_id, sequence, event_type, event_version, payload, metadata}` as stored,
//! without the metadata's own `digest` field. Canonical JSON: object keys sorted by their UTF-8
//! bytes, no insignificant whitespace, strings escaped as `"` `\\` `\b` `\f` `\n` `\r` `\t` and
//! other control characters as `\u00xx`, everything else literal UTF-8; numbers are integers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The metadata key under which the store keeps each entry's chain head.
pub const DIGEST_KEY: &str = "digest";
/// The metadata key naming who recorded the entry.
pub const RECORDED_BY_KEY: &str = "recorded_by";
/// The metadata key holding when the server recorded the entry.
pub const RECORDED_AT_KEY: &str = "recorded_at";

/// A SHA-256 value, written `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The head of an empty chain.
    pub const ZERO: Digest = Digest([0; 32]);

    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a digest is written 'sha256:' followed by 64 lowercase hexadecimal digits")]
pub struct DigestParseError;

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.strip_prefix("sha256:").ok_or(DigestParseError)?;
        if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DigestParseError);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| DigestParseError)?;
        Ok(Digest(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry exactly as the store holds it: what the chain covers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub aggregate_id: String,
    pub sequence: u64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: BTreeMap<String, String>,
}

impl StoredEntry {
    /// The digest the store kept with this entry, if any (and if it parses).
    pub fn stored_digest(&self) -> Option<Digest> {
        self.metadata.get(DIGEST_KEY)?.parse().ok()
    }

    /// The canonical JSON the chain hashes: the entry without the metadata's `digest`.
    pub fn canonical_json(&self) -> String {
        // Written field by field, in sorted key order, rather than through a cloned JSON value:
        // this runs once per entry whenever a chain is recomputed.
        let mut out = String::with_capacity(256);
        out.push_str("{\"aggregate_id\":");
        write_string(&self.aggregate_id, &mut out);
        out.push_str(",\"event_type\":");
        write_string(&self.event_type, &mut out);
        out.push_str(",\"event_version\":");
        write_string(&self.event_version, &mut out);
        out.push_str(",\"metadata\":{");
        let hashed = self
            .metadata
            .iter()
            .filter(|(key, _)| key.as_str() != DIGEST_KEY);
        for (i, (key, value)) in hashed.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(key, &mut out);
            out.push(':');
            write_string(value, &mut out);
        }
        out.push_str("},\"payload\":");
        write_canonical(&self.payload, &mut out);
        out.push_str(",\"sequence\":");
        out.push_str(&self.sequence.to_string());
        out.push('}');
        out
    }
}

/// The next chain head after `entry`.
pub fn chain_next(previous: &Digest, entry: &StoredEntry) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(previous.0);
    hasher.update(entry.canonical_json().as_bytes());
    Digest(hasher.finalize().into())
}

/// What recomputing a stream's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// The recomputed head after the last entry.
    pub head: Digest,
    /// The first sequence whose stored digest differs from the recomputed one, or which is out of
    /// place (a gap, a repeat, or another project's entry).
    pub first_divergence: Option<u64>,
    /// The recomputed head after each entry, in order.
    pub heads: Vec<Digest>,
}

/// Recomputes the chain of `entries` (in stored order) and compares it with the stored digests.
pub fn verify_chain(entries: &[StoredEntry]) -> ChainCheck {
    let mut head = Digest::ZERO;
    let mut heads = Vec::with_capacity(entries.len());
    let mut first_divergence = None;
    for (i, entry) in entries.iter().enumerate() {
        head = chain_next(&head, entry);
        heads.push(head);
        let expected_sequence = i as u64 + 1;
        let in_place =
            entry.sequence == expected_sequence && entry.aggregate_id == entries[0].aggregate_id;
        if first_divergence.is_none() && (!in_place || entry.stored_digest() != Some(head)) {
            first_divergence = Some(expected_sequence);
        }
    }
    ChainCheck {
        head,
        first_divergence,
        heads,
    }
}

/// Serialises `value` as canonical JSON (see the module documentation).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(text) => write_string(text, out),
        // Null, booleans and integers have one JSON spelling each.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Digest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^sha256:[0-9a-f]{64}$"))
            .examples([serde_json::json!(format!("sha256:{}", "0".repeat(64)))])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Digest {}
