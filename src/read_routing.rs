//! Which database answers a read: the read replica (`coprod serve --read-database`) or the
//! primary. One layer, in front of the API's routes and the pages', decides it for each request
//! before any handler runs (see `docs/api.md`, "Reading what you wrote", and `docs/operations.md`,
//! "A read replica"):
//!
//! - Only `GET` and `HEAD` may be answered from the replica, and not the service's own routes,
//!   checkpoints or signing in, which always read the primary.
//! - A client holding a receipt may ask for at least that sequence: `?min_sequence=N` on an
//!   address of one project, or the `Coprod-Min-Sequence: PROJECT_ID:N[, PROJECT_ID:N…]` header
//!   on any read. A read that names a sequence itself (`at_sequence`, a receipt checked by
//!   `verify?sequence=`, a seal's sequence) asks for it too. The replica answers only when it
//!   holds every one of them; otherwise the primary does, so the answer is never older than
//!   what was asked for.
//! - `min_sequence` is taken out of the address before the handler sees it, so every read
//!   accepts it alike; a malformed one is refused (400) on every address, replica or not.
//! - Which database answered is counted in `/metrics` (`coprod_reads_total{from}`), not told
//!   in the answer: with a `Coprod-Min-Sequence` naming another organisation's project, it would
//!   tell whether that project has reached a sequence.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::app::{AppState, Caller};
use crate::http::problem::ApiError;

/// The query parameter asking for at least a sequence of the project in the address.
pub const MIN_SEQUENCE_PARAM: &str = "min_sequence";
/// The header asking for at least a sequence of each project it names.
pub const MIN_SEQUENCE_HEADER: &str = "coprod-min-sequence";
/// How many projects one `Coprod-Min-Sequence` header may name.
pub const MAX_NAMED_PROJECTS: usize = 100;

/// The layer in front of the API's routes: malformed requests get problem+json, after the token
/// is checked (the API checks the token first: a request without one gets 401).
pub async fn api_reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    route(state, request, next, Transport::Api).await
}

/// The layer in front of the pages: malformed requests get an error page.
pub async fn page_reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    route(state, request, next, Transport::Pages).await
}

/// Which door a request came in by: how it is refused.
#[derive(Clone, Copy)]
enum Transport {
    Api,
    Pages,
}

async fn route(state: AppState, mut request: Request, next: Next, door: Transport) -> Response {
    if !may_read_replica(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let (field, message) = match needs_of(&mut request) {
        Ok(needs) => {
            let scope = state.store.read_scope(&needs).await;
            let response = scope.run(next.run(request)).await;
            let from = if scope.on_replica() {
                "replica"
            } else {
                "primary"
            };
            metrics::counter!("coprod_reads_total", "from" => from).increment(1);
            return response;
        }
        Err(unreadable) => unreadable,
    };
    match door {
        Transport::Pages => crate::web::bad_address(&message),
        Transport::Api => {
            let (mut parts, _) = request.into_parts();
            if let Err(refused) = Caller::from_request_parts(&mut parts, &state).await {
                return refused.into_response();
            }
            ApiError::bad_request("validation_failed", message.clone())
                .at(field, message)
                .into_response()
        }
    }
}

/// Whether a request is a read the replica may answer.
pub fn may_read_replica(method: &Method, path: &str) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    let primary_only = ["/healthz", "/readyz", "/metrics", "/sign-in", "/sign-out"];
    !(primary_only.contains(&path)
        || path.starts_with("/api/v1/checkpoints")
        || path.starts_with("/api/v1/rubrics")
        || path == "/api/v1/openapi.json"
        || path.starts_with("/assets/"))
}

