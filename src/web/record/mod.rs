//! Recording without writing JSON: a form for registering a project and one for every fact,
//! for recorders and administrators.
//!
//! Each form turns its fields into the body an API client would post and hands it to the API's
//! own path ([`crate::http::events::record`], [`crate::http::projects::register_body`]), so the
//! rules cannot differ: what the API refuses, the form refuses, shown as a GOV.UK error summary
//! with a message by each field and the values kept. A save answers with a redirect to the
//! receipt (entry number, digest, and what the entry changed in the assessment), so that
//! reloading it records nothing. Each form carries the session's CSRF token and an
//! idempotency key made when it was shown: a second submit of the same form gets the first
//! receipt and records nothing.

pub mod catalogue;
mod choices;
pub mod import;
mod receipt;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use self::catalogue::{form as recording_form, RecordingForm, Section, FORMS, REGISTRATION};
pub use self::choices::ProjectChoices;
pub use self::receipt::receipt;
use super::forms::{body_of, field_markup, refusal_errors, Field, FieldErrors, Input, Submitted};
use super::layout::{error_summary, html_response, page, PageError};
use super::project::{load, ProjectPage};
use super::session::{same_origin, same_secret, SignedIn, Viewer};
use crate::app::caller::WRITERS;
use crate::app::{AppError, AppState};
use crate::http::idempotency::{IdempotencyKey, MAX_KEY_CHARS};
use crate::http::problem::ApiError;

/// Refuses a viewer who may not record.
fn require_recorder(viewer: &Viewer) -> Result<(), PageError> {
    viewer
        .caller()
        .require(WRITERS, "record facts")
        .map_err(|e| PageError::from_app(e, viewer))
}

/// Refuses a POST that did not come from this site's own form: another site's `Origin`, or no
/// (or the wrong) CSRF token. Nothing is recorded.
pub fn check_form_post(viewer: &Viewer, headers: &HeaderMap, csrf: &str) -> Result<(), PageError> {
    let forged = if !same_origin(headers) {
        Some("The form was sent from another website.")
    } else if !same_secret(csrf, &viewer.csrf) {
        Some("The form was out of date, or did not come from Coprod.")
    } else {
        None
    };
    match forged {
        None => Ok(()),
        Some(why) => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Nothing was recorded",
            html! {
                p class="govuk-body" { (why) " Nothing was recorded." }
                p class="govuk-body" { "Go back, reload the page and send the form again." }
            },
        )
        .for_viewer(viewer)),
    }
}

/// A new idempotency key for a form being shown.
fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The idempotency key a form was sent with, if it is one.
fn key_of(submitted: &Submitted) -> IdempotencyKey {
    let key = submitted.one("idempotency_key");
    IdempotencyKey(
        (!key.is_empty() && key.chars().count() <= MAX_KEY_CHARS).then(|| key.to_string()),
    )
}

/// What a form page shows: its heading, where it posts, and its fields.
struct FormPage<'a> {
    caption: String,
    title: &'a str,
    intro: &'a str,
    action: String,
    back: (String, &'a str),
    fields: &'a [Field],
    button: &'a str,
}

fn form_markup(
    form: &FormPage,
    viewer: &Viewer,
    submitted: &Submitted,
    choices: &ProjectChoices,
    errors: &FieldErrors,
) -> Markup {
    html! {
        (error_summary(errors))
        span class="govuk-caption-l" { (form.caption) }
        h1 class="govuk-heading-l" { (form.title) }
        p class="govuk-body" { (form.intro) }
        form method="post" action=(form.action) novalidate {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="idempotency_key" value=(submitted.one("idempotency_key"));
            @for field in form.fields {
                @let error = errors.iter().find(|(name, _)| *name == field.name).map(|(_, message)| message.as_str());
                @let options = match field.input {
                    Input::OneOf(c) | Input::AnyOf(c) => choices.options(c).clone(),
                    Input::Votes => choices.people().clone(),
                    _ => Vec::new(),
                };
                (field_markup(field, submitted, &options, error))
            }
            div class="govuk-button-group" {
                button type="submit" class="govuk-button" data-prevent-double-click="true" { (form.button) }
                a class="govuk-link" href=(form.back.0) { (form.back.1) }
            }
        }
    }
}

