//! The page template every page shares, the error pages, and the vendored stylesheets.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::session::Viewer;
use crate::app::{AppError, AppState};

tokio::task_local! {
    /// Whether the page being answered belongs to the demo (see [`demo_scope`]).
    static DEMO: bool;
}

/// Answers a request knowing whether the application is the demo, so that every page it renders
/// says so without each handler passing the flag down.
pub async fn demo_scope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    DEMO.scope(state.demo, next.run(request)).await
}

fn is_demo() -> bool {
    DEMO.try_with(|demo| *demo).unwrap_or(false)
}

/// The notice at the top of every page of the demo (printed too).
fn demo_notice() -> Markup {
    html! {
        p class="govuk-body-s" id="demo-notice" {
            strong class="govuk-tag govuk-tag--orange" { "Demo" }
            " These projects, people and records are made up, to show how Coprod works. Nothing here is real."
        }
    }
}

/// GOV.UK Frontend, compiled from its Sass with a system font stack and only the components the
/// pages use (see `tests/browser/govuk.scss`).
const GOVUK_CSS: &str = include_str!("../../assets/govuk-frontend.min.css");
/// Coprod's own few rules: the chart, digests, the print stylesheet.
const COPROD_CSS: &str = include_str!("../../assets/coprod.css");
/// The pages' icon: a plain "C", no GOV.UK crown.
const ICON: &str = include_str!("../../assets/icon.svg");

pub async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

pub async fn govuk_css() -> Response {
    stylesheet(GOVUK_CSS)
}

pub async fn coprod_css() -> Response {
    stylesheet(COPROD_CSS)
}

fn stylesheet(css: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        css,
    )
        .into_response()
}

/// A whole page: skip link, service header, one `main` holding `body` (which brings the page's
/// only h1), footer. In the demo, the title and the top of `main` say it is a demo.
pub fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    let demo = is_demo();
    html! {
        (DOCTYPE)
        html lang="en-GB" class="govuk-template" {
            head {
                meta charset="utf-8";
                title { (title) " – Coprod" @if demo { " demo" } }
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/govuk-frontend.min.css";
                link rel="stylesheet" href="/assets/coprod.css";
            }
            body class="govuk-template__body" {
                a href="#main-content" class="govuk-skip-link" { "Skip to main content" }
                header class="app-header" {
                    section aria-label="Service information" class="govuk-service-navigation" {
                        div class="govuk-width-container" {
                            div class="govuk-service-navigation__container" {
                                span class="govuk-service-navigation__service-name" {
                                    a href="/" class="govuk-service-navigation__link" { "Coprod" }
                                }
                                @if viewer.is_some() {
                                    nav aria-label="Menu" class="govuk-service-navigation__wrapper" {
                                        ul class="govuk-service-navigation__list" id="navigation" {
                                            li class="govuk-service-navigation__item" {
                                                a class="govuk-service-navigation__link" href="/projects" { "Projects" }
                                            }
                                            li class="govuk-service-navigation__item" {
                                                a class="govuk-service-navigation__link" href="/portfolio" { "Portfolio" }
                                            }
                                            li class="govuk-service-navigation__item" {
                                                a class="govuk-service-navigation__link" href="/accessibility" { "Accessibility" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(viewer) = viewer {
                        div class="govuk-width-container app-account" {
                            p class="govuk-body-s app-account__who" {
                                "Signed in as " strong { (viewer.principal.display_name()) }
                                " (" (super::words::role(viewer.principal.role)) ", "
                                (super::words::organisation(&viewer.principal.organisation)) ")"
                            }
                            form method="post" action="/sign-out" class="app-account__sign-out" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" class="govuk-button govuk-button--secondary app-button--small" { "Sign out" }
                            }
                        }
                    }
                }
                div class="govuk-width-container" {
                    main class="govuk-main-wrapper" id="main-content" tabindex="-1" {
                        @if demo { (demo_notice()) }
                        (body)
                    }
                }
                footer class="app-footer" {
                    div class="govuk-width-container" {
                        h2 class="govuk-visually-hidden" { "Support links" }
                        ul class="app-footer__links" {
                            li { a class="govuk-link" href="/accessibility" { "Accessibility statement" } }
                            li { a class="govuk-link" href="/api/v1/openapi.json" { "The API for other systems (OpenAPI)" } }
                        }
                        p class="govuk-body-s" {
                            "Coprod keeps the audit trail of co-production projects and scores them against the six-point co-production test."
                        }
                    }
                }
            }
        }
    }
}

/// An HTML answer.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A page that could not be shown, answered as a helpful page (never a stack trace).
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub body: Markup,
    pub viewer: Option<Box<Viewer>>,
}

/// The page for a request whose handler panicked: a 500, logged (the panic's message is not
/// shown).
pub fn panicked() -> Response {
    tracing::error!("a page's handler panicked");
    PageError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sorry, there is a problem with the service",
        html! { p class="govuk-body" { "Try again later. Nothing was changed by this page." } },
    )
    .into_response()
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, body: Markup) -> Self {
        PageError {
            status,
            title: title.into(),
            body,
            viewer: None,
        }
    }

    pub fn for_viewer(mut self, viewer: &Viewer) -> Self {
        self.viewer = Some(Box::new(viewer.clone()));
        self
    }

    pub fn project_not_found() -> Self {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Project not found",
            html! {
                p class="govuk-body" {
                    "There is no project at this address that you can see. "
                    "Check the address, or find the project in the list."
                }
                p class="govuk-body" {
                    "Projects of other organisations are not shown to you."
                }
                p class="govuk-body" { a class="govuk-link" href="/projects" { "Go to the list of projects" } }
            },
        )
    }

    /// An address (its query) the pages cannot read, with the link back as (address, words).
    pub fn bad_address(message: &str, back: Option<(&str, &str)>, viewer: &Viewer) -> Self {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "There is a problem with the address",
            html! {
                p class="govuk-body" { (message) }
                @if let Some((href, words)) = back {
                    p class="govuk-body" { a class="govuk-link" href=(href) { (words) } }
                }
            },
        )
        .for_viewer(viewer)
    }

    /// The page for an error of the application layer.
    pub fn from_app(error: AppError, viewer: &Viewer) -> Self {
        let problem = |status, detail: &str| {
            PageError::new(
                status,
                "There is a problem",
                html! { p class="govuk-body" { (detail) } },
            )
        };
        let page = match &error {
            AppError::ProjectNotFound => PageError::project_not_found(),
            AppError::Forbidden { detail, .. } => PageError::new(
                StatusCode::FORBIDDEN,
                "You cannot see this page",
                html! {
                    p class="govuk-body" { (detail) }
                    p class="govuk-body" { "If you need to, ask your Coprod administrator for a token with another role." }
                },
            ),
            AppError::Malformed { detail, .. } => problem(StatusCode::BAD_REQUEST, detail),
            AppError::Unanswerable { detail, .. } => {
                problem(StatusCode::UNPROCESSABLE_ENTITY, detail)
            }
            error if error.is_unavailable() => PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, the service is unavailable",
                html! {
                    p class="govuk-body" { "The records cannot be reached just now. Try again in a few minutes." }
                },
            ),
            AppError::Store(_) | AppError::Internal { .. } => {
                log_fault(&error);
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    html! {
                        p class="govuk-body" { "Something went wrong on our side. It has been logged. Try again later." }
                    },
                )
            }
        };
        page.for_viewer(viewer)
    }
}

