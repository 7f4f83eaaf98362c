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
        let bytes = Bytes::from(bytes);
        Ok(JsonBody(bytes))
    }
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
        return ApiError::bad_request(
            "unknown_field",
            format!("The field '{field}' is not part of this request."),
        )
        .at(path, "unknown field");
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
    Fact::parse_fields(&tag, parser).unwrap_or_else(|| {
        Err(ApiError::bad_request(
            "unknown_event_type",
            format!(
                "'{tag}' is not an event type that can be posted. Known types: {}.",
                Fact::TYPES.join(", ")
            ),
        )
        .at(format!("{base}/type"), "unknown event type"))
    })
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
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("A batch has only the field 'events'; '{other}' is not allowed."),
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
