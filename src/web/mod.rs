//! Web pages for assurance officers and scrutiny panels, served by the same binary as the API: a
//! second transport over the application layer ([`crate::app`]), independent of the API's.
//!
//! Server-rendered HTML (maud), styled with GOV.UK Frontend's CSS (vendored in `assets/`, built
//! with a system font stack and without GOV.UK branding); no JavaScript. The pages ask the
//! application the questions the API asks, so the same rules hold: the same roles, the same
//! organisation filter, the same replayed assessments; its errors become HTML error pages.
//!
//! - Sessions: signing in with an API token creates a random session id, kept in the database
//!   (only its SHA-256, beside the token's) and sent as an `HttpOnly; SameSite=Strict` cookie
//!   (`Secure` behind TLS), so that every server knows it and it outlives a restart. The token is
//!   checked again on every page, so a revoked token ends its sessions at once. Sessions end after
//!   2 hours idle or 12 hours in all, and on sign-out. See [`session`].
//! - CSRF: every POST form carries a token (the session's, or a sign-in cookie's double-submit
//!   value, which only a server holding the master key can make) and cross-origin POSTs are
//!   refused by their `Origin` (or `Referer`), besides `SameSite=Strict`.
//! - Panel members see the audit trail without the entries' contents (the API does not give them
//!   raw payloads): who recorded what kind of entry, when, its digest and whether it was withdrawn.

mod compare;
mod forms;
mod invitation;
mod layout;
mod pages;
mod portfolio;
mod project;
mod record;
mod report;
mod session;
mod trail;
pub mod words;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;

pub use invitation::INVITATION_PATH;
pub use layout::demo_scope;

/// The pages' routes (joined with the API's by [`crate::build_app`]).
pub fn router() -> Router<AppState> {
    with_page_layers(routes())
}

/// What every page shares, around `routes`: a panic answered as an error page *inside* the
/// security headers (so that the 500 carries them too), and the headers.
pub fn with_page_layers(routes: Router<AppState>) -> Router<AppState> {
    routes
        .layer(CatchPanicLayer::custom(|_| layout::panicked()))
        .layer(axum::middleware::from_fn(security_headers))
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/sign-in", post(session::sign_in).get(pages::sign_in_again))
        .route("/sign-out", post(session::sign_out))
        .route("/projects", get(pages::projects))
        .route(
            "/projects/new",
            get(record::new_project).post(record::register),
        )
        .route("/projects/{id}", get(project::page))
        .route("/projects/{id}/record", get(record::index))
        .route(
            "/projects/{id}/record/{form}",
            get(record::form_page).post(record::submit),
        )
        .route("/projects/{id}/recorded/{sequence}", get(record::receipt))
        .route(
            "/projects/{id}/import",
            get(record::import::page_for).post(record::import::upload),
        )
        .route("/imports/templates/{file}", get(record::import::template))
        .route("/projects/{id}/compare", get(compare::page))
        .route("/projects/{id}/trail", get(trail::page))
        .route("/projects/{id}/report", get(report::page))
        .route("/projects/{id}/report.csv", get(report::csv))
        .route("/projects/{id}/report.json", get(report::json))
        .route("/portfolio", get(portfolio::page))
        .route("/portfolio/projects", get(portfolio::projects))
        .route("/portfolio/figures.csv", get(portfolio::figures_csv))
        .route("/portfolio/trend.csv", get(portfolio::trend_csv))
        .route("/portfolio/comparison.csv", get(portfolio::comparison_csv))
        .route("/portfolio/projects.csv", get(portfolio::projects_csv))
        .route(
            "/your-say/{secret}",
            get(invitation::page_for).post(invitation::answer),
        )
        .route("/accessibility", get(pages::accessibility))
        .route("/assets/govuk-frontend.min.css", get(layout::govuk_css))
        .route("/assets/coprod.css", get(layout::coprod_css))
        .route("/assets/icon.svg", get(layout::icon))
}

/// Headers every page gets: no scripts, no framing, no sniffing; pages are private and not kept.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    add_security_headers(&mut response, is_asset);
    response
}

/// A page address whose query cannot be read, refused before any page handler runs (see
/// `crate::read_routing`), with the headers every page carries.
pub fn bad_address(message: &str) -> Response {
    use axum::response::IntoResponse;
    let mut response = layout::PageError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "There is a problem with the address",
        maud::html! { p class="govuk-body" { (message) } },
    )
    .into_response();
    add_security_headers(&mut response, false);
    response
}

fn add_security_headers(response: &mut Response, is_asset: bool) {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if !is_asset && !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
}
