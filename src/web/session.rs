//! Signing in and out of the pages, and the session behind each page.
//!
//! A session is a random 256-bit id in an `HttpOnly; SameSite=Strict` cookie (`Secure` when the
//! request came through TLS, as told by `X-Forwarded-Proto` or `Forwarded`). The database keeps
//! the id's SHA-256 and the SHA-256 of the API token it was opened with (see `store::sessions`),
//! so that every server of the database knows every session and a restart ends none; the token
//! itself never goes back to the browser. The session's CSRF token is not stored either: it is an
//! HMAC of the session's id under a key derived from the master key, the same on every server.
//! Each page checks the token again with the store, so a token that stops being valid ends its
//! sessions. Sessions end after [`SESSION_IDLE`](crate::store::SESSION_IDLE) without a page, after [`SESSION_LIFETIME`] in
//! all, on sign-out (on every server), and when their token is revoked or expires.
//!
//! Every POST is checked three ways: `SameSite=Strict` keeps the cookie off cross-site requests,
//! the form's hidden `csrf` field must match the session's token (or, to sign in, the
//! double-submit value of the sign-in cookie set with the form), and an `Origin` (or `Referer`)
//! naming another site is refused.
//!
//! The sign-in value is not any value a browser holds: it is minted by a server ([`SignInKey`]),
//! as when it was made, a nonce and an HMAC of both under a key derived from the master key, so
//! that every server of one database accepts the others' forms and nobody else can make one. A
//! value an attacker planted in the cookie and the form alike (cookie tossing, to sign a victim
//! in as the attacker) is refused with 403; a genuine one older than an hour asks for a new form.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use rand::RngCore;
use serde::Deserialize;

use super::layout::log_fault;
use super::layout::{field_error, html_response, page, PageError};
use crate::app::{AppError, AppState, Caller};
use crate::store::hmac_sha256;
use crate::store::{token_hash, Principal, SessionLookup, TokenCheck, SESSION_LIFETIME};

pub const SESSION_COOKIE: &str = "coprod_session";
/// The double-submit CSRF value of the sign-in form (there is no session yet to hold one).
pub const SIGN_IN_COOKIE: &str = "coprod_sign_in";
/// A sign-in form (its value) is accepted for this long after the server made it.
pub const SIGN_IN_FORM_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// A sign-in value dated up to this far ahead of this server's clock is taken as another
/// server's whose clock runs a little fast.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);
/// The key a session's CSRF token is made with: derived from the master key, as [`SignInKey`]'s.
fn csrf_of(state: &AppState, session_id: &str) -> String {
    let key = server_key(state, "session csrf");
    hex::encode(hmac_sha256(
        &key,
        &[b"coprod session csrf v1\0", session_id.as_bytes()],
    ))
}

/// The key derived from the master key for `purpose`. A store without the master key (never
/// `coprod serve`) falls back to a key of this process alone.
fn server_key(state: &AppState, purpose: &str) -> [u8; 32] {
    match state.store.derived_secret(purpose) {
        Some(key) => key,
        None => {
            static PROCESS_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
            let process_key = PROCESS_KEY.get_or_init(|| {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                key
            });
            hmac_sha256(process_key, &[purpose.as_bytes()])
        }
    }
}

/// The key sign-in values are made and checked with: derived from the master key, so that every
/// server holding it makes and accepts the same values. A store without the master key (never
/// `coprod serve`) falls back to a key of this process alone.
#[derive(Clone)]
pub struct SignInKey([u8; 32]);

/// What checking a sign-in value found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInValue {
    /// Made by a server of this database within [`SIGN_IN_FORM_LIFETIME`].
    Genuine,
    /// Made by a server of this database, longer ago.
    Expired,
    /// Not made by a server of this database: planted.
    Forged,
}

impl SignInKey {
    /// What the master key's derived keys are told apart by.
    const PURPOSE: &'static str = "sign-in form";

    pub fn of(state: &AppState) -> SignInKey {
        SignInKey(server_key(state, Self::PURPOSE))
    }

    fn mac(&self, issued: i64, nonce: &str) -> String {
        let issued = issued.to_string();
        hex::encode(hmac_sha256(
            &self.0,
            &[
                b"coprod sign-in v1\0",
                issued.as_bytes(),
                b".",
                nonce.as_bytes(),
            ],
        ))
    }

    /// A new sign-in value, made at `now` (Unix seconds): `<now>.<nonce>.<mac>`.
    pub fn mint(&self, now: i64) -> String {
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let nonce = hex::encode(nonce);
        let mac = self.mac(now, &nonce);
        format!("{now}.{nonce}.{mac}")
    }

