//! Strict reading of JSON request bodies: every way a body can be the wrong shape becomes a 400
//! problem with a stable code and the JSON pointer of the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use coprod_domain::{Fact, FieldsParser};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Bodies up to this size are read to their end before the 413; larger ones are cut off.
const DRAIN_BYTES: usize = 16 * MAX_BODY_BYTES;

/// The raw bytes of a JSON request body, size- and type-checked.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !(mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON, with the header 'Content-Type: application/json'.",
            ));
        }
        Ok(JsonBody(read_body(request).await?))
    }
}

/// The raw bytes of a CSV request body (`Content-Type: text/csv`), size-checked.
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("text/csv") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the file as CSV, with the header 'Content-Type: text/csv'.",
            ));
        }
        Ok(CsvBody(read_body(request).await?))
    }
}

/// A request's body, read to its end (up to [`MAX_BODY_BYTES`]; larger is 413).
async fn read_body(request: Request) -> Result<Bytes, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > DRAIN_BYTES) {
        return Err(payload_too_large());
    }
    // Read to the end even past the limit (up to DRAIN_BYTES), so that a client still
    // sending gets the 413 rather than a connection closed under it.
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    let mut received = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            if crate::connections::is_body_timeout(&error) {
                body_too_slow()
            } else {
                ApiError::bad_request("invalid_json", "The request body could not be read.")
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len();
        if received <= MAX_BODY_BYTES {
            bytes.extend_from_slice(&data);
        } else if received > DRAIN_BYTES {
            break;
        }
    }
    if received > MAX_BODY_BYTES {
        return Err(payload_too_large());
    }
    Ok(Bytes::from(bytes))
}

/// The body did not arrive in full within the server's body timeout.
pub fn body_too_slow() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "The request body did not arrive in time. Send it again, all at once.",
    )
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "The request body is larger than {} KiB. Split a large batch into several requests.",
            MAX_BODY_BYTES / 1024
        ),
    )
}

/// Parses the body as one JSON value; empty and malformed bodies are `invalid_json`.
pub fn parse_value(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "The request body is empty; send a JSON object.",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                "The request body is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Deserialises `value` into `T`, reporting the pointer of the first field that does not fit.
pub fn parse_as<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut path = base.to_string();
        for segment in error.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => path.push_str(&format!("/{index}")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    path.push_str(&format!("/{}", escape_pointer(key)))
                }
                Segment::Unknown => {}
            }
        }
        shape_error(error.inner().to_string(), path)
    })
}

/// How dates are written in every body, and the example the errors give.
pub const DATE_FORM: &str = "write dates as YYYY-MM-DD, e.g. 2025-01-07";

/// What chrono says when a text is not a `YYYY-MM-DD` date (its `ParseError`s, as serde passes
/// them on), and what serde says when a date is not text at all.
fn is_date_error(message: &str) -> bool {
    const NOT_A_DATE: [&str; 7] = [
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "input is out of range",
        "no possible date and time matching input",
        "input is not enough for unique date and time",
        "bad or unsupported format string",
    ];
    NOT_A_DATE.contains(&message) || message.ends_with("expected a formatted date string")
}

/// The names serde lists after "expected" in an unknown-field or unknown-variant message
/// ("expected one of `a`, `b`", "expected `a` or `b`"); none for "there are no fields".
fn expected_names(message: &str) -> Vec<&str> {
    let Some((_, expected)) = message.split_once("expected") else {
        return Vec::new();
    };
    expected.split('`').skip(1).step_by(2).collect()
}

/// The known name a mistyped `word` most likely meant: the nearest by edit distance (ignoring
/// case), if it is near enough to be a slip rather than another word.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let allowed = (word.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .map(|name| {
            (
                strsim::damerau_levenshtein(&word, &name.to_lowercase()),
                name,
            )
        })
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// " Did you mean `x`?" when `word` is close to one of `known`; otherwise the list of them.
pub fn suggestion(word: &str, known: &[&str], what: &str) -> String {
    match closest(word, known.iter().copied()) {
        Some(name) => format!(" Did you mean `{name}`?"),
        None if known.is_empty() => String::new(),
        None => format!(" The {what} are: {}.", known.join(", ")),
    }
}

