//! How the API sends a body: JSON as it is, and the answers that are the same for the same
//! question (assessments, the portfolio) with their `ETag`, as JSON or, when asked, CSV.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::problem::ApiError;
use crate::app::answer::etag;
use crate::app::AppError;

/// A JSON body already written.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, body).into_response()
}

/// An answer that carries personal data (see `docs/privacy.md`): no cache, the browser's or a
/// proxy's, may keep it.
pub fn not_stored(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the request's `Accept` names `mime`.
pub fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(mime)
        })
}

/// A body that is the same for the same question: sent with `ETag` = its SHA-256, or as
/// `304 Not Modified` when `If-None-Match` names that tag.
pub fn deterministic_response(
    headers: &HeaderMap,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let etag = etag(&body);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// JSON, or CSV when asked for with `Accept: text/csv`; with its ETag.
pub fn json_or_csv(
    headers: &HeaderMap,
    json: impl FnOnce() -> Result<Vec<u8>, AppError>,
    csv: impl FnOnce() -> Result<Vec<u8>, AppError>,
) -> Result<Response, ApiError> {
    Ok(if accepts(headers, "text/csv") {
        deterministic_response(headers, "text/csv; charset=utf-8", csv()?)
    } else {
        deterministic_response(headers, "application/json", json()?)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::app::answer::json_bytes;

    #[test]
    fn an_answer_that_cannot_be_written_is_a_500_problem_not_an_empty_tagged_body() {
        let unwritable = BTreeMap::from([((1, 2), 3)]);
        let answer = json_or_csv(
            &HeaderMap::new(),
            || json_bytes(&unwritable),
            || Ok(Vec::new()),
        );
        let error = answer.expect_err("a problem");
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code, "internal_error");
        assert!(!error.detail.contains("key must be a string"));
    }

    #[test]
    fn csv_is_given_when_accepted_with_its_etag() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv;q=0.9"));
        let response = json_or_csv(&headers, || Ok(b"{}".to_vec()), || Ok(b"a,b\n".to_vec()))
            .expect("an answer");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        assert_eq!(response.headers()[header::ETAG], etag(b"a,b\n").as_str());
    }
}
