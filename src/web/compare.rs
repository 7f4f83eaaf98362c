//! `GET /projects/{id}/compare?from=YYYY-MM-DD&to=YYYY-MM-DD`: what changed in a project's
//! assessment between the end of one day and the end of another.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use coprod_domain::assessment::{
    Assessment, CriterionResult, EvidenceState, IndicatorResult, Rating,
};
use maud::{html, Markup};

use super::layout::{date_field, error_summary, html_response, page as layout_page, PageError};
use super::project::{
    assessments_at, evidence_links, indicator_title, load, parse_when, query_map, When,
};
use super::session::SignedIn;
use super::words;
use crate::app::AppState;

fn rank(rating: Rating) -> u8 {
    match rating {
        // Nothing to judge is no better than not met.
        Rating::NotMet | Rating::InsufficientEvidence => 0,
        Rating::PartlyMet => 1,
        Rating::Met => 2,
    }
}

fn rating_cell(criterion: Option<&CriterionResult>) -> Markup {
    html! {
        @match criterion {
            Some(c) => { (words::rating_tag(c.rating)) " " (c.score) }
            None => "Not assessed yet",
        }
    }
}

/// What the evidence says of an indicator: its state from version 2 on, met or not met before.
pub(super) fn state_of(indicator: &IndicatorResult) -> EvidenceState {
    match indicator.state {
        Some(state) => state,
        None if indicator.met => EvidenceState::Met,
        None => EvidenceState::NotMet,
    }
}

/// How an indicator changed, in words: "now met", "no longer met: not recorded", "not recorded
/// before, not met now", "still not met".
pub(super) fn indicator_change(before: Option<EvidenceState>, after: EvidenceState) -> String {
    let word = |state: EvidenceState| words::evidence_state(state).to_lowercase();
    let met = EvidenceState::Met;
    match before {
        Some(was) if was == after => format!("still {}", word(after)),
        Some(was) if was == met => format!("no longer met: {}", word(after)),
        _ if after == met => "now met".into(),
        Some(was) => format!("{} before, {} now", word(was), word(after)),
        None => format!("not assessed yet before, {} now", word(after)),
    }
}

/// The rung of the ladder an assessment places the project on, in words (version 2 on).
fn rung_words(assessment: Option<&Assessment>) -> Option<String> {
    let ladder = assessment?.overall.ladder.as_ref()?;
    Some(match ladder.rung {
        Some(rung) => words::rung(rung),
        None => "Not on the ladder yet".into(),
    })
}

pub(super) fn change_words(
    before: Option<&CriterionResult>,
    after: Option<&CriterionResult>,
) -> &'static str {
    match (before, after) {
        (Some(b), Some(a)) if rank(a.rating) > rank(b.rating) => "Better",
        (Some(b), Some(a)) if rank(a.rating) < rank(b.rating) => "Worse",
        (Some(b), Some(a)) if a.score > b.score => "Better",
        (Some(b), Some(a)) if a.score < b.score => "Worse",
        (Some(_), Some(_)) => "No change",
        (None, Some(_)) => "First assessed",
        _ => "No change",
    }
}