    /// Whether `value` is a sign-in value a server of this database made, and still fresh at
    /// `now` (Unix seconds).
    pub fn check(&self, value: &str, now: i64) -> SignInValue {
        let mut parts = value.split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return SignInValue::Forged;
        };
        let Ok(issued_at) = issued.parse::<i64>() else {
            return SignInValue::Forged;
        };
        let well_formed = issued == issued_at.to_string()
            && nonce.len() == 32
            && nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed || !same_secret(&self.mac(issued_at, nonce), mac) {
            return SignInValue::Forged;
        }
        let age = now.saturating_sub(issued_at);
        let lifetime = SIGN_IN_FORM_LIFETIME.as_secs() as i64;
        if age > lifetime || age < -(CLOCK_SKEW.as_secs() as i64) {
            SignInValue::Expired
        } else {
            SignInValue::Genuine
        }
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The person behind a page: who their token speaks for, and their session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
}

impl Viewer {
    pub fn caller(&self) -> Caller {
        Caller(self.principal.clone())
    }
}

/// What the session cookie of a request leads to.
pub enum Lookup {
    SignedIn(Viewer),
    NoSession,
    /// The session ran out, or was signed out.
    Ended,
    /// The token the session was opened with is no longer accepted.
    TokenRefused,
}

pub async fn lookup(state: &AppState, headers: &HeaderMap) -> Result<Lookup, AppError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(Lookup::NoSession);
    };
    let token_hash = match state.store.session(&id).await? {
        SessionLookup::Ended => return Ok(Lookup::Ended),
        SessionLookup::Open { token_hash } => token_hash,
    };
    match state.store.check_token_hash(&token_hash).await? {
        TokenCheck::Valid(principal) => Ok(Lookup::SignedIn(Viewer {
            principal,
            csrf: csrf_of(state, &id),
        })),
        TokenCheck::Unknown | TokenCheck::Revoked | TokenCheck::Expired => {
            state.store.end_session(&id).await?;
            Ok(Lookup::TokenRefused)
        }
    }
}

/// A signed-in person; without one, the sign-in page is answered instead (and the page asked for
/// is shown after signing in).
pub struct SignedIn(pub Viewer);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        match lookup(state, &parts.headers).await {
            Ok(Lookup::SignedIn(viewer)) => Ok(SignedIn(viewer)),
            Ok(Lookup::NoSession) => Err(sign_in_page(
                state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                Some(Notice::SignInFirst),
                None,
                Some(&next),
            )),
            Ok(Lookup::Ended) => Err(sign_in_page(
                state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                Some(Notice::Ended),
                None,
                Some(&next),
            )),
            Ok(Lookup::TokenRefused) => Err(sign_in_page(
                state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                Some(Notice::TokenRefused),
                None,
                Some(&next),
            )),
            Err(error) => Err(unavailable(error)),
        }
    }
}

fn unavailable(error: AppError) -> Response {
    let status = if error.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        log_fault(&error);
        StatusCode::INTERNAL_SERVER_ERROR
    };
    PageError::new(
        status,
        "Sorry, there is a problem with the service",
        html! {
            p class="govuk-body" { "Signing in cannot be checked just now. Try again in a few minutes." }
        },
    )
    .into_response()
}

/// Why the sign-in page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    SignInFirst,
    Ended,
    TokenRefused,
    SignedOut,
}

impl Notice {
    fn text(self) -> &'static str {
        match self {
            Notice::SignInFirst => "Sign in to see this page.",
            Notice::Ended => {
                "Your session has ended, because it was not used for 2 hours, was more than \
                 12 hours old or you signed out. Sign in again to carry on."
            }
            Notice::TokenRefused => {
                "Your token is no longer accepted, so you have been signed out. Ask your Coprod \
                 administrator for a new token."
            }
            Notice::SignedOut => "You have signed out.",
        }
    }
}