/// Logs a fault of the server, whose cause no page shows.
pub fn log_fault(error: &AppError) {
    match error {
        AppError::Internal { context, cause } => tracing::error!(%cause, "{context}"),
        AppError::Store(cause) if !error.is_unavailable() => tracing::error!(%cause, "store error"),
        _ => {}
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = html! {
            div class="govuk-grid-row" {
                div class="govuk-grid-column-two-thirds" {
                    h1 class="govuk-heading-l" { (self.title) }
                    (self.body)
                }
            }
        };
        html_response(self.status, page(&self.title, self.viewer.as_deref(), body))
    }
}

/// A GOV.UK error summary linking to the fields in error (`(field id, message)`).
pub fn error_summary(errors: &[(&str, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="govuk-error-summary" tabindex="-1" role="alert" aria-labelledby="error-summary-title" {
                h2 class="govuk-error-summary__title" id="error-summary-title" { "There is a problem" }
                div class="govuk-error-summary__body" {
                    ul class="govuk-list govuk-error-summary__list" {
                        @for (field, message) in errors {
                            li { a href={ "#" (field) } { (message) } }
                        }
                    }
                }
            }
        }
    }
}

/// The GOV.UK message beside a field in error (`{field}-error`, which the field's
/// `aria-describedby` names); nothing without an error.
pub fn field_error(field: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p class="govuk-error-message" id={ (field) "-error" } {
                span class="govuk-visually-hidden" { "Error: " } (error)
            }
        }
    }
}

/// A labelled text field for a date (`YYYY-MM-DD`), with hint and error message.
pub fn date_field(
    id: &str,
    name: &str,
    label: &str,
    value: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = if error.is_some() {
        format!("{hint_id} {error_id}")
    } else {
        hint_id.clone()
    };
    html! {
        div class={ "govuk-form-group" @if error.is_some() { " govuk-form-group--error" } } {
            label class="govuk-label" for=(id) { (label) }
            div class="govuk-hint" id=(hint_id) { "Year, month and day, for example 2025-03-01" }
            (field_error(id, error))
            input class={ "govuk-input govuk-input--width-10" @if error.is_some() { " govuk-input--error" } }
                id=(id) name=(name) type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                aria-describedby=(described) value=[value];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccessRole, Principal, StoreError};

    fn viewer() -> Viewer {
        Viewer {
            principal: Principal {
                token_id: "0123456789abcdef".into(),
                label: "Joe".into(),
                role: AccessRole::Panel,
                organisation: "haringey".into(),
            },
            csrf: "0".repeat(64),
        }
    }

    #[test]
    fn application_errors_become_pages_with_the_api_status() {
        let status = |error: AppError| PageError::from_app(error, &viewer()).status;
        assert_eq!(status(AppError::ProjectNotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(AppError::forbidden("No.")), StatusCode::FORBIDDEN);
        assert_eq!(
            status(AppError::malformed("validation_failed", "Bad.")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(AppError::unanswerable("nothing_recorded", "None.")),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status(AppError::Store(StoreError::Unavailable("down".into()))),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(AppError::internal("csv", "broken")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn a_fault_page_never_shows_its_cause() {
        let page = PageError::from_app(AppError::internal("csv", "the disk is on fire"), &viewer());
        assert!(!page.body.into_string().contains("fire"));
    }
}
