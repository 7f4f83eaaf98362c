//! `GET /projects/{id}/trail?page=N`: the audit trail, 50 entries a page, with who recorded each
//! entry and when, its digest, corrections and withdrawn entries marked, and the chain check.
//!
//! Roles as in the API: recorders, assurance officers and administrators see each entry's
//! contents and the chain check (`GET …/events`, `GET …/verify`); panel members, whom the API
//! gives no raw payloads, see every entry's kind, dates, author, digest and withdrawals, without
//! its contents or the chain check.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use coprod_domain::personal::ERASED;
use coprod_domain::seal::SealOutcome;
use maud::{html, Markup};
use serde_json::Value;

use super::layout::{html_response, page as layout_page, PageError};
use super::project::query_map;
use super::session::SignedIn;
use super::words;
use crate::app::caller::TRAIL_READERS;
use crate::app::trail::{check_trail, readable_trail};
use crate::app::{visible_project, AppError, AppState};
use crate::trail::{trail, TrailEntry};

/// Entries on one page of the trail.
pub const PAGE_SIZE: u64 = 50;

/// The address of an entry on the trail pages.
pub fn entry_href(project_id: &str, sequence: u64) -> String {
    let page = sequence.saturating_sub(1) / PAGE_SIZE + 1;
    format!("/projects/{project_id}/trail?page={page}#entry-{sequence}")
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer, id) = (&state, &viewer, id.as_str());
    let fail = |e: AppError| PageError::from_app(e, viewer);
    let head = visible_project(state, &viewer.caller(), id)
        .await
        .map_err(fail)?;
    let project_id = head.project_id.to_string();
    let entries = state
        .store
        .entries(head.project_id, 0, None)
        .await
        .map_err(|e| fail(e.into()))?;
    let pages = (entries.len() as u64).div_ceil(PAGE_SIZE).max(1);
    let query = query_map(query);
    let page_number = match query.get("page").map(|p| p.trim()) {
        None | Some("") => 1,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (1..=pages).contains(&n) => n,
            Ok(n) => {
                return Err(PageError::new(
                    StatusCode::NOT_FOUND,
                    "Page not found",
                    html! {
                        p class="govuk-body" {
                            "This audit trail has " (pages) " " (if pages == 1 { "page" } else { "pages" })
                            "; there is no page " (n) "."
                        }
                        p class="govuk-body" {
                            a class="govuk-link" href={ "/projects/" (project_id) "/trail" } { "Go to the first page of the trail" }
                        }
                    },
                )
                .for_viewer(viewer))
            }
            Err(_) => {
                return Err(PageError::new(
                    StatusCode::BAD_REQUEST,
                    "Page not found",
                    html! {
                        p class="govuk-body" { "The page of the trail must be a whole number, such as 2." }
                        p class="govuk-body" {
                            a class="govuk-link" href={ "/projects/" (project_id) "/trail" } { "Go to the first page of the trail" }
                        }
                    },
                )
                .for_viewer(viewer))
            }
        },
    };
    let full = TRAIL_READERS.contains(&viewer.principal.role);
    // Only trail readers see what entries say (personal data as they may see it) and the check.
    let (all, check) = if full {
        let all = readable_trail(state, head.project_id, &entries)
            .await
            .map_err(fail)?;
        let check = check_trail(state, head.project_id, &entries)
            .await
            .map_err(fail)?;
        (all, Some(check))
    } else {
        (trail(&entries), None)
    };
    let title = all
        .first()
        .and_then(|e| e.data.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("Project")
        .to_string();
    let first = (page_number - 1) * PAGE_SIZE;
    let shown: Vec<&TrailEntry> = all
        .iter()
        .skip(first as usize)
        .take(PAGE_SIZE as usize)
        .collect();
    let body = html! {
        span class="govuk-caption-l" { (title) }
        h1 class="govuk-heading-l" { "Audit trail" }
        p class="govuk-body" {
            "Every fact recorded about this project, oldest first. Nothing is ever changed or deleted: "
            "a mistake is put right by a later correction, which withdraws the entry it corrects from the assessment. "
            "Each entry's digest covers it and every entry before it, so a changed, missing or re-ordered entry is detected."
        }
        p class="govuk-body" {
            a class="govuk-link" href={ "/projects/" (project_id) } { "Back to the project's assessment" }
        }
        @match &check {
            Some((chain, seals)) => {
                @let seals_valid = !seals.iter().any(|s| s.contradicted());
                @if chain.first_divergence.is_none() && seals_valid {
                    div class="govuk-notification-banner govuk-notification-banner--success" role="region" aria-labelledby="verify-title" id="verify" {
                        div class="govuk-notification-banner__header" {
                            h2 class="govuk-notification-banner__title" id="verify-title" { "Check of the trail" }
                        }
                        div class="govuk-notification-banner__content" {
                            p class="govuk-notification-banner__heading" {
                                span aria-hidden="true" { "✓ " }
                                "Verified: all " (entries.len()) " entries match their digests."
                            }
                            p class="govuk-body" {
                                "The digests were worked out again from the entries just now. "
                                @if seals.is_empty() {
                                    "No assessment of this project has been sealed."
                                } @else {
                                    "Every sealed assessment (" (seals.len()) ") still gives exactly the same result"
                                    @if seals.iter().any(|s| s.outcome == SealOutcome::CannotReplay) { ", or cannot be replayed in full because a participant's personal data was erased since" }
                                    "."
                                }
                            }
                            @for seal in seals.iter().filter(|s| s.outcome == SealOutcome::CannotReplay) {
                                p class="govuk-body" { "Sealed assessment in entry " (seal.sequence) ": " (seal.explanation) }
                            }
                            p class="govuk-body" {
                                "Digest of the whole trail: " code class="app-digest" { (chain.head) }
                            }
                        }
                    }
                } @else {
                    div class="govuk-notification-banner" role="region" aria-labelledby="verify-title" id="verify" {
                        div class="govuk-notification-banner__header" {
                            h2 class="govuk-notification-banner__title" id="verify-title" { "Check of the trail" }
                        }
                        div class="govuk-notification-banner__content" {
                            div class="govuk-warning-text" {
                                span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                                strong class="govuk-warning-text__text" {
                                    span class="govuk-visually-hidden" { "Warning" }
                                    "Not verified: the trail does not match its digests."
                                }
                            }
                            @if let Some(divergence) = chain.first_divergence {
                                p class="govuk-body" {
                                    "The first entry that no longer matches is "
                                    a class="govuk-link" href=(entry_href(&project_id, divergence)) { "entry " (divergence) } ". "
                                    "It, or an entry before it, was changed, removed or re-ordered after it was recorded."
                                }
                            }
                            @for seal in seals.iter().filter(|s| s.contradicted()) {
                                p class="govuk-body" {
                                    "The assessment sealed in entry " (seal.sequence) " no longer gives the same result."
                                }
                            }
                            p class="govuk-body" { "Tell your Coprod administrator, and keep the receipts you were given." }
                        }
                    }
                }
            }
            None => {
                div class="govuk-inset-text" {
                    "As a member of a scrutiny panel you see what kind each entry is, when it happened, who recorded it and when, "
                    "its digest, and which entries were withdrawn; what each entry says, and the check of the digests, are shown "
                    "to assurance officers. The assessment shows, in plain words, what the entries mean for each judgement."
                }
            }
        }
        p class="govuk-body" {
            "Entries " (first + 1) " to " (first + shown.len() as u64) " of " (entries.len()) "."
        }
        @for entry in &shown {
            (entry_markup(&project_id, entry, full))
        }
        (pagination(&project_id, page_number, pages))
    };
    let page_title = if pages > 1 {
        format!("Audit trail (page {page_number} of {pages}): {title}")
    } else {
        format!("Audit trail: {title}")
    };
    Ok(html_response(
        StatusCode::OK,
        layout_page(&page_title, Some(viewer), body),
    ))
}