/// The sign-in form, with a fresh (or the browser's current, if genuine and fresh)
/// double-submit CSRF value.
pub fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<Notice>,
    error: Option<&str>,
    next: Option<&str>,
) -> Response {
    let key = SignInKey::of(state);
    let now = state.now().timestamp();
    let csrf = cookie(headers, SIGN_IN_COOKIE)
        .filter(|value| key.check(value, now) == SignInValue::Genuine)
        .unwrap_or_else(|| key.mint(now));
    let next = next.and_then(local_path);
    let title = if error.is_some() {
        "Error: Sign in"
    } else {
        "Sign in"
    };
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                @if let Some(error) = error {
                    (super::layout::error_summary(&[("token", error.to_string())]))
                }
                @if let Some(notice) = notice {
                    div class="govuk-inset-text" { (notice.text()) }
                }
                h1 class="govuk-heading-l" { "Sign in to Coprod" }
                p class="govuk-body" {
                    "Coprod shows the audit trail of co-production projects in adult social care, and "
                    "how each project meets the six-point co-production test."
                }
                form method="post" action="/sign-in" novalidate {
                    input type="hidden" name="csrf" value=(csrf);
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    div class={ "govuk-form-group" @if error.is_some() { " govuk-form-group--error" } } {
                        label class="govuk-label govuk-label--m" for="token" { "Your access token" }
                        div class="govuk-hint" id="token-hint" {
                            "The token your Coprod administrator gave you. It starts with coprod_."
                        }
                        (field_error("token", error))
                        input class={ "govuk-input" @if error.is_some() { " govuk-input--error" } }
                            id="token" name="token" type="password" autocomplete="current-password"
                            spellcheck="false"
                            aria-describedby={ "token-hint" @if error.is_some() { " token-error" } };
                    }
                    button type="submit" class="govuk-button" { "Sign in" }
                }
                h2 class="govuk-heading-s" { "If you do not have a token" }
                p class="govuk-body" {
                    "Ask your Coprod administrator. They make one with "
                    code { "coprod token create" } "."
                }
            }
        }
    };
    let mut response = html_response(status, page(title, None, body));
    set_cookie(&mut response, headers, SIGN_IN_COOKIE, &csrf, Some(60 * 60));
    if matches!(notice, Some(Notice::Ended | Notice::TokenRefused)) {
        set_cookie(&mut response, headers, SESSION_COOKIE, "", Some(0));
    }
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /sign-in`: checks the token and opens a session (303 to the page asked for, or `/`).
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: SignInForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !same_origin(&headers) {
        return cross_site(None);
    }
    let next = form.next.as_deref();
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    let key = SignInKey::of(&state);
    let checked = expected
        .as_deref()
        .filter(|expected| same_secret(expected, &form.csrf))
        .map(|expected| key.check(expected, state.now().timestamp()));
    if checked == Some(SignInValue::Forged) {
        return planted_sign_in_value();
    }
    if checked != Some(SignInValue::Genuine) {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            None,
            Some(
                "The sign-in form had expired, or your browser did not send its cookie. \
                 Allow cookies for this site and sign in again.",
            ),
            next,
        );
    }
    let token = form.token.trim();
    if token.is_empty() {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            None,
            Some("Enter your access token"),
            next,
        );
    }
    let refused = |error: &str| {
        sign_in_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            None,
            Some(error),
            next,
        )
    };
    match state.store.check_token(token).await {
        Ok(TokenCheck::Valid(_)) => {
            let id = match state.store.open_session(&token_hash(token)).await {
                Ok(id) => id,
                Err(error) => return unavailable(error.into()),
            };
            let target = next.and_then(local_path).unwrap_or("/");
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
            set_cookie(
                &mut response,
                &headers,
                SESSION_COOKIE,
                &id,
                Some(SESSION_LIFETIME.as_secs()),
            );
            set_cookie(&mut response, &headers, SIGN_IN_COOKIE, "", Some(0));
            response
        }
        Ok(TokenCheck::Unknown) => refused(
            "That token was not recognised. Check you copied all of it, or ask your Coprod \
             administrator for a new one",
        ),
        Ok(TokenCheck::Revoked) => {
            refused("That token has been revoked. Ask your Coprod administrator for a new one")
        }
        Ok(TokenCheck::Expired) => {
            refused("That token has expired. Ask your Coprod administrator for a new one")
        }
        Err(error) => unavailable(error.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-out`: ends the session (303 to the sign-in page).
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: SignOutForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let viewer = match lookup(&state, &headers).await {
        Ok(Lookup::SignedIn(viewer)) => Some(viewer),
        _ => None,
    };
    if !same_origin(&headers) {
        return cross_site(viewer.as_ref());
    }
    if let Some(viewer) = &viewer {
        if !same_secret(&viewer.csrf, &form.csrf) {
            return PageError::new(
                StatusCode::BAD_REQUEST,
                "You have not been signed out",
                html! {
                    p class="govuk-body" {
                        "The sign-out form was out of date. Use the Sign out button at the top of this page to try again."
                    }
                },
            )
            .for_viewer(viewer)
            .into_response();
        }
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        if let Err(error) = state.store.end_session(&id).await {
            return unavailable(error.into());
        }
    }
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/?signed_out=yes")],
    )
        .into_response();
    set_cookie(&mut response, &headers, SESSION_COOKIE, "", Some(0));
    response
}

