//! `GET /projects/{id}/recorded/{sequence}`: the receipt of an entry just recorded (its number
//! and digest, which anyone can later check against the trail) and what it changed in the
//! project's assessment: the assessment just before the entry beside the one just after it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use coprod_domain::assessment::{Assessment, Cutoff};
use coprod_domain::rubric;
use cqrs_es::DomainEvent;
use maud::{html, Markup};

use crate::app::assess::{assess_at, recorded};
use crate::app::AppState;
use crate::web::compare::{change_words, indicator_change, state_of};
use crate::web::layout::{html_response, page, PageError};
use crate::web::project::{indicator_title, load};
use crate::web::session::SignedIn;
use crate::web::words;

pub async fn receipt(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path((id, sequence)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let project = load(&state, &viewer, &id).await?;
    let entry = sequence
        .parse::<u64>()
        .ok()
        .and_then(|n| project.events.iter().find(|e| e.sequence == n))
        .ok_or_else(|| {
            PageError::new(
                StatusCode::NOT_FOUND,
                "Page not found",
                html! { p class="govuk-body" { "This project has no entry " (sequence) "." } },
            )
            .for_viewer(&viewer)
        })?;
    let sequence = entry.sequence;
    let cutoffs = [
        Cutoff::AtSequence(sequence.saturating_sub(1)),
        Cutoff::AtSequence(sequence),
    ];
    let fail = |e| PageError::from_app(e, &viewer);
    let mut answers = assess_at(
        &state,
        project.head.project_id,
        &cutoffs,
        rubric::latest(),
        viewer.caller().disclosure(),
    )
    .await
    .map_err(fail)?
    .into_iter()
    .map(|answer| recorded(answer).map(|at| at.map(|at| at.assessment)));
    let before = answers.next().transpose().map_err(fail)?.flatten();
    let after = answers.next().transpose().map_err(fail)?.flatten();
    let project_id = project.id();
    let title = project.title();
    let digest = entry.digest.to_string();
    let body = html! {
        div class="govuk-panel govuk-panel--confirmation" {
            h1 class="govuk-panel__title" { "Recorded as entry " (sequence) }
            div class="govuk-panel__body" { (words::entry_type(&entry.event.event_type())) " in " (title) }
        }
        h2 class="govuk-heading-m" { "Receipt" }
        dl class="govuk-summary-list" {
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "Entry number" }
                dd class="govuk-summary-list__value" { (sequence) }
            }
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "When it happened" }
                dd class="govuk-summary-list__value" { (words::date(entry.event.occurred_on())) }
            }
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "Recorded" }
                dd class="govuk-summary-list__value" { (words::instant_words(entry.recorded_at)) " by " (entry.recorded_by) }
            }
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "Digest" }
                dd class="govuk-summary-list__value" { code class="app-digest" { (digest) } }
            }
        }
        p class="govuk-body" {
            "The digest seals this entry and every entry before it: anyone holding it can check later that none of them has changed."
        }
        h2 class="govuk-heading-m" { "What this changed in the assessment" }
        (changes(&project_id, before.as_ref(), after.as_ref()))
        ul class="govuk-list" {
            li { a class="govuk-link" href={ "/projects/" (project_id) "/record" } { "Record something else" } }
            li { a class="govuk-link" href={ "/projects/" (project_id) } { "See the project's assessment" } }
            li { a class="govuk-link" href=(crate::web::trail::entry_href(&project_id, sequence)) { "See this entry in the audit trail" } }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page(
            &format!("Recorded as entry {sequence}: {title}"),
            Some(&viewer),
            body,
        ),
    ))
}

/// The criteria and indicators whose judgement the entry changed, in words.
fn changes(project_id: &str, before: Option<&Assessment>, after: Option<&Assessment>) -> Markup {
    let Some(after) = after else {
        return html! { p class="govuk-body" { "There is nothing to assess yet." } };
    };
    let mut lines: Vec<Markup> = Vec::new();
    let rung = |a: Option<&Assessment>| {
        a.and_then(|a| a.overall.ladder.as_ref()).map(|ladder| {
            ladder
                .rung
                .map_or("not on the ladder yet".into(), words::rung)
        })
    };
    if let (Some(was), Some(now)) = (rung(before), rung(Some(after))) {
        if was != now {
            lines.push(
                html! { "On the ladder of participation: " strong { (now) } " (was " (was) ")." },
            );
        }
    }
    for criterion in &after.criteria {
        let earlier = before.and_then(|b| b.criteria.iter().find(|c| c.key == criterion.key));
        let change = change_words(earlier, Some(criterion));
        if change != "No change" {
            lines.push(html! {
                (criterion.title) ": " strong { (change.to_lowercase()) } ", now "
                (words::rating(criterion.rating).to_lowercase()) " (" (criterion.score) " out of 100)."
            });
        }
        for indicator in &criterion.indicators {
            let was = earlier
                .and_then(|c| c.indicators.iter().find(|i| i.key == indicator.key))
                .map(state_of);
            if was != Some(state_of(indicator)) {
                lines.push(html! {
                    (indicator_title(&criterion.key, &indicator.key)) ": "
                    (indicator_change(was, state_of(indicator))) "."
                });
            }
        }
    }
    html! {
        @if before.is_none() {
            p class="govuk-body" { "This is the project's first entry: its assessment starts here. " (after.overall.summary) }
        } @else if lines.is_empty() {
            div class="govuk-inset-text" { "The assessment is the same as before this entry: it adds to the record without changing any judgement." }
        } @else {
            ul class="govuk-list govuk-list--bullet" {
                @for line in lines { li { (line) } }
            }
        }
        p class="govuk-body" {
            a class="govuk-link" href={ "/projects/" (project_id) } { "The whole assessment" } " shows the evidence behind each judgement."
        }
    }
}