fn entry_markup(project_id: &str, entry: &TrailEntry, full: bool) -> Markup {
    let corrects = entry
        .data
        .get("corrects_sequence")
        .and_then(Value::as_u64)
        .filter(|_| entry.event_type == "correction_recorded");
    html! {
        article class={ "app-entry" @if entry.withdrawn_by.is_some() { " app-entry--withdrawn" } }
            id={ "entry-" (entry.sequence) } aria-labelledby={ "entry-" (entry.sequence) "-title" } {
            h2 class="govuk-heading-s app-entry__title" id={ "entry-" (entry.sequence) "-title" } {
                "Entry " (entry.sequence) ": " (words::entry_type(&entry.event_type))
            }
            @if let Some(by) = entry.withdrawn_by {
                p class="govuk-body-s app-entry__mark" {
                    strong class="govuk-tag govuk-tag--grey" { "Withdrawn" }
                    " Withdrawn by the correction in "
                    a class="govuk-link" href=(entry_href(project_id, by)) { "entry " (by) }
                    ". It no longer counts in assessments made after that correction was recorded."
                }
            }
            @if let Some(target) = corrects {
                p class="govuk-body-s app-entry__mark" {
                    strong class="govuk-tag govuk-tag--orange" { "Correction" }
                    " Withdraws "
                    a class="govuk-link" href=(entry_href(project_id, target)) { "entry " (target) }
                    "."
                }
            }
            dl class="govuk-summary-list govuk-summary-list--no-border app-entry__facts" {
                @if let Some(day) = &entry.occurred_on {
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Happened on" }
                        dd class="govuk-summary-list__value" { (words::date_text(day)) }
                    }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Recorded" }
                    dd class="govuk-summary-list__value" { (words::instant(&entry.recorded_at)) " by " (entry.recorded_by) }
                }
                @if full {
                    @if let Value::Object(fields) = &entry.data {
                        @for (key, value) in fields.iter().filter(|(k, _)| !matches!(k.as_str(), "occurred_on" | "corrects_sequence")) {
                            // A personal field is stored encrypted: show what the reader may see.
                            @let personal = entry.personal_data.as_ref().and_then(|p| p.get(key));
                            div class="govuk-summary-list__row" {
                                dt class="govuk-summary-list__key" { (words::field(key)) }
                                dd class="govuk-summary-list__value" {
                                    @match personal {
                                        Some(Value::String(s)) if s == ERASED => { strong class="govuk-tag govuk-tag--grey" { "Erased" } " The participant's personal data was erased." }
                                        Some(shown) => (value_markup(shown)),
                                        None => (value_markup(value)),
                                    }
                                }
                            }
                        }
                    }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Digest" }
                    dd class="govuk-summary-list__value" { code class="app-digest" { (entry.digest) } }
                }
            }
        }
    }
}