pub async fn page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer, id) = (&state, &viewer, id.as_str());
    let project = load(state, viewer, id).await?;
    let project_id = project.id();
    let query = query_map(query);
    let today = state.today();
    let field = |name: &str| query.get(name).map(|v| v.trim().to_string());
    let (from_text, to_text) = (field("from"), field("to"));
    let mut errors: Vec<(&str, String)> = Vec::new();
    let mut read = |name: &'static str, text: &Option<String>, label: &str| match text.as_deref() {
        None | Some("") => {
            errors.push((name, format!("Enter the {label} date")));
            None
        }
        Some(text) => match parse_when(Some(text), today) {
            Ok(when) => Some(when),
            Err(message) => {
                errors.push((name, format!("{message} ({label} date)")));
                None
            }
        },
    };
    let from = read("from", &from_text, "first");
    let to = read("to", &to_text, "second");
    if let (Some(from), Some(to)) = (from, to) {
        let order = |w: When| match w {
            When::EndOf(day) | When::HappenedBy(day) => day,
            When::Now => today,
        };
        if order(from) > order(to) {
            errors.push((
                "from",
                "The first date must be the same as or before the second date".into(),
            ));
        }
    }
    let title = project.title();
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, m)| m.clone())
    };
    let form = html! {
        form method="get" action={ "/projects/" (project_id) "/compare" } class="app-no-print" {
            (date_field("from", "from", "First date", from_text.as_deref().filter(|t| !t.is_empty()), error_of("from").as_deref()))
            (date_field("to", "to", "Second date", to_text.as_deref().filter(|t| !t.is_empty()), error_of("to").as_deref()))
            button type="submit" class="govuk-button govuk-button--secondary" { "Compare" }
        }
    };
    let back = html! {
        p class="govuk-body" { a class="govuk-link" href={ "/projects/" (project_id) } { "Back to the project" } }
    };
    if !errors.is_empty() {
        let body = html! {
            (error_summary(&errors))
            span class="govuk-caption-l" { (title) }
            h1 class="govuk-heading-l" { "Compare two dates" }
            (form)
            (back)
        };
        return Ok(html_response(
            StatusCode::BAD_REQUEST,
            layout_page(
                &format!("Error: Compare two dates: {title}"),
                Some(viewer),
                body,
            ),
        ));
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(PageError::project_not_found().for_viewer(viewer));
    };
    let mut answers = assessments_at(state, &project, &[from, to], viewer)
        .await?
        .into_iter();
    let (before, after) = (answers.next().flatten(), answers.next().flatten());
    let heading = format!("What changed between {} and {}", from.words(), to.words());
    let criteria_of = |a: &Option<Assessment>, key: &str| -> Option<CriterionResult> {
        a.as_ref()
            .and_then(|a| a.criteria.iter().find(|c| c.key == key).cloned())
    };
    let keys: Vec<(String, String)> = after
        .as_ref()
        .or(before.as_ref())
        .map(|a| {
            a.criteria
                .iter()
                .map(|c| (c.key.clone(), c.title.clone()))
                .collect()
        })
        .unwrap_or_default();
    let entries = |a: &Option<Assessment>, when: When| -> Markup {
        html! {
            @match a {
                Some(a) => { "By the end of " (when.words()) ", entries 1 to " (a.at_sequence) " had been recorded." }
                None => { "By the end of " (when.words()) ", nothing had been recorded for this project." }
            }
        }
    };
    let link = |when: When| match when.query() {
        Some(day) => format!("/projects/{project_id}?as_of={day}"),
        None => format!("/projects/{project_id}"),
    };
    let mut any_change = false;
    let mut details = Vec::new();
    for (key, criterion_title) in &keys {
        let b = criteria_of(&before, key);
        let a = criteria_of(&after, key);
        let mut lines = Vec::new();
        if let Some(a) = &a {
            for indicator in &a.indicators {
                let earlier = b
                    .as_ref()
                    .and_then(|b| b.indicators.iter().find(|i| i.key == indicator.key));
                let was = earlier.map(state_of);
                if was != Some(state_of(indicator))
                    || earlier.map(|i| &i.value) != Some(&indicator.value)
                {
                    lines.push((indicator.clone(), was, earlier.map(|i| i.value.clone())));
                }
            }
        }
        if !lines.is_empty() || change_words(b.as_ref(), a.as_ref()) != "No change" {
            any_change = true;
        }
        details.push((key.clone(), criterion_title.clone(), b, a, lines));
    }
    let body = html! {
        span class="govuk-caption-l" { (title) }
        h1 class="govuk-heading-l" { (heading) }
        p class="govuk-body" { (entries(&before, from)) " " (entries(&after, to)) }
        p class="govuk-body" {
            "Each date counts only what had been recorded by the end of that day (UTC). "
            "See the whole assessment "
            a class="govuk-link" href=(link(from)) { "on " (from.words()) }
            " or "
            a class="govuk-link" href=(link(to)) { "on " (to.words()) } "."
        }
        @if !any_change {
            div class="govuk-inset-text" { "Nothing in the assessment changed between these dates." }
        }
        @if let Some(now) = rung_words(after.as_ref()) {
            p class="govuk-body" id="ladder-change" {
                "On the ladder of participation: "
                @match rung_words(before.as_ref()) {
                    Some(then) if then == now => { strong { (now) } " on both dates." }
                    Some(then) => { strong { (then) } " on " (from.words()) ", " strong { (now) } " on " (to.words()) "." }
                    None => { strong { (now) } " on " (to.words()) "." }
                }
            }
        }
        @for flag in after.iter().flat_map(|a| a.overall.flags.iter().flatten()) {
            div class="govuk-warning-text app-flag" {
                span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                strong class="govuk-warning-text__text" {
                    span class="govuk-visually-hidden" { "Warning" }
                    "On " (to.words()) ": " (flag.message)
                }
            }
        }
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table comparing the two dates" {
            table class="govuk-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "The six criteria: rating and score (out of 100)" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Criterion" }
                        th scope="col" class="govuk-table__header" { (from.words()) }
                        th scope="col" class="govuk-table__header" { (to.words()) }
                        th scope="col" class="govuk-table__header" { "Change" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (i, (key, criterion_title, b, a, _)) in details.iter().enumerate() {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" {
                                a class="govuk-link" href={ "#" (key) } { (i + 1) ". " (criterion_title) }
                            }
                            td class="govuk-table__cell" { (rating_cell(b.as_ref())) }
                            td class="govuk-table__cell" { (rating_cell(a.as_ref())) }
                            td class="govuk-table__cell" { strong { (change_words(b.as_ref(), a.as_ref())) } }
                        }
                    }
                }
            }
        }
        @for (i, (key, criterion_title, _, _, lines)) in details.iter().enumerate() {
            section id=(key) aria-labelledby={ (key) "-title" } {
                h2 class="govuk-heading-m" id={ (key) "-title" } { (i + 1) ". " (criterion_title) }
                @if lines.is_empty() {
                    p class="govuk-body" { "No indicator changed." }
                } @else {
                    ul class="govuk-list app-changes" {
                        @for (indicator, was, was_value) in lines {
                            li {
                                h3 class="govuk-heading-s" {
                                    (indicator_title(key, &indicator.key)) ": "
                                    (indicator_change(*was, state_of(indicator)))
                                }
                                p class="govuk-body" {
                                    @if let Some(was) = was_value {
                                        "Was: " (was) ". "
                                    }
                                    "Now: " strong { (indicator.value) } "."
                                }
                                p class="govuk-body" { (indicator.explanation) }
                                @if let Some(missing) = &indicator.missing_evidence {
                                    p class="govuk-body app-missing" { strong { "What to record or do: " } (missing) }
                                }
                                p class="govuk-body-s" { "Facts behind this on " (to.words()) ": " (evidence_links(&project_id, &indicator.evidence)) }
                            }
                        }
                    }
                }
            }
        }
        h2 class="govuk-heading-m" { "Compare other dates" }
        (form)
        (back)
    };
    Ok(html_response(
        StatusCode::OK,
        layout_page(&format!("{heading}: {title}"), Some(viewer), body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use EvidenceState::*;

    #[test]
    fn each_change_of_an_indicators_state_is_said_in_words() {
        assert_eq!(indicator_change(Some(NotRecorded), Met), "now met");
        assert_eq!(indicator_change(None, Met), "now met");
        assert_eq!(
            indicator_change(Some(Met), NotMet),
            "no longer met: not met"
        );
        assert_eq!(
            indicator_change(Some(NotRecorded), NotMet),
            "not recorded before, not met now"
        );
        assert_eq!(
            indicator_change(Some(NotApplicable), NotApplicable),
            "still does not apply yet"
        );
        assert_eq!(indicator_change(Some(NotMet), NotMet), "still not met");
        assert_eq!(
            indicator_change(None, NotMet),
            "not assessed yet before, not met now"
        );
    }
}
