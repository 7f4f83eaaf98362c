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
use chrono::NaiveDate;
use coprod_domain::assessment::Disclosure;
use coprod_domain::personal::ERASED;
use coprod_domain::recorded::parse_instant;
use coprod_domain::rubric;
use coprod_domain::seal::SealOutcome;
use maud::{html, Markup};
use serde_json::Value;
use std::collections::BTreeMap;

use super::layout::{html_response, page as layout_page, PageError};
use super::project::{indicator_title, query_map, When};
use super::session::SignedIn;
use super::words;
use crate::app::assess::{assess_at, recorded};
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
                            "This audit trail has " (words::count(pages as usize, "page", "pages"))
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
    // Panel readers do not see what an entry says, so each entry says what it is evidence of
    // in today's assessment (the rubric's own sentences).
    let evidence_of = if full {
        BTreeMap::new()
    } else {
        evidence_of(state, head.project_id, viewer.caller().disclosure())
            .await
            .map_err(fail)?
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
                                @if entries.len() == 1 {
                                    "Verified: its one entry matches its digest."
                                } @else {
                                    "Verified: all " (entries.len()) " entries match their digests."
                                }
                            }
                            p class="govuk-body" {
                                "The digests were worked out again from the entries just now. "
                                @if seals.is_empty() {
                                    "No assessment of this project has been sealed."
                                } @else {
                                    @if seals.len() == 1 { "The sealed assessment still gives" } @else { "Every sealed assessment (" (seals.len()) ") still gives" } " exactly the same result"
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
            (entry_markup(&project_id, entry, full, evidence_of.get(&entry.sequence).map(Vec::as_slice).unwrap_or_default()))
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

/// For each entry, the indicators of today's assessment it is evidence of ("Criterion: the
/// indicator's sentence").
async fn evidence_of(
    state: &AppState,
    project_id: uuid::Uuid,
    disclosure: Disclosure,
) -> Result<BTreeMap<u64, Vec<String>>, AppError> {
    let mut answers = assess_at(
        state,
        project_id,
        &[When::Now.cutoff()],
        rubric::latest(),
        disclosure,
    )
    .await?;
    let mut map: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let Some(answer) = answers.pop() else {
        return Ok(map);
    };
    if let Some(at) = recorded(answer)? {
        for criterion in &at.assessment.criteria {
            for indicator in &criterion.indicators {
                for sequence in &indicator.evidence {
                    map.entry(*sequence).or_default().push(format!(
                        "{}: {}",
                        criterion.title,
                        indicator_title(&criterion.key, &indicator.key)
                    ));
                }
            }
        }
    }
    Ok(map)
}

/// One entry: a line saying what and when, and the rest in a `details` element (no script).
fn entry_markup(
    project_id: &str,
    entry: &TrailEntry,
    full: bool,
    evidence_of: &[String],
) -> Markup {
    let corrects = entry
        .data
        .get("corrects_sequence")
        .and_then(Value::as_u64)
        .filter(|_| entry.event_type == "correction_recorded");
    let day = entry
        .occurred_on
        .as_deref()
        .map(words::date_text)
        .or_else(|| parse_instant(&entry.recorded_at).map(|i| words::date(i.date_naive())));
    html! {
        article class={ "app-entry" @if entry.withdrawn_by.is_some() { " app-entry--withdrawn" } }
            id={ "entry-" (entry.sequence) } aria-labelledby={ "entry-" (entry.sequence) "-title" } {
            h2 class="govuk-heading-s app-entry__title" id={ "entry-" (entry.sequence) "-title" } {
                "Entry " (entry.sequence) ": " (words::entry_type(&entry.event_type))
                @if let Some(day) = &day { span class="app-entry__day" { ", " (day) } }
                @if entry.withdrawn_by.is_some() { " " strong class="govuk-tag govuk-tag--grey app-entry__tag" { "Withdrawn" } }
                @if corrects.is_some() { " " strong class="govuk-tag govuk-tag--orange app-entry__tag" { "Correction" } }
            }
            @if !evidence_of.is_empty() {
                p class="govuk-body-s app-entry__evidence" {
                    "Evidence for " (evidence_of.join("; ")) "."
                }
            }
            details class="govuk-details app-entry__details" {
                summary class="govuk-details__summary" {
                    span class="govuk-details__summary-text" { "Details" span class="govuk-visually-hidden" { " of entry " (entry.sequence) } }
                }
                div class="govuk-details__text" {
                    @if let Some(by) = entry.withdrawn_by {
                        p class="govuk-body-s app-entry__mark" {
                            "Withdrawn by the correction in "
                            a class="govuk-link" href=(entry_href(project_id, by)) { "entry " (by) }
                            ". It no longer counts in assessments made after that correction was recorded."
                        }
                    }
                    @if let Some(target) = corrects {
                        p class="govuk-body-s app-entry__mark" {
                            "Withdraws "
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
                                        dt class="govuk-summary-list__key" { (field_name(key)) }
                                        dd class="govuk-summary-list__value" {
                                            @match personal {
                                                Some(Value::String(s)) if s == ERASED => { strong class="govuk-tag govuk-tag--grey" { "Erased" } " The participant's personal data was erased." }
                                                Some(shown) => (value_markup(key, shown)),
                                                None => (value_markup(key, value)),
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
    }
}

/// A stored field's name in words; an amount in pence is shown as money, so named plainly.
fn field_name(key: &str) -> String {
    words::field(key.strip_suffix("_pence").unwrap_or(key))
}

/// The fields whose values are stored keys (`lived_experience`, `payment`), not words someone
/// wrote (the events' enumerations).
const KEYED_FIELDS: &[&str] = &[
    "kind",
    "stage",
    "status",
    "method",
    "declared_level",
    "reason_code",
    "mode",
    "declined",
    "support",
    "role",
    "response",
    "importance",
    "effect",
    "level",
    "rung",
    "state",
    "rating",
];

/// Is this text a stored key rather than words someone wrote?
fn is_stored_key(key: &str, text: &str) -> bool {
    let shaped = !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    shaped && (KEYED_FIELDS.contains(&key) || text.contains('_'))
}

/// A stored value in words: money as money, dates and instants in the one date style, stored
/// keys as words; identifiers (`…_id`) as they are, since they are what people search for.
fn value_markup(key: &str, value: &Value) -> Markup {
    let identifier = key.ends_with("_id") || key.ends_with("_ids") || key == "id";
    html! {
        @match value {
            Value::Number(number) if key.ends_with("_pence") => {
                @match number.as_i64() { Some(pence) => (words::money(pence)), None => (number) }
            }
            Value::String(text) if identifier => (text),
            Value::String(text) if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() => (words::date_text(text)),
            Value::String(text) if parse_instant(text).is_some() => (words::instant(text)),
            Value::String(text) if is_stored_key(key, text) => (words::stored_key(key, text)),
            Value::String(text) => (text),
            Value::Number(number) => (number),
            Value::Bool(true) => "Yes",
            Value::Bool(false) => "No",
            Value::Null => "None",
            Value::Array(items) if items.is_empty() => "None",
            Value::Array(items) if items.iter().all(|i| i.is_string() || i.is_number()) => {
                @for (i, item) in items.iter().enumerate() {
                    @if i > 0 { ", " }
                    (value_markup(key, item))
                }
            }
            Value::Object(fields) => {
                dl class="app-nested" {
                    @for (inner_key, inner) in fields {
                        dt { (field_name(inner_key)) }
                        dd { (value_markup(inner_key, inner)) }
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

    #[test]
    fn stored_values_are_shown_in_words() {
        let shown = |key: &str, value: Value| value_markup(key, &value).into_string();
        assert_eq!(shown("amount_pence", Value::from(3000)), "£30.00");
        assert_eq!(field_name("amount_pence"), "Amount");
        assert_eq!(
            shown("kind", Value::from("lived_experience")),
            "People with lived experience"
        );
        assert_eq!(shown("kind", Value::from("payment")), "Payment");
        assert_eq!(shown("groups", Value::from("carers")), "carers");
        assert_eq!(
            shown("started_on", Value::from("2025-01-06")),
            "6 January 2025"
        );
        assert_eq!(shown("participant_id", Value::from("le_1")), "le_1");
        assert_eq!(shown("paid", Value::from(true)), "Yes");
    }
}