/// Turns serde's description of a mismatch into a problem with the field's pointer.
fn shape_error(message: String, mut path: String) -> ApiError {
    let quoted = |prefix: &str| -> Option<String> {
        let rest = message.strip_prefix(prefix)?;
        let start = rest.find('`')? + 1;
        let end = start + rest[start..].find('`')?;
        Some(rest[start..end].to_string())
    };
    let mut point_at = |field: &str| {
        let segment = format!("/{}", escape_pointer(field));
        if !path.ends_with(&segment) {
            path.push_str(&segment);
        }
        path.clone()
    };
    if let Some(field) = quoted("unknown field") {
        let path = point_at(&field);
        let known = expected_names(&message);
        let hint = suggestion(&field, &known, "fields of this request");
        let at = match closest(&field, known.iter().copied()) {
            Some(name) => format!("unknown field; did you mean `{name}`?"),
            None => "unknown field".to_string(),
        };
        return ApiError::bad_request(
            "unknown_field",
            format!("The field '{field}' is not part of this request.{hint}"),
        )
        .at(path, at);
    }
    if let Some(field) = quoted("missing field") {
        let path = point_at(&field);
        return ApiError::bad_request(
            "validation_failed",
            format!("The required field '{field}' is missing."),
        )
        .at(path, "is required");
    }
    let readable = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    if is_date_error(&readable) {
        let why = if readable == "input is out of range" {
            "names a day that does not exist"
        } else {
            "is not a date Coprod can read"
        };
        return ApiError::bad_request(
            "validation_failed",
            format!("The field at '{path}' {why}: {DATE_FORM}."),
        )
        .at(path, DATE_FORM);
    }
    if let Some(value) = quoted("unknown variant") {
        let known = expected_names(&message);
        let hint = suggestion(&value, &known, "values allowed here");
        return ApiError::bad_request(
            "validation_failed",
            format!("The field at '{path}' cannot be '{value}'.{hint}"),
        )
        .at(path, readable);
    }
    ApiError::bad_request(
        "validation_failed",
        format!("The field at '{path}' does not have the right form: {readable}."),
    )
    .at(path, readable)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct PointerParser {
    value: Value,
    base: String,
}

impl FieldsParser for PointerParser {
    type Error = ApiError;

    fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        parse_as(self.value, &self.base)
    }
}

/// One fact: an object whose `type` names a postable event type. `base` is its pointer.
pub fn parse_fact(value: Value, base: &str) -> Result<Fact, ApiError> {
    let Value::Object(mut fields) = value else {
        return Err(ApiError::bad_request(
            "validation_failed",
            "Each event must be a JSON object with a 'type'.",
        )
        .at(
            if base.is_empty() { "/" } else { base },
            "must be an object",
        ));
    };
    let tag = match fields.remove("type") {
        Some(Value::String(tag)) => tag,
        Some(_) => {
            return Err(ApiError::bad_request(
                "validation_failed",
                "The event's 'type' must be a string.",
            )
            .at(format!("{base}/type"), "must be a string"))
        }
        None => {
            return Err(
                ApiError::bad_request("validation_failed", "The event has no 'type'.")
                    .at(format!("{base}/type"), "is required"),
            )
        }
    };
    let parser = PointerParser {
        value: Value::Object(fields),
        base: base.to_string(),
    };
    Fact::parse_fields(&tag, parser).unwrap_or_else(|| Err(unknown_event_type(&tag, base)))
}

/// Entries only the server writes, and the request that records each.
const SERVER_WRITTEN: [(&str, &str); 4] = [
    ("project_registered", "POST /api/v1/projects registers a project"),
    (
        "assessment_sealed",
        "POST /api/v1/projects/{id}/assessments seals an assessment",
    ),
    (
        "participant_erased",
        "POST /api/v1/projects/{id}/participants/{participant_id}/erase erases a participant's personal data",
    ),
    (
        "participant_answered",
        "participants answer through the one-time link POST /api/v1/projects/{id}/participants/{participant_id}/invitations gives them",
    ),
];

/// A `type` that is not a postable fact: says which types are, and what was probably meant.
fn unknown_event_type(tag: &str, base: &str) -> ApiError {
    let known = Fact::TYPES.join(", ");
    let detail = match SERVER_WRITTEN.iter().find(|(server, _)| *server == tag) {
        Some((_, how)) => format!(
            "'{tag}' entries are written by the server, not posted: {how}. The event types that can be posted are: {known}."
        ),
        None => {
            let guess = closest(tag, Fact::TYPES.iter().copied())
                .map(|name| format!(" Did you mean `{name}`?"))
                .unwrap_or_default();
            format!(
                "'{tag}' is not an event type that can be posted.{guess} The event types that can be posted are: {known}."
            )
        }
    };
    ApiError::bad_request("unknown_event_type", detail)
        .at(format!("{base}/type"), "unknown event type")
}

