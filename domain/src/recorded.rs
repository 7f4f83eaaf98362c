//! An entry of a project's stream as the read side uses it: the typed event with the facts the
//! store added (sequence, when and by whom it was recorded, the chain head after it).

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

use crate::digest::{Digest, StoredEntry, RECORDED_AT_KEY, RECORDED_BY_KEY};
use crate::events::ProjectEvent;

/// How `recorded_at` is always written: microseconds, UTC, so that text order is time order.
pub const INSTANT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The layout of [`INSTANT_FORMAT`]'s text, which [`format_instant`] writes and
/// [`parse_instant`] reads directly: its length, where each separator stands, and where each
/// number stands (year, month, day, hour, minute, second, microsecond), as byte ranges.
const INSTANT_LENGTH: usize = 27;
const INSTANT_SEPARATORS: [(usize, u8); 7] = [
    (4, b'-'),
    (7, b'-'),
    (10, b'T'),
    (13, b':'),
    (16, b':'),
    (19, b'.'),
    (26, b'Z'),
];
const INSTANT_NUMBERS: [(usize, usize); 7] = [
    (0, 4),
    (5, 7),
    (8, 10),
    (11, 13),
    (14, 16),
    (17, 19),
    (20, 26),
];

/// Writes an instant as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    // Every append writes one: the digits are written directly, which costs a fraction of
    // interpreting the format. Years outside 0..=9999 and leap seconds, which the format writes
    // in its own way, are left to it.
    let (date, time) = (instant.date_naive(), instant.time());
    let year = date.year();
    if !(0..=9999).contains(&year) || time.nanosecond() >= 1_000_000_000 {
        return instant.format(INSTANT_FORMAT).to_string();
    }
    let mut text = [0u8; INSTANT_LENGTH];
    let numbers = [
        year as u32,
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.nanosecond() / 1000,
    ];
    for ((from, to), mut number) in INSTANT_NUMBERS.into_iter().zip(numbers) {
        for digit in text[from..to].iter_mut().rev() {
            *digit = b'0' + (number % 10) as u8;
            number /= 10;
        }
    }
    for (at, separator) in INSTANT_SEPARATORS {
        text[at] = separator;
    }
    text.iter().map(|&byte| char::from(byte)).collect()
}