fn form_response(
    status: StatusCode,
    form: &FormPage,
    viewer: &Viewer,
    submitted: &Submitted,
    choices: &ProjectChoices,
    errors: &FieldErrors,
) -> Response {
    let title = if errors.is_empty() {
        format!("{}: {}", form.title, form.caption)
    } else {
        format!("Error: {}: {}", form.title, form.caption)
    };
    html_response(
        status,
        page(
            &title,
            Some(viewer),
            form_markup(form, viewer, submitted, choices, errors),
        ),
    )
}

/// The status and field errors of an API refusal; a fault of the server is an error page.
fn refused(
    error: ApiError,
    fields: &[Field],
    viewer: &Viewer,
) -> Result<(StatusCode, FieldErrors), PageError> {
    if error.status.is_server_error() {
        let app = if error.status == StatusCode::SERVICE_UNAVAILABLE {
            AppError::Store(crate::store::StoreError::Unavailable(error.detail))
        } else {
            AppError::internal("recording from a form", error.detail)
        };
        return Err(PageError::from_app(app, viewer));
    }
    let first = fields.first().map_or("", |f| f.name);
    Ok((error.status, refusal_errors(&error, fields, first)))
}

fn fact_page<'a>(project: &ProjectPage, form: &'a RecordingForm) -> FormPage<'a> {
    let id = project.id();
    FormPage {
        caption: project.title(),
        title: form.title,
        intro: form.intro,
        action: format!("/projects/{id}/record/{}", form.slug),
        back: (format!("/projects/{id}/record"), "Cancel"),
        fields: form.fields,
        button: "Record it",
    }
}

fn registration_page() -> FormPage<'static> {
    FormPage {
        caption: "New project".into(),
        title: "Register a project",
        intro: "Register a co-production project to start its audit trail. Everything after this is recorded as facts about the project.",
        action: "/projects/new".into(),
        back: ("/projects".into(), "Cancel"),
        fields: REGISTRATION,
        button: "Register the project",
    }
}

/// `GET /projects/{id}/record`: what can be recorded, each a link to its form.
pub async fn index(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let project = load(&state, &viewer, &id).await?;
    let choices = ProjectChoices::of(&project.events);
    let project_id = project.id();
    let title = project.title();
    let body = html! {
        span class="govuk-caption-l" { (title) }
        h1 class="govuk-heading-l" { "Record something" }
        @if choices.closed {
            div class="govuk-inset-text" {
                "This project is closed: only corrections of earlier entries can be recorded."
            }
        }
        p class="govuk-body" {
            "Each form records one fact in the project's audit trail, checked by the same rules as the API. "
            "Registers kept in a spreadsheet can be "
            a class="govuk-link" href={ "/projects/" (project_id) "/import" } { "imported from a CSV file" } "."
        }
        @for section in Section::ALL {
            @let forms: Vec<&RecordingForm> = FORMS.iter()
                .filter(|f| f.section == section)
                .filter(|f| !choices.closed || f.event_type == "correction_recorded")
                .collect();
            @if !forms.is_empty() {
                h2 class="govuk-heading-m" { (section.heading()) }
                ul class="govuk-list" {
                    @for form in forms {
                        li { a class="govuk-link" href={ "/projects/" (project_id) "/record/" (form.slug) } { (form.title) } }
                    }
                }
            }
        }
        p class="govuk-body" { a class="govuk-link" href={ "/projects/" (project_id) } { "Back to the project" } }
    };
    Ok(html_response(
        StatusCode::OK,
        page(&format!("Record something: {title}"), Some(&viewer), body),
    ))
}

/// What a fact's form is filled in with when first shown.
fn prefilled(
    form: &RecordingForm,
    choices: &ProjectChoices,
    today: chrono::NaiveDate,
) -> Submitted {
    let mut submitted = Submitted::default();
    submitted.set("idempotency_key", new_key());
    for field in form.fields {
        match (field.name, field.input) {
            ("occurred_on", _) => {
                submitted.set("occurred_on", today.format("%Y-%m-%d").to_string())
            }
            ("activity_id", Input::Line) => {
                submitted.set(field.name, choices.unused_id("activity"))
            }
            ("contribution_id", Input::Line) => {
                submitted.set(field.name, choices.unused_id("contribution"))
            }
            ("decision_id", Input::Line) => {
                submitted.set(field.name, choices.unused_id("decision"))
            }
            ("outcome_id", Input::Line) => submitted.set(field.name, choices.unused_id("outcome")),
            _ => {}
        }
    }
    submitted
}