/// Why a request cannot be read: the parameter or header at fault, and what is wrong.
type Unreadable = (&'static str, String);

/// How the header is named where a problem points at it.
const HEADER_NAME: &str = "Coprod-Min-Sequence";
/// Where a problem points when the query as a whole cannot be read.
const QUERY: &str = "query";

/// What the request asks the answering database to hold, with `min_sequence` taken out of its
/// address; or why it cannot be read.
fn needs_of(request: &mut Request) -> Result<Vec<(Uuid, u64)>, Unreadable> {
    let unreadable_query = || (QUERY, "The address's query cannot be read.".to_string());
    let project = project_in(request.uri().path());
    let mut needs = Vec::new();
    let query = request.uri().query().unwrap_or("").to_string();
    // A query that cannot be read as pairs is left to the handler, which says what is wrong.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    let asked: Vec<&String> = pairs
        .iter()
        .filter(|(name, _)| name == MIN_SEQUENCE_PARAM)
        .map(|(_, value)| value)
        .collect();
    let at_parameter = |why: String| (MIN_SEQUENCE_PARAM, why);
    match (asked.as_slice(), project) {
        ([], _) => {}
        ([value], Some(project)) => needs.push((
            project,
            sequence(MIN_SEQUENCE_PARAM, value).map_err(at_parameter)?,
        )),
        ([_], None) => {
            return Err(at_parameter(format!(
                "{MIN_SEQUENCE_PARAM} asks for a sequence of the project in the address, and \
                 this address names no project: give the {HEADER_NAME} header \
                 (PROJECT_ID:SEQUENCE) instead."
            )))
        }
        _ => return Err(at_parameter(format!("Give {MIN_SEQUENCE_PARAM} once."))),
    }
    if let Some(project) = project {
        needs.extend(named_sequence(request.uri().path(), &pairs).map(|n| (project, n)));
    }
    let at_header = |why: String| (HEADER_NAME, why);
    for value in request.headers().get_all(MIN_SEQUENCE_HEADER) {
        let text = value
            .to_str()
            .map_err(|_| at_header(format!("The {HEADER_NAME} header is not text.")))?;
        for item in text.split(',').map(str::trim) {
            needs.push(header_item(item).map_err(at_header)?);
        }
    }
    if needs.len() > MAX_NAMED_PROJECTS {
        return Err(at_header(format!(
            "{HEADER_NAME} names at most {MAX_NAMED_PROJECTS} projects."
        )));
    }
    if !asked.is_empty() {
        let kept: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(name, _)| name != MIN_SEQUENCE_PARAM)
            .collect();
        let query = serde_urlencoded::to_string(kept).map_err(|_| unreadable_query())?;
        let path = request.uri().path().to_string();
        let address = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        *request.uri_mut() = address.parse::<Uri>().map_err(|_| unreadable_query())?;
    }
    Ok(needs)
}

/// The project an address is about: `/api/v1/projects/{id}…` or `/projects/{id}…`.
fn project_in(path: &str) -> Option<Uuid> {
    let rest = path
        .strip_prefix("/api/v1/projects/")
        .or_else(|| path.strip_prefix("/projects/"))?;
    rest.split('/').next()?.parse().ok()
}

/// A sequence the read names itself, which it needs to answer: the cut-off of an assessment
/// (`at_sequence`), the receipt a `verify` checks (`sequence`), the seal a seal's check reads.
fn named_sequence(path: &str, pairs: &[(String, String)]) -> Option<u64> {
    let parameter = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.parse::<u64>().ok())
            .filter(|n| *n > 0)
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "projects", _, "assessment"] => parameter("at_sequence"),
        ["api", "v1", "projects", _, "verify"] => parameter("sequence"),
        ["api", "v1", "projects", _, "assessments", sequence, "verify"] => {
            sequence.parse().ok().filter(|n| *n > 0)
        }
        _ => None,
    }
}

/// One `PROJECT_ID:SEQUENCE` of the header.
fn header_item(item: &str) -> Result<(Uuid, u64), String> {
    let unreadable = || {
        format!(
            "{HEADER_NAME} takes PROJECT_ID:SEQUENCE pairs separated by commas, as a \
             receipt gives them; '{}' is not one.",
            item.chars().take(80).collect::<String>()
        )
    };
    let (project, number) = item.split_once(':').ok_or_else(unreadable)?;
    let project: Uuid = project.trim().parse().map_err(|_| unreadable())?;
    Ok((project, sequence(HEADER_NAME, number.trim())?))
}

/// A sequence: a whole number from 1.
fn sequence(name: &str, value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 && n <= i64::MAX as u64 => Ok(n),
        _ => Err(format!(
            "{name} is a sequence: a whole number from 1 (the receipt's last_sequence), not '{}'.",
            value.chars().take(40).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_comes_from_either_transport_s_address() {
        let id = Uuid::new_v4();
        assert_eq!(
            project_in(&format!("/api/v1/projects/{id}/events")),
            Some(id)
        );
        assert_eq!(project_in(&format!("/projects/{id}")), Some(id));
        assert_eq!(project_in("/api/v1/portfolio"), None);
        assert_eq!(project_in("/projects/not-a-uuid/trail"), None);
    }

    #[test]
    fn reads_that_name_a_sequence_need_it() {
        let pairs = |name: &str, value: &str| vec![(name.to_string(), value.to_string())];
        let id = Uuid::new_v4();
        assert_eq!(
            named_sequence(
                &format!("/api/v1/projects/{id}/assessment"),
                &pairs("at_sequence", "7")
            ),
            Some(7)
        );
        assert_eq!(
            named_sequence(
                &format!("/api/v1/projects/{id}/verify"),
                &pairs("sequence", "3")
            ),
            Some(3)
        );
        assert_eq!(
            named_sequence(&format!("/api/v1/projects/{id}/assessments/9/verify"), &[]),
            Some(9)
        );
        assert_eq!(
            named_sequence(
                &format!("/api/v1/projects/{id}/events"),
                &pairs("after", "4")
            ),
            None
        );
    }
}