/// Reads an instant written by [`format_instant`] (only that exact text: reading it back must
/// give the same text).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    // Every stored entry's time is read this way: the exact layout is read directly, and
    // anything else (which may still be valid, such as a leap second) the slow way.
    parse_exact_instant(text).or_else(|| {
        NaiveDateTime::parse_from_str(text, INSTANT_FORMAT)
            .ok()
            .map(|naive| naive.and_utc())
            .filter(|instant| format_instant(*instant) == text)
    })
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` with every field in range; `None` for anything else.
fn parse_exact_instant(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() != INSTANT_LENGTH {
        return None;
    }
    if INSTANT_SEPARATORS
        .iter()
        .any(|&(at, expected)| bytes[at] != expected)
    {
        return None;
    }
    let mut numbers = [0u32; 7];
    for (number, (from, to)) in numbers.iter_mut().zip(INSTANT_NUMBERS) {
        *number = bytes[from..to].iter().try_fold(0u32, |n, digit| {
            digit
                .is_ascii_digit()
                .then(|| n * 10 + u32::from(digit - b'0'))
        })?;
    }
    let [year, month, day, hour, minute, second, micros] = numbers;
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = chrono::NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

/// Truncates an instant to the microsecond precision the store keeps.
pub fn to_stored_precision(instant: DateTime<Utc>) -> DateTime<Utc> {
    let nanosecond = instant.nanosecond();
    instant
        .with_nanosecond(nanosecond - nanosecond % 1000)
        .unwrap_or(instant)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub sequence: u64,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    /// The chain head after this entry.
    pub digest: Digest,
    pub event: ProjectEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("entry {sequence}: the payload is not a known event: {message}")]
    Payload { sequence: u64, message: String },
    #[error("entry {sequence}: metadata field '{field}' is missing or malformed")]
    Metadata { sequence: u64, field: &'static str },
}

impl RecordedEvent {
    /// Reads a stored entry, with the digest the store kept for it.
    pub fn from_stored(entry: &StoredEntry) -> Result<Self, DecodeError> {
        let sequence = entry.sequence;
        let event: ProjectEvent =
            serde_json::from_value(entry.payload.clone()).map_err(|e| DecodeError::Payload {
                sequence,
                message: e.to_string(),
            })?;
        let field = |key: &str| entry.metadata.get(key).map(String::as_str);
        Self::with_metadata(
            sequence,
            event,
            field(RECORDED_AT_KEY),
            field(RECORDED_BY_KEY).map(str::to_string),
            field(crate::digest::DIGEST_KEY),
        )
    }

    /// Like [`RecordedEvent::from_stored`], straight from the stored text of an entry's payload
    /// and metadata, without building JSON values of them first (rebuilding views reads every
    /// entry this way).
    pub fn from_text(sequence: u64, payload: &str, metadata: &str) -> Result<Self, DecodeError> {
        /// The metadata keys the read side uses ([`RECORDED_AT_KEY`], [`RECORDED_BY_KEY`],
        /// [`crate::digest::DIGEST_KEY`]); a test checks the names agree.
        #[derive(serde::Deserialize)]
        struct Metadata<'a> {
            #[serde(borrow)]
            recorded_at: Option<std::borrow::Cow<'a, str>>,
            recorded_by: Option<String>,
            #[serde(borrow)]
            digest: Option<std::borrow::Cow<'a, str>>,
        }
        let event: ProjectEvent =
            serde_json::from_str(payload).map_err(|e| DecodeError::Payload {
                sequence,
                message: e.to_string(),
            })?;
        let metadata: Metadata =
            serde_json::from_str(metadata).map_err(|_| DecodeError::Metadata {
                sequence,
                field: RECORDED_AT_KEY,
            })?;
        Self::with_metadata(
            sequence,
            event,
            metadata.recorded_at.as_deref(),
            metadata.recorded_by,
            metadata.digest.as_deref(),
        )
    }

    /// The entry from its decoded event and the metadata fields the read side uses.
    fn with_metadata(
        sequence: u64,
        event: ProjectEvent,
        recorded_at: Option<&str>,
        recorded_by: Option<String>,
        digest: Option<&str>,
    ) -> Result<Self, DecodeError> {
        let missing = |field| DecodeError::Metadata { sequence, field };
        Ok(RecordedEvent {
            sequence,
            recorded_at: recorded_at
                .and_then(parse_instant)
                .ok_or_else(|| missing(RECORDED_AT_KEY))?,
            recorded_by: recorded_by.ok_or_else(|| missing(RECORDED_BY_KEY))?,
            digest: digest
                .and_then(|digest| digest.parse().ok())
                .ok_or_else(|| missing(crate::digest::DIGEST_KEY))?,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    /// The slow reading `parse_instant` had before: the format, then the text checked by writing
    /// it back.
    fn parse_by_format(text: &str) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(text, INSTANT_FORMAT)
            .ok()
            .map(|naive| naive.and_utc())
            .filter(|instant| format_instant(*instant) == text)
    }

    #[test]
    fn instants_are_written_as_the_format_writes_them() {
        let mut instant = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        let mut step = 0;
        while instant < end {
            let by_format = instant.format(INSTANT_FORMAT).to_string();
            assert_eq!(format_instant(instant), by_format);
            let stored = to_stored_precision(instant);
            assert_eq!(parse_instant(&by_format), Some(stored), "{by_format}");
            assert_eq!(format_instant(stored), by_format);
            instant += Duration::nanoseconds(3_600_123_456_789_013 + step * 1_000_003);
            step += 1;
        }
        assert!(step > 80_000, "only {step} instants tried");
        for outside in [
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(
                format_instant(outside),
                outside.format(INSTANT_FORMAT).to_string()
            );
        }
        let leap_second = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 1_500_000))
            .unwrap()
            .and_utc();
        assert_eq!(
            format_instant(leap_second),
            leap_second.format(INSTANT_FORMAT).to_string()
        );
        assert_eq!(to_stored_precision(leap_second), leap_second);
    }

    #[test]
    fn instants_read_back_as_written() {
        let mut instant = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for step in 0..5000 {
            let text = format_instant(instant);
            assert_eq!(parse_instant(&text), Some(instant), "{text}");
            assert_eq!(parse_exact_instant(&text), parse_by_format(&text), "{text}");
            instant += Duration::microseconds(7_919_993_123 + step);
        }
    }

    #[test]
    fn anything_but_the_exact_text_is_refused_as_the_format_refuses_it() {
        for text in [
            "2025-03-01T09:00:00.000000Z",
            "2025-03-01T09:00:00Z",
            "2025-03-01T09:00:00.000000",
            "2025-03-01 09:00:00.000000Z",
            "2025-02-30T09:00:00.000000Z",
            "2025-13-01T09:00:00.000000Z",
            "2025-03-01T24:00:00.000000Z",
            "2025-03-01T09:60:00.000000Z",
            "2025-03-01T09:00:00.00000aZ",
            "2025-03-01T09:00:00.0000000Z",
            "+2025-03-01T09:00:00.00000Z",
            "2025-3-01T09:00:00.0000000Z",
            "2025-03-01T09:00:00.000000z",
            "",
        ] {
            assert_eq!(parse_instant(text), parse_by_format(text), "{text}");
        }
        assert!(parse_instant("2025-03-01T09:00:00.000000Z").is_some());
        assert_eq!(parse_instant("2025-02-30T09:00:00.000000Z"), None);
    }
}