/// The body of `POST /projects/{id}/events`: one fact, or `{"events": [...]}`.
pub fn parse_facts(bytes: &[u8]) -> Result<(Vec<Fact>, bool), ApiError> {
    let value = parse_value(bytes)?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request(
            "validation_failed",
            "The body must be a JSON object: one event, or {\"events\": [...]}.",
        )
        .at("/", "must be an object"));
    };
    if !object.contains_key("events") {
        return Ok((vec![parse_fact(Value::Object(object), "")?], false));
    }
    if let Some(other) = object.keys().find(|k| k.as_str() != "events") {
        let hint = suggestion(other, &["events"], "fields of a batch");
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("A batch has only the field 'events'; '{other}' is not allowed.{hint}"),
        )
        .at(format!("/{}", escape_pointer(other)), "unknown field"));
    }
    let Some(Value::Array(items)) = object.remove("events") else {
        return Err(ApiError::bad_request(
            "validation_failed",
            "'events' must be a list of events.",
        )
        .at("/events", "must be an array"));
    };
    let facts = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| parse_fact(item, &format!("/events/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((facts, true))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(body: Value) -> ApiError {
        match parse_facts(body.to_string().as_bytes()) {
            Ok(_) => panic!("{body} was accepted"),
            Err(error) => error,
        }
    }

    fn joined(occurred_on: &str) -> Value {
        json!({"type": "participant_joined", "participant_id": "p1", "kind": "carer",
            "groups": [], "occurred_on": occurred_on})
    }

    #[test]
    fn a_date_written_another_way_is_told_how_to_write_dates() {
        for written in ["07/01/2025", "7 January 2025", "2025-1-7x", "2025-01"] {
            let error = refusal(joined(written));
            assert_eq!(
                (error.status, error.code),
                (StatusCode::BAD_REQUEST, "validation_failed")
            );
            assert!(
                error
                    .detail
                    .contains("write dates as YYYY-MM-DD, e.g. 2025-01-07"),
                "{written}: {}",
                error.detail
            );
            assert!(
                !error.detail.contains("invalid characters"),
                "{}",
                error.detail
            );
            assert_eq!(error.errors[0].path, "/occurred_on");
            assert_eq!(error.errors[0].message, DATE_FORM);
        }
    }

    #[test]
    fn a_day_that_does_not_exist_and_a_date_given_as_a_number_say_how_dates_are_written() {
        let error = refusal(joined("2025-02-30"));
        assert!(
            error.detail.contains("a day that does not exist"),
            "{}",
            error.detail
        );
        assert!(error.detail.contains(DATE_FORM));
        let mut numbered = joined("2025-01-07");
        numbered["occurred_on"] = json!(20250107);
        let error = refusal(numbered);
        assert!(error.detail.contains(DATE_FORM), "{}", error.detail);
        assert_eq!(error.errors[0].path, "/occurred_on");
    }

    #[test]
    fn an_unknown_field_close_to_a_known_one_names_it() {
        let mut body = joined("2025-01-07");
        let groups = body.as_object_mut().unwrap().remove("groups").unwrap();
        body["group"] = groups;
        let error = refusal(body);
        assert_eq!(
            (error.status, error.code),
            (StatusCode::BAD_REQUEST, "unknown_field")
        );
        assert!(
            error.detail.contains("did you mean `groups`?")
                || error.detail.contains("Did you mean `groups`?"),
            "{}",
            error.detail
        );
        assert_eq!(error.errors[0].path, "/group");
    }

    #[test]
    fn an_unknown_field_far_from_every_known_one_lists_the_fields() {
        let mut body = joined("2025-01-07");
        body["nickname"] = json!("Jo");
        let error = refusal(body);
        assert_eq!(error.code, "unknown_field");
        assert!(!error.detail.contains("Did you mean"), "{}", error.detail);
        assert!(
            error
                .detail
                .contains("participant_id, kind, groups, occurred_on"),
            "{}",
            error.detail
        );
        assert_eq!(error.errors[0].path, "/nickname");
    }

    #[test]
    fn an_unknown_event_type_lists_the_known_ones_and_guesses_a_slip() {
        let error = refusal(json!({"type": "participant_join", "participant_id": "p1"}));
        assert_eq!(
            (error.status, error.code),
            (StatusCode::BAD_REQUEST, "unknown_event_type")
        );
        assert!(
            error.detail.contains("Did you mean `participant_joined`?"),
            "{}",
            error.detail
        );
        for known in Fact::TYPES {
            assert!(
                error.detail.contains(known),
                "{known} missing: {}",
                error.detail
            );
        }
        let error = refusal(json!({"type": "tea_served"}));
        assert!(!error.detail.contains("Did you mean"), "{}", error.detail);
        assert!(error.detail.contains("stage_started"), "{}", error.detail);
        assert_eq!(error.errors[0].path, "/type");
    }

    #[test]
    fn a_server_written_type_says_which_request_records_it() {
        let error = refusal(json!({"type": "project_registered"}));
        assert_eq!(error.code, "unknown_event_type");
        assert!(
            error.detail.contains("POST /api/v1/projects"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn an_unknown_enum_value_close_to_an_allowed_one_names_it() {
        let mut body = joined("2025-01-07");
        body["kind"] = json!("carers");
        let error = refusal(body);
        assert_eq!(error.code, "validation_failed");
        assert!(
            error.detail.contains("Did you mean `carer`?"),
            "{}",
            error.detail
        );
        assert_eq!(error.errors[0].path, "/kind");
    }

    #[test]
    fn a_batch_with_a_mistyped_list_names_events() {
        let error = refusal(json!({"events": [], "event": []}));
        assert_eq!(error.code, "unknown_field");
        assert!(
            error.detail.contains("Did you mean `events`?"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn closest_takes_only_near_slips() {
        assert_eq!(closest("group", ["groups", "kind"]), Some("groups"));
        assert_eq!(closest("Ocurred_on", ["occurred_on"]), Some("occurred_on"));
        assert_eq!(closest("colour", ["groups", "kind"]), None);
        assert_eq!(closest("x", ["kind"]), None);
    }
}