/// `GET /projects/{id}/record/{form}`.
pub async fn form_page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path((id, slug)): Path<(String, String)>,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let project = load(&state, &viewer, &id).await?;
    let form = recording_form(&slug).ok_or_else(|| no_such_form(&viewer))?;
    let choices = ProjectChoices::of(&project.events);
    let submitted = prefilled(form, &choices, state.today());
    Ok(form_response(
        StatusCode::OK,
        &fact_page(&project, form),
        &viewer,
        &submitted,
        &choices,
        &FieldErrors::new(),
    ))
}

fn no_such_form(viewer: &Viewer) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "Page not found",
        html! { p class="govuk-body" { "There is no such form. Choose one from the project's \u{201c}Record something\u{201d} page." } },
    )
    .for_viewer(viewer)
}

/// `POST /projects/{id}/record/{form}`: records the fact, or shows the form again with what is
/// wrong.
pub async fn submit(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path((id, slug)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let submitted = Submitted::read(&body);
    check_form_post(&viewer, &headers, submitted.one("csrf"))?;
    let project = load(&state, &viewer, &id).await?;
    let form = recording_form(&slug).ok_or_else(|| no_such_form(&viewer))?;
    let choices = ProjectChoices::of(&project.events);
    let shown = fact_page(&project, form);
    let again = |status, errors: &FieldErrors| {
        Ok(form_response(
            status, &shown, &viewer, &submitted, &choices, errors,
        ))
    };
    let body = match body_of(Some(form.event_type), form.fields, &submitted) {
        Ok(body) => body,
        Err(errors) => return again(StatusCode::BAD_REQUEST, &errors),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let caller = viewer.caller();
    let answer = crate::http::events::record(
        &state,
        &caller,
        project.head.project_id,
        None,
        key_of(&submitted),
        &bytes,
    )
    .await;
    match answer {
        Ok((_, receipt)) => {
            let sequence = serde_json::from_str::<crate::http::events::Receipt>(&receipt)
                .map(|r| r.last_sequence)
                .map_err(|e| {
                    PageError::from_app(AppError::internal("reading a receipt", e), &viewer)
                })?;
            Ok(see_other(&format!(
                "/projects/{}/recorded/{sequence}",
                project.head.project_id
            )))
        }
        Err(error) => {
            let (status, errors) = refused(error, form.fields, &viewer)?;
            again(status, &errors)
        }
    }
}

/// `303 See Other` to `location`: after a save, a reload shows the receipt again and records
/// nothing.
fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// `GET /projects/new`.
pub async fn new_project(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let mut submitted = Submitted::default();
    submitted.set("idempotency_key", new_key());
    submitted.set("started_on", state.today().format("%Y-%m-%d").to_string());
    if viewer.principal.organisation != crate::app::caller::ALL_ORGANISATIONS {
        submitted.set("organisation", viewer.principal.organisation.clone());
    }
    Ok(form_response(
        StatusCode::OK,
        &registration_page(),
        &viewer,
        &submitted,
        &ProjectChoices::default(),
        &FieldErrors::new(),
    ))
}

/// `POST /projects/new`: registers the project, or shows the form again with what is wrong.
pub async fn register(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let submitted = Submitted::read(&body);
    check_form_post(&viewer, &headers, submitted.one("csrf"))?;
    let shown = registration_page();
    let choices = ProjectChoices::default();
    let again = |status, errors: &FieldErrors| {
        Ok(form_response(
            status, &shown, &viewer, &submitted, &choices, errors,
        ))
    };
    let body = match body_of(None, REGISTRATION, &submitted) {
        Ok(body) => body,
        Err(errors) => return again(StatusCode::BAD_REQUEST, &errors),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let answer =
        crate::http::projects::register_body(&state, &viewer.caller(), key_of(&submitted), &bytes)
            .await;
    match answer {
        Ok((_, receipt)) => {
            let receipt =
                serde_json::from_str::<crate::http::projects::RegistrationReceipt>(&receipt)
                    .map_err(|e| {
                        PageError::from_app(AppError::internal("reading a receipt", e), &viewer)
                    })?;
            Ok(see_other(&format!(
                "/projects/{}/recorded/{}",
                receipt.project_id, receipt.sequence
            )))
        }
        Err(error) => {
            let (status, errors) = refused(error, REGISTRATION, &viewer)?;
            again(status, &errors)
        }
    }
}
