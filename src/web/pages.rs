//! The start page (sign-in, or the project list), the project list and the accessibility
//! statement.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use coprod_domain::rubric;
use maud::html;
use serde_json::Value;

use super::layout::{html_response, log_fault, page, PageError};
use super::session::{lookup, sign_in_page, Lookup, Notice, SignedIn, Viewer};
use super::words;
use crate::app::caller::WRITERS;
use crate::app::projects::{organisation_names, visible_views};
use crate::app::AppState;

/// `GET /`: the sign-in form without a session, the project list with one.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let signed_out = query
        .map(|q| serde_urlencoded::from_str::<HashMap<String, String>>(&q).unwrap_or_default())
        .is_some_and(|q| q.contains_key("signed_out"));
    let notice = |lookup| match lookup {
        Lookup::Ended => Some(Notice::Ended),
        Lookup::TokenRefused => Some(Notice::TokenRefused),
        _ if signed_out => Some(Notice::SignedOut),
        _ => None,
    };
    match lookup(&state, &headers).await {
        Ok(Lookup::SignedIn(viewer)) => project_list(&state, &viewer)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Ok(other) => sign_in_page(&state, &headers, StatusCode::OK, notice(other), None, None),
        Err(error) => {
            log_fault(&error);
            tracing::warn!(%error, "start page");
            PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, the service is unavailable",
                html! { p class="govuk-body" { "Try again in a few minutes." } },
            )
            .into_response()
        }
    }
}

/// `GET /sign-in` (someone typed the form's address): the start page.
pub async fn sign_in_again() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
}