fn value_markup(value: &Value) -> Markup {
    html! {
        @match value {
            Value::String(text) => (text),
            Value::Number(number) => (number),
            Value::Bool(true) => "yes",
            Value::Bool(false) => "no",
            Value::Null => "none",
            Value::Array(items) if items.is_empty() => "none",
            Value::Array(items) if items.iter().all(|i| i.is_string() || i.is_number()) => {
                (items.iter().map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join(", "))
            }
            Value::Object(fields) => {
                dl class="app-nested" {
                    @for (key, inner) in fields {
                        dt { (words::field(key)) }
                        dd { (value_markup(inner)) }
                    }
                }
            }
            other => code { (other.to_string()) },
        }
    }
}

fn pagination(project_id: &str, current: u64, pages: u64) -> Markup {
    let href = |n: u64| format!("/projects/{project_id}/trail?page={n}");
    html! {
        @if pages > 1 {
            nav class="govuk-pagination" aria-label="Pages of the trail" {
                @if current > 1 {
                    div class="govuk-pagination__prev" {
                        a class="govuk-link govuk-pagination__link" href=(href(current - 1)) rel="prev" {
                            span class="govuk-pagination__link-title" { "Previous" span class="govuk-visually-hidden" { " page" } }
                        }
                    }
                }
                ul class="govuk-pagination__list" {
                    @for n in 1..=pages {
                        @if n == current {
                            li class="govuk-pagination__item govuk-pagination__item--current" {
                                a class="govuk-link govuk-pagination__link" href=(href(n)) aria-label={ "Page " (n) } aria-current="page" { (n) }
                            }
                        } @else if n == 1 || n == pages || n.abs_diff(current) <= 2 {
                            li class="govuk-pagination__item" {
                                a class="govuk-link govuk-pagination__link" href=(href(n)) aria-label={ "Page " (n) } { (n) }
                            }
                        } @else if n.abs_diff(current) == 3 {
                            li class="govuk-pagination__item govuk-pagination__item--ellipses" { "⋯" }
                        }
                    }
                }
                @if current < pages {
                    div class="govuk-pagination__next" {
                        a class="govuk-link govuk-pagination__link" href=(href(current + 1)) rel="next" {
                            span class="govuk-pagination__link-title" { "Next" span class="govuk-visually-hidden" { " page" } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_link_to_their_page() {
        assert_eq!(entry_href("p", 1), "/projects/p/trail?page=1#entry-1");
        assert_eq!(entry_href("p", 50), "/projects/p/trail?page=1#entry-50");
        assert_eq!(entry_href("p", 51), "/projects/p/trail?page=2#entry-51");
    }
}