/// The answer to a sign-in whose cookie and form agree on a value no server of this database
/// made: someone planted it, to sign this browser in as themselves.
fn planted_sign_in_value() -> Response {
    PageError::new(
        StatusCode::FORBIDDEN,
        "This sign-in form did not come from Coprod",
        html! {
            p class="govuk-body" {
                "Coprod did not make the form you signed in with, so you have not been signed in. "
                "Someone may have tried to sign you in as them."
            }
            p class="govuk-body" {
                a class="govuk-link" href="/" { "Sign in from Coprod's start page" }
            }
        },
    )
    .into_response()
}

fn cross_site(viewer: Option<&Viewer>) -> Response {
    let error = PageError::new(
        StatusCode::FORBIDDEN,
        "This form came from another website",
        html! {
            p class="govuk-body" {
                "Coprod only accepts its forms from its own pages, to protect your account. "
                "Nothing was changed."
            }
            p class="govuk-body" { a class="govuk-link" href="/" { "Go to Coprod's start page" } }
        },
    );
    match viewer {
        Some(viewer) => error.for_viewer(viewer).into_response(),
        None => error.into_response(),
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Whether the request came through TLS, as a proxy in front says.
fn is_https(headers: &HeaderMap) -> bool {
    let first = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    };
    first("x-forwarded-proto").is_some_and(|proto| proto == "https")
        || first("forwarded").is_some_and(|f| f.split(';').any(|p| p.trim() == "proto=https"))
}

fn set_cookie(
    response: &mut Response,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age: Option<u64>,
) {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if is_https(headers) {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A path on this site (never another site's address) to go to after signing in.
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2000
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/sign-");
    ok.then_some(next)
}

/// Whether a POST came from this site: an `Origin` (or, without one, a `Referer`) must name the
/// host the request was sent to. Requests with neither (not sent by a browser form) pass.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let host = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').next().unwrap_or("").trim())
        .or_else(|| value(header::HOST));
    let source = value(header::ORIGIN).or_else(|| value(header::REFERER));
    match (source, host) {
        (None, _) => true,
        (Some(source), Some(host)) => {
            authority(source).is_some_and(|a| a.eq_ignore_ascii_case(host))
        }
        (Some(_), None) => false,
    }
}

/// `host[:port]` of an absolute http(s) URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_must_name_this_host() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("referer", "http://127.0.0.1:8080/projects?x=1")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("referer", "https://127.0.0.1:8080.evil.example/")
        ])));
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/projects/1?x=2"), Some("/projects/1?x=2"));
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("/\\evil.example"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/sign-out"), None);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let h = headers(&[("cookie", "a=1; coprod_session=abc; b=2")]);
        assert_eq!(cookie(&h, "coprod_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "coprod"), None);
    }

    #[test]
    fn a_sign_in_value_is_genuine_only_from_the_same_key_unaltered_and_within_the_hour() {
        let key = SignInKey([7; 32]);
        let now = 1_750_000_000;
        let value = key.mint(now);
        assert_eq!(key.check(&value, now), SignInValue::Genuine);
        assert_eq!(key.check(&value, now + 3600), SignInValue::Genuine);
        assert_eq!(key.check(&value, now + 3601), SignInValue::Expired);
        assert_eq!(key.check(&value, now - 300), SignInValue::Genuine);
        assert_eq!(key.check(&value, now - 301), SignInValue::Expired);
        assert_eq!(SignInKey([8; 32]).check(&value, now), SignInValue::Forged);
        let (made, mac) = value.rsplit_once('.').expect("three parts");
        let other_mac = if mac.starts_with('0') { "1" } else { "0" };
        let altered = format!("{made}.{other_mac}{}", &mac[1..]);
        assert_eq!(key.check(&altered, now), SignInValue::Forged);
        let later = value.replacen(&now.to_string(), &(now + 60).to_string(), 1);
        assert_eq!(key.check(&later, now), SignInValue::Forged);
        for planted in [
            "",
            &"a".repeat(64),
            "1.2.3",
            "x.y.z.w",
            &format!("+{value}"),
        ] {
            assert_eq!(key.check(planted, now), SignInValue::Forged, "{planted:?}");
        }
    }

    #[test]
    fn secrets_are_the_same_only_when_equal() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
