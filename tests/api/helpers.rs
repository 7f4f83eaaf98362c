//! The vocabulary the API scenarios are written in: the kit's server, requests and fact
//! builders, and checks of the values the API answers with.

pub use crate::kit::app::*;
pub use crate::kit::facts::*;
use serde_json::Value;

/// `sha256:` and 64 lower-case hex digits.
pub fn is_digest(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase())
        })
    })
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn is_stored_instant(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        s.len() == 27
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.'
            && b[26] == b'Z'
            && s[20..26].chars().all(|c| c.is_ascii_digit())
            && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

/// `coprod verify --file` on an export: no database, no keys.
pub fn verify_offline(ndjson: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.ndjson");
    std::fs::write(&path, ndjson).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coprod"))
        .args(["verify", "--file"])
        .arg(&path)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
}
