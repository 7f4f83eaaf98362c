//! Answers as bytes: the same question gives the same bytes (JSON or CSV), named by their
//! SHA-256 (the `ETag` both transports send). Every CSV is written here ([`csv_bytes`]), so that
//! no cell of recorded text reaches a spreadsheet as a formula ([`spreadsheet_safe`]).

use coprod_domain::Digest;
use serde::Serialize;

use super::AppError;

/// `value` as JSON; a value that cannot be written is a fault (never an empty answer).
pub fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::internal("json", e))
}

/// Writes `header` and `rows` as CSV, every cell made [`spreadsheet_safe`].
pub fn csv_bytes<H: AsRef<str>>(header: &[H], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal("csv", e);
    let safe_row = |cells: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        cells
            .map(|cell| spreadsheet_safe(cell).into_owned())
            .collect()
    };
    writer
        .write_record(safe_row(&mut header.iter().map(AsRef::as_ref)))
        .map_err(fail)?;
    for row in rows {
        writer
            .write_record(safe_row(&mut row.iter().map(String::as_str)))
            .map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::internal("csv", e.to_string()))
}

/// The first characters that make a spreadsheet read a cell as a formula (or, for tab and
/// carriage return, that some spreadsheets skip before looking for one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` as a spreadsheet will show it rather than run it: a cell that starts like a formula
/// gets a leading `'` (the mark spreadsheets take as "this is text"), unless the whole cell is a
/// plain number such as `-3` or `+2.5`, which no spreadsheet runs and which must stay a number.
/// Every other cell, and every number Coprod writes, is left as it is.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// An optional sign, digits, and optionally a point and more digits: nothing else.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
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
    fn cells_that_start_like_a_formula_are_written_as_text_but_plain_numbers_stay_numbers() {
        for formula in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1+1",
            "\r=1+1",
            "-",
            "+",
            "-.5",
        ] {
            assert_eq!(
                spreadsheet_safe(formula),
                format!("'{formula}"),
                "{formula:?}"
            );
        }
        for kept in [
            "-3",
            "+2.5",
            "-0.25",
            "42",
            "met",
            "",
            "Carers' strategy",
            "a=b",
            " =1",
        ] {
            assert_eq!(spreadsheet_safe(kept), kept, "{kept:?}");
        }
    }

    #[test]
    fn every_cell_of_a_csv_is_made_safe_header_included() {
        let rows = vec![vec!["=1+1".to_string(), "-3".to_string(), "@x".to_string()]];
        let bytes = csv_bytes(&["=a", "b", "c"], &rows).expect("written");
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8"),
            "'=a,b,c\n'=1+1,-3,'@x\n"
        );
    }

    #[test]
    fn the_same_body_has_the_same_quoted_sha256_tag() {
        assert_eq!(etag(b"{}"), etag(b"{}"));
        assert_ne!(etag(b"{}"), etag(b"[]"));
        assert_eq!(etag(b"").len(), 64 + 2);
    }
}