/// `GET /projects`.
pub async fn projects(State(state): State<AppState>, SignedIn(viewer): SignedIn) -> Response {
    project_list(&state, &viewer)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The projects the viewer may see, as the API lists them (their organisation's, or all).
async fn project_list(state: &AppState, viewer: &Viewer) -> Result<Response, PageError> {
    let caller = viewer.caller();
    let mut projects = visible_views(state, &caller, None, None)
        .await
        .map_err(|e| PageError::from_app(e, viewer))?;
    let text = |view: &Value, key: &str| {
        view.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    projects.sort_by_key(|view| (text(view, "title").to_lowercase(), text(view, "project_id")));
    let names = organisation_names(state)
        .await
        .map_err(|e| PageError::from_app(e, viewer))?;
    let criteria = &rubric::latest().rubric.criteria;
    let may_record = caller.require(WRITERS, "record").is_ok();
    let body = html! {
        h1 class="govuk-heading-l" { "Projects" }
        p class="govuk-body" {
            @if !caller.sees_all() {
                "The co-production projects of " (words::organisation_named(&viewer.principal.organisation, &names)) ", "
            } @else {
                "The co-production projects of every organisation, "
            }
            "with how each meets the six-point co-production test today. "
            "Open a project to see the facts behind each judgement, or the assessment on a past date."
        }
        @if may_record {
            a class="govuk-button" href="/projects/new" role="button" draggable="false" { "Register a project" }
        }
        @if projects.is_empty() {
            div class="govuk-inset-text" id="no-projects" {
                p class="govuk-body" { "There are no projects you can see yet." }
                p class="govuk-body" {
                    "Projects arrive in two ways: a recorder registers one here (" a class="govuk-link" href="/projects/new" { "Register a project" } ", for recorders and administrators) "
                    "and records what happens in its forms, or the system your organisation records co-production in registers it through Coprod's API "
                    "(" code { "POST /api/v1/projects" } "). "
                    "Each project appears here as soon as it is registered."
                }
                p class="govuk-body govuk-!-margin-bottom-0" {
                    "To see an example first, start Coprod with its demo projects: " code { "coprod serve --demo" } "."
                }
            }
        }
        @for view in &projects {
            @let id = text(view, "project_id");
            @let stage = text(view, "stage");
            div class="govuk-summary-card" {
                div class="govuk-summary-card__title-wrapper" {
                    h2 class="govuk-summary-card__title" {
                        a class="govuk-link" href={ "/projects/" (id) } { (text(view, "title")) }
                    }
                }
                div class="govuk-summary-card__content" {
                    dl class="govuk-summary-list" {
                        div class="govuk-summary-list__row" {
                            dt class="govuk-summary-list__key" { "Organisation" }
                            dd class="govuk-summary-list__value" { (words::organisation_named(&text(view, "organisation"), &names)) }
                        }
                        div class="govuk-summary-list__row" {
                            dt class="govuk-summary-list__key" { "Stage" }
                            dd class="govuk-summary-list__value" {
                                @if stage.is_empty() && text(view, "status") == "closed" { "Ended (closed)" } @else if stage.is_empty() { "No stage under way" } @else { (words::stage(&stage)) }
                            }
                        }
                        div class="govuk-summary-list__row" {
                            dt class="govuk-summary-list__key" { "Status" }
                            dd class="govuk-summary-list__value" { (words::status(&text(view, "status"))) }
                        }
                        div class="govuk-summary-list__row" {
                            dt class="govuk-summary-list__key" { "Six-point test" }
                            dd class="govuk-summary-list__value" {
                                ul class="govuk-list app-ratings" {
                                    @for criterion in criteria {
                                        @let rating = view.get("scorecard")
                                            .and_then(|s| s.get(&criterion.key))
                                            .and_then(Value::as_str)
                                            .and_then(words::rating_from_key);
                                        li {
                                            span class="app-ratings__name" { (criterion.title) ": " }
                                            @match rating {
                                                Some(rating) => (words::rating_tag(rating)),
                                                None => "not assessed",
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page("Projects", Some(viewer), body),
    ))
}

/// `GET /accessibility`: the accessibility statement (no sign-in needed).
pub async fn accessibility(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let viewer = match lookup(&state, &headers).await {
        Ok(Lookup::SignedIn(viewer)) => Some(viewer),
        _ => None,
    };
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { "Accessibility statement for Coprod" }
                p class="govuk-body" {
                    "This statement covers the Coprod web pages: signing in, the list of projects, "
                    "each project's assessment, the comparison of two dates, the audit trail, the "
                    "printable panel report and the portfolio."
                }
                p class="govuk-body" {
                    "We want as many people as possible to be able to use these pages. You should be able to:"
                }
                ul class="govuk-list govuk-list--bullet" {
                    li { "zoom in up to 400% without the text spilling off the screen" }
                    li { "use every page with a keyboard alone, with a visible focus and a link to skip to the content" }
                    li { "use every page with a screen reader: each page has one main heading, and every form field has a label" }
                    li { "read every rating as a word (Met, Partly met, Not met) and a symbol, never by colour alone" }
                    li { "read every chart (the six scores, and the portfolio over time) as a table as well" }
                    li { "use every page without JavaScript: the pages have none" }
                    li { "print the panel report, or save it as a PDF, with the navigation left out" }
                }
                h2 class="govuk-heading-m" { "How accessible these pages are" }
                p class="govuk-body" {
                    "The pages aim to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 at level AA. "
                    "They use the styles and patterns of the GOV.UK Design System, with your device's own fonts."
                }
                p class="govuk-body" { "We know of these limits:" }
                ul class="govuk-list govuk-list--bullet" {
                    li {
                        "Dates are typed as year, month and day (for example 2025-03-01) in one field, "
                        "rather than in three separate fields."
                    }
                    li {
                        "Digests are long strings of letters and numbers. They are there for checking, "
                        "and screen readers read them out in full."
                    }
                    li {
                        "The words in entries of the audit trail are shown as they were recorded, and "
                        "may use terms that are not plain English."
                    }
                }
                h2 class="govuk-heading-m" { "Reporting problems" }
                p class="govuk-body" {
                    "If you find a problem that is not listed here, or need the information in another "
                    "format, tell your Coprod administrator: the person who gave you your access token."
                }
                h2 class="govuk-heading-m" { "How we tested these pages" }
                p class="govuk-body" {
                    "Every page is checked on each change by automated tests in a real browser (Chromium), "
                    "with the axe-core accessibility rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA, "
                    "and by checks of keyboard use, the skip link, the print view and a narrow screen "
                    "equal to 400% zoom. The pages have not yet been audited by an outside organisation."
                }
                h2 class="govuk-heading-m" { "Preparation of this statement" }
                p class="govuk-body" { "This statement was prepared with the pages themselves and is reviewed when they change." }
            }
        }
    };
    html_response(
        StatusCode::OK,
        page("Accessibility statement", viewer.as_ref(), body),
    )
}
