//! `GET /projects/{id}`: a project's summary and its six-point assessment, now or as it stood on
//! a past date, each judgement linked to the entries of the trail behind it; and what the project
//! pages share: reading the project, dates in forms, the assessment at a date.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use coprod_domain::assessment::{AssessError, Assessment, CriterionResult, Cutoff, Rating};
use coprod_domain::recorded::format_instant;
use coprod_domain::rubric::{self, CriterionDefinition};
use coprod_domain::{ProjectEvent, ProjectRegistered, RecordedEvent};
use maud::{html, Markup};

use super::layout::{date_field, error_summary, html_response, page as layout_page, PageError};
use super::session::{SignedIn, Viewer};
use super::trail::entry_href;
use super::words;
use crate::app::assess::{assess_at, recorded};
use crate::app::caller::WRITERS;
use crate::app::moment::end_of_day;
use crate::app::projects::organisation_names;
use crate::app::{visible_project, AppError, AppState};
use crate::store::views::summarise;
use crate::store::ProjectHead;

/// A project the viewer may see, with every entry.
pub struct ProjectPage {
    pub head: ProjectHead,
    pub events: Vec<RecordedEvent>,
}

impl ProjectPage {
    pub fn id(&self) -> String {
        self.head.project_id.to_string()
    }

    pub fn registration(&self) -> Option<&ProjectRegistered> {
        self.events.iter().find_map(|e| match &e.event {
            ProjectEvent::ProjectRegistered(r) => Some(r),
            _ => None,
        })
    }

    pub fn title(&self) -> String {
        self.registration()
            .map(|r| r.title.clone())
            .unwrap_or_else(|| "Project".into())
    }
}

/// Reads the project named in the path, as the API would for this viewer: another
/// organisation's project, or a malformed id, is "not found".
pub async fn load(state: &AppState, viewer: &Viewer, id: &str) -> Result<ProjectPage, PageError> {
    let fail = |e: AppError| PageError::from_app(e, viewer);
    let head = visible_project(state, &viewer.caller(), id)
        .await
        .map_err(fail)?;
    let events = state
        .store
        .recorded_events(head.project_id)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(ProjectPage { head, events })
}

/// The query string as name → value (the last of repeated names); unreadable ones are empty.
pub fn query_map(query: Option<String>) -> HashMap<String, String> {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

/// Which entries an assessment on the pages is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Everything recorded so far (also what a date of today means).
    Now,
    /// As recorded by the end of this day (UTC).
    EndOf(NaiveDate),
    /// What had happened by the end of this day, by the dates the facts give, as recorded now:
    /// history entered late counts on the day it happened.
    HappenedBy(NaiveDate),
}

impl When {
    pub fn cutoff(self) -> Cutoff {
        match self {
            When::Now => Cutoff::Latest,
            When::EndOf(day) => Cutoff::AsOf(end_of_day(day)),
            When::HappenedBy(by) => Cutoff::HappenedBy { by, known_at: None },
        }
    }

    /// The day asked about, as a query gives it, if any.
    pub fn query(self) -> Option<String> {
        match self {
            When::Now => None,
            When::EndOf(day) | When::HappenedBy(day) => Some(day.format("%Y-%m-%d").to_string()),
        }
    }

    /// The `as_of` this asks for, if any.
    pub fn as_of(self) -> Option<String> {
        matches!(self, When::EndOf(_))
            .then(|| self.query())
            .flatten()
    }

    /// The `happened_by` this asks for, if any.
    pub fn happened_by(self) -> Option<String> {
        matches!(self, When::HappenedBy(_))
            .then(|| self.query())
            .flatten()
    }

    /// `as_of=…` or `happened_by=…` for links, if any.
    pub fn link_query(self) -> Option<String> {
        match self {
            When::Now => None,
            When::EndOf(_) => self.query().map(|day| format!("as_of={day}")),
            When::HappenedBy(_) => self.query().map(|day| format!("happened_by={day}")),
        }
    }

    pub fn words(self) -> String {
        match self {
            When::Now => "now".into(),
            When::EndOf(day) => words::date(day),
            When::HappenedBy(day) => format!("what had happened by {}", words::date(day)),
        }
    }
}

/// The moment a page's query asks about: `happened_by=DATE`, or `as_of=DATE` read as what had
/// happened by then when the form's `count` says so, or as recorded by then.
pub fn when_of(query: &HashMap<String, String>, today: NaiveDate) -> Result<When, String> {
    let happened_text = query
        .get("happened_by")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty());
    let counting_happened = query.get("count").is_some_and(|c| c == "happened");
    let as_of = query.get("as_of").map(String::as_str);
    match happened_text {
        Some(text) => match parse_when(Some(text), today)? {
            When::EndOf(day) | When::HappenedBy(day) => Ok(When::HappenedBy(day)),
            When::Now => Ok(When::HappenedBy(today)),
        },
        None if counting_happened => match parse_when(as_of, today)? {
            When::EndOf(day) => Ok(When::HappenedBy(day)),
            // No day, or today: what had happened by today is everything recorded.
            other => Ok(other),
        },
        None => parse_when(as_of, today),
    }
}

/// Reads a date typed in a form. Empty means "now"; today means everything recorded so far.
pub fn parse_when(text: Option<&str>, today: NaiveDate) -> Result<When, String> {
    let text = text.map(str::trim).unwrap_or("");
    if text.is_empty() {
        return Ok(When::Now);
    }
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let day = shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            if shaped {
                format!("{text} is not a real date. Enter a real date, for example 2025-03-01")
            } else {
                "Enter the date as year, month and day, for example 2025-03-01".to_string()
            }
        })?;
    if day > today {
        return Err(format!(
            "The date must be today ({}) or in the past",
            words::date(today)
        ));
    }
    Ok(if day == today {
        When::Now
    } else {
        When::EndOf(day)
    })
}

/// The assessment at each of `whens` under the latest rubric, given the one way every
/// assessment is; `None` where nothing had been recorded by then.
pub async fn assessments_at(
    state: &AppState,
    project: &ProjectPage,
    whens: &[When],
    viewer: &Viewer,
) -> Result<Vec<Option<Assessment>>, PageError> {
    let fail = |e: AppError| PageError::from_app(e, viewer);
    let cutoffs: Vec<Cutoff> = whens.iter().map(|when| when.cutoff()).collect();
    let answers = assess_at(
        state,
        project.head.project_id,
        &cutoffs,
        rubric::latest(),
        viewer.caller().disclosure(),
    )
    .await
    .map_err(fail)?;
    answers
        .into_iter()
        .map(|answer| {
            // A project that had not started by the day asked about has nothing to assess then.
            let answer = match answer {
                Err(AssessError::NotStartedBy { .. }) => Err(AssessError::NothingRecorded),
                other => other,
            };
            Ok(recorded(answer).map_err(fail)?.map(|at| at.assessment))
        })
        .collect()
}

/// The assessment at `when` under the latest rubric; `None` if nothing was recorded by then.
pub async fn assessment_at(
    state: &AppState,
    project: &ProjectPage,
    when: When,
    viewer: &Viewer,
) -> Result<Option<Assessment>, PageError> {
    let mut answers = assessments_at(state, project, &[when], viewer).await?;
    Ok(answers.pop().flatten())
}

/// The choice beside a date: count what had been recorded by that day, or what had happened by
/// it (history entered later included).
pub fn count_choice(when: Option<When>) -> Markup {
    let happened = matches!(when, Some(When::HappenedBy(_)));
    html! {
        div class="govuk-form-group" {
            fieldset class="govuk-fieldset" {
                legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { "Count" }
                div class="govuk-radios govuk-radios--small" data-module="govuk-radios" {
                    div class="govuk-radios__item" {
                        input class="govuk-radios__input" id="count-recorded" name="count" type="radio" value="recorded" checked[!happened];
                        label class="govuk-label govuk-radios__label" for="count-recorded" { "What had been recorded by that day" }
                    }
                    div class="govuk-radios__item" {
                        input class="govuk-radios__input" id="count-happened" name="count" type="radio" value="happened" checked[happened];
                        label class="govuk-label govuk-radios__label" for="count-happened" { "What had happened by that day, including history recorded later" }
                    }
                }
            }
        }
    }
}

/// "As recorded by the end of 1 March 2025 (UTC): entries 1 to 23."
pub fn basis(when: When, assessment: &Assessment) -> Markup {
    html! {
        @match when {
            When::Now => {
                "Everything recorded so far: entries 1 to " (assessment.at_sequence) "."
            }
            When::EndOf(day) => {
                "As it stood at the end of " (words::date(day)) " (UTC), counting only what had been recorded by then: entries 1 to " (assessment.at_sequence) "."
            }
            When::HappenedBy(day) => {
                "What had happened by the end of " (words::date(day)) ", by the dates the facts give, as recorded now (entries 1 to " (assessment.at_sequence) "): "
                "history recorded later counts on the day it happened."
            }
        }
        @if assessment.participants_erased > 0 {
            " The personal data of " (words::count(assessment.participants_erased as usize, "participant", "participants"))
            " " (coprod_domain::words::agrees(assessment.participants_erased as usize, "was", "were"))
            " erased: their groups are not known, and are not counted."
        }
    }
}

/// Links to the trail entries behind a judgement.
pub fn evidence_links(project_id: &str, evidence: &[u64]) -> Markup {
    html! {
        @if evidence.is_empty() {
            "None"
        } @else {
            (words::entries_phrase(evidence.len())) " "
            @for (i, sequence) in evidence.iter().enumerate() {
                @if i > 0 { ", " }
                a class="govuk-link" href=(entry_href(project_id, *sequence)) {
                    span class="govuk-visually-hidden" { "entry " } (sequence)
                }
            }
        }
    }
}

pub fn criterion_definition(key: &str) -> Option<&'static CriterionDefinition> {
    rubric::latest()
        .rubric
        .criteria
        .iter()
        .find(|c| c.key == key)
}

pub fn indicator_title(criterion: &str, indicator: &str) -> String {
    criterion_definition(criterion)
        .and_then(|c| c.indicators.iter().find(|i| i.key == indicator))
        .map(|i| i.title.clone())
        .unwrap_or_else(|| words::field(indicator))
}

/// "2 met, 1 partly met, 1 not met", and from version 2 how many cannot be judged yet.
pub fn overall_counts(assessment: &Assessment) -> Markup {
    let overall = &assessment.overall;
    html! {
        (overall.met) " met, " (overall.partly_met) " partly met, " (overall.not_met) " not met"
        @if let Some(unjudged) = overall.insufficient_evidence {
            ", " (unjudged) " cannot be judged yet"
        }
        "."
    }
}

/// Version 2's verdict, before the detail: the headline, what a panel must see first (flags, as
/// GOV.UK warning text, with the facts behind them), and where the evidence places the project
/// on the ladder of participation beside where it says it stands. Nothing under version 1.
pub fn verdict(project_id: &str, assessment: &Assessment, heading: u8) -> Markup {
    let overall = &assessment.overall;
    let ladder_title = "On the ladder of participation";
    html! {
        @if let Some(headline) = &overall.headline {
            p class="govuk-body-l app-headline" id="headline" { strong { (headline) } }
        }
        @for flag in overall.flags.iter().flatten() {
            div class="govuk-warning-text app-flag" id={ "flag-" (flag.key) } {
                span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                strong class="govuk-warning-text__text" {
                    span class="govuk-visually-hidden" { "Warning" }
                    (flag.message)
                }
                p class="govuk-body-s app-evidence" {
                    "Facts behind this: " (evidence_links(project_id, &flag.evidence))
                }
            }
        }
        @if let Some(ladder) = &overall.ladder {
            section class="app-ladder" id="ladder" aria-labelledby="ladder-title" {
                @if heading == 2 {
                    h2 class="govuk-heading-m" id="ladder-title" { (ladder_title) }
                } @else {
                    h3 class="govuk-heading-m" id="ladder-title" { (ladder_title) }
                }
                dl class="govuk-summary-list" {
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "What the facts show" }
                        dd class="govuk-summary-list__value" id="ladder-rung" {
                            @match ladder.rung {
                                Some(rung) => {
                                    strong { (words::rung(rung)) }
                                    @if let Some(meaning) = rung_meaning(rung) { ": " (meaning) }
                                }
                                None => "Not on the ladder yet: nobody with lived experience has taken part.",
                            }
                        }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "What the project says it is" }
                        dd class="govuk-summary-list__value" id="declared-level" {
                            @match overall.declared_level {
                                Some(declared) => strong { (words::rung(declared)) },
                                None => "Not said when it was registered",
                            }
                        }
                    }
                }
                @if !ladder.reasons.is_empty() {
                    p class="govuk-body" { "Why:" }
                    ul class="govuk-list govuk-list--bullet app-ladder-reasons" {
                        @for reason in &ladder.reasons { li { (reason) } }
                    }
                }
            }
        }
    }
}

/// "What the people involved say", beside the rating from the record (version 2, once someone
/// has answered through an invitation): counts per answer, none below five, and the flag when
/// they place the project far from where the record does. Nobody is named.
pub fn people_say(project_id: &str, assessment: &Assessment, heading: u8) -> Markup {
    let Some(say) = &assessment.people_say else {
        return html! {};
    };
    let title = "What the people involved say";
    let shown = |count: &coprod_domain::assessment::ShownCount| match count.count {
        Some(n) => n.to_string(),
        None => format!("fewer than {}", coprod_domain::assessment::SMALL_COUNT),
    };
    let agreement_table = |caption: &str,
                           id: &str,
                           counts: &std::collections::BTreeMap<
        coprod_domain::Agreement,
        coprod_domain::assessment::ShownCount,
    >| {
        html! {
            table class="govuk-table app-people-say" id=(id) {
                caption class="govuk-table__caption govuk-table__caption--s" { "\u{201c}" (caption) "\u{201d}" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Answer" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "People" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (answer, count) in counts {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (words::agreement(*answer)) }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (shown(count)) }
                        }
                    }
                }
            }
        }
    };
    html! {
        section class="app-people-say" id="people-say" aria-labelledby="people-say-title" {
            @if heading == 2 {
                h2 class="govuk-heading-m" id="people-say-title" { (title) }
            } @else {
                h3 class="govuk-heading-m" id="people-say-title" { (title) }
            }
            p class="govuk-body" id="people-say-summary" { (say.summary) }
            @if let Some(flag) = &say.flag {
                div class="govuk-warning-text app-flag" id={ "flag-" (flag.key) } {
                    span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                    strong class="govuk-warning-text__text" {
                        span class="govuk-visually-hidden" { "Warning" }
                        (flag.message)
                    }
                    p class="govuk-body-s app-evidence" {
                        "Their answers: " (evidence_links(project_id, &flag.evidence))
                    }
                }
            }
            // Below five answers every count is withheld: the summary says so, and no table of
            // "fewer than 5" follows.
            @if !say.answered.suppressed {
            p class="govuk-body-s" {
                "Each person counts once, by their latest answer. Counts below "
                (coprod_domain::assessment::SMALL_COUNT)
                " are not shown, and nobody sees who said what."
            }
            dl class="govuk-summary-list" {
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "People who answered" }
                    dd class="govuk-summary-list__value" id="people-say-answered" { (shown(&say.answered)) }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Where they place the project (the middle answer)" }
                    dd class="govuk-summary-list__value" id="people-say-placement" {
                        @match say.middle_placement {
                            Some(rung) => strong { (words::rung(rung)) },
                            None => "Not shown until at least 5 people have answered",
                        }
                    }
                }
            }
            table class="govuk-table app-people-say" id="people-say-ladder" {
                caption class="govuk-table__caption govuk-table__caption--s" { "Where they would place the project on the ladder" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Rung" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "People" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (rung, count) in say.placement.iter().rev() {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (words::rung(*rung)) }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (shown(count)) }
                        }
                    }
                }
            }
            (agreement_table("I was listened to", "people-say-listened-to", &say.listened_to))
            (agreement_table("I could influence decisions", "people-say-could-influence", &say.could_influence))
            (agreement_table("I was paid or thanked fairly", "people-say-paid-or-thanked", &say.paid_or_thanked_fairly))
            table class="govuk-table app-people-say" id="people-say-formats" {
                caption class="govuk-table__caption govuk-table__caption--s" { "People who need another format" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Format" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "People" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (format, count) in &say.accessible_format {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (words::accessible_format(*format)) }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (shown(count)) }
                        }
                    }
                }
            }
            @if let Some(comments) = say.comments.as_ref().filter(|c| !c.is_empty()) {
                p class="govuk-body" { "What they added, in no particular order:" }
                ul class="govuk-list govuk-list--bullet" id="people-say-comments" {
                    @for comment in comments { li { (comment) } }
                }
            }
            }
        }
    }
}

/// What a rung means, as the published rubric says.
fn rung_meaning(rung: coprod_domain::LadderRung) -> Option<&'static str> {
    rubric::latest()
        .rubric
        .ladder
        .iter()
        .flatten()
        .find(|step| step.rung == rung)
        .map(|step| step.meaning.as_str())
}

/// The six scores as a bar chart (SVG), each bar labelled with its score and rating in words.
/// Drawn at its natural size (never scaled down, so its text stays as large as the body's) inside
/// a wrapper that scrolls sideways on a narrow screen.
pub fn chart(assessment: &Assessment) -> Markup {
    const ROW: usize = 64;
    const TRACK: usize = 360;
    const WIDTH: usize = 720;
    let height = assessment.criteria.len() * ROW + 8;
    html! {
        svg class="app-chart" xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) }
            role="img" aria-labelledby="chart-title chart-desc" focusable="false" {
            title id="chart-title" { "Bar chart of the six scores, out of 100" }
            desc id="chart-desc" { "The same scores are in the table that follows the chart." }
            defs {
                pattern id="app-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)" {
                    rect width="8" height="8" fill="#ffffff" {}
                    rect width="4" height="8" fill="#1d70b8" {}
                }
            }
            @for (i, criterion) in assessment.criteria.iter().enumerate() {
                @let y = i * ROW;
                @let width = criterion.score as usize * TRACK / 100;
                g {
                    text class="app-chart__label" x="0" y=(y + 20) { (i + 1) ". " (criterion.title) }
                    rect class="app-chart__track" x="1" y=(y + 30) width=(TRACK) height="24" fill="#ffffff" stroke="#505a5f" stroke-width="2" {}
                    @if width > 0 {
                        rect x="1" y=(y + 30) width=(width) height="24"
                            fill=(if criterion.rating == Rating::Met { "#1d70b8" } else { "url(#app-hatch)" })
                            stroke="#0b0c0c" stroke-width="2" {}
                    }
                    text class="app-chart__value" x=(TRACK + 12) y=(y + 49) {
                        (criterion.score) " – " (words::rating(criterion.rating))
                    }
                }
            }
        }
    }
}

/// The six scores as a table (the chart's data).
pub fn scores_table(assessment: &Assessment) -> Markup {
    html! {
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of the six scores" {
            table class="govuk-table" {
                caption class="govuk-table__caption govuk-table__caption--s" { "The six scores" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Criterion" }
                        th scope="col" class="govuk-table__header" { "Rating" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Score (out of 100)" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (i, criterion) in assessment.criteria.iter().enumerate() {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" {
                                a class="govuk-link" href={ "#" (criterion.key) } { (i + 1) ". " (criterion.title) }
                            }
                            td class="govuk-table__cell" { (words::rating_tag(criterion.rating)) }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (criterion.score) }
                        }
                    }
                }
            }
        }
    }
}

/// "2 of 3 indicators met.", or from version 2 counting only the indicators that could be judged.
fn indicator_counts(criterion: &CriterionResult) -> String {
    let total = criterion.indicators.len();
    let met = criterion.indicators.iter().filter(|i| i.met).count();
    if criterion.indicators.iter().all(|i| i.state.is_none()) {
        return format!("{met} of {total} indicators met.");
    }
    let judged = criterion
        .indicators
        .iter()
        .filter(|i| i.state.is_some_and(|s| s.is_judged()))
        .count();
    let unjudged = total - judged;
    match (judged, unjudged) {
        (0, _) => format!("none of its {total} indicators could be judged yet."),
        (_, 0) => format!("{met} of {total} indicators met."),
        _ => format!(
            "{met} of the {judged} indicators that could be judged met; {unjudged} could not be judged yet."
        ),
    }
}

/// The six criteria in full: rating, summary, and each indicator's value, explanation and
/// evidence (from version 2: each indicator's state in words, and what evidence is missing).
pub fn criteria(project_id: &str, assessment: &Assessment, heading: u8) -> Markup {
    html! {
        @for (i, criterion) in assessment.criteria.iter().enumerate() {
            section class="app-criterion" id=(criterion.key) aria-labelledby={ (criterion.key) "-title" } {
                @let title = html! { (i + 1) ". " (criterion.title) };
                @if heading == 2 {
                    h2 class="govuk-heading-m" id={ (criterion.key) "-title" } { (title) }
                } @else {
                    h3 class="govuk-heading-m" id={ (criterion.key) "-title" } { (title) }
                }
                p class="govuk-body" {
                    (words::rating_tag(criterion.rating))
                    " Score " (criterion.score) " out of 100: "
                    (indicator_counts(criterion))
                }
                @if let Some(definition) = criterion_definition(&criterion.key) {
                    p class="govuk-body app-aim" { "The aim: " (definition.aim) }
                }
                p class="govuk-body" { (criterion.summary) }
                @if let Some(cap) = &criterion.cap {
                    div class="govuk-warning-text app-cap" {
                        span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                        strong class="govuk-warning-text__text" {
                            span class="govuk-visually-hidden" { "Warning" }
                            (cap)
                        }
                    }
                }
                dl class="govuk-summary-list app-indicators" {
                    @for indicator in &criterion.indicators {
                        div class="govuk-summary-list__row" {
                            dt class="govuk-summary-list__key" {
                                (indicator_title(&criterion.key, &indicator.key))
                                br;
                                (words::indicator_tag(indicator))
                            }
                            dd class="govuk-summary-list__value" {
                                p class="govuk-body" { strong { (indicator.value) } }
                                p class="govuk-body" { (indicator.explanation) }
                                @if let Some(missing) = &indicator.missing_evidence {
                                    p class="govuk-body app-missing" {
                                        strong { "What to record or do: " } (missing)
                                    }
                                }
                                p class="govuk-body-s app-evidence" {
                                    "Facts behind this: " (evidence_links(project_id, &indicator.evidence))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /projects/{id}?as_of=YYYY-MM-DD`.
pub async fn page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer, id) = (&state, &viewer, id.as_str());
    let project = load(state, viewer, id).await?;
    let query = query_map(query);
    let as_of_text = query
        .get("happened_by")
        .or_else(|| query.get("as_of"))
        .map(String::as_str);
    let when = when_of(&query, state.today());
    let assessment = match &when {
        Ok(when) => Some(assessment_at(state, &project, *when, viewer).await?),
        Err(_) => None,
    };
    let error = when.as_ref().err().cloned();
    let project_id = project.id();
    let registration = project.registration();
    let summary = summarise(&project.events);
    let errors: Vec<(&str, String)> = error.iter().map(|e| ("as_of", e.clone())).collect();
    let title = project.title();
    let names = organisation_names(state)
        .await
        .map_err(|e| PageError::from_app(e, viewer))?;
    let organisation = registration
        .map(|r| words::organisation_named(&r.organisation, &names))
        .unwrap_or_default();
    let body = html! {
        (error_summary(&errors))
        span class="govuk-caption-l" { (organisation) }
        h1 class="govuk-heading-l" { (title) }
        @if let Some(description) = registration.and_then(|r| r.description.as_deref()) {
            p class="govuk-body-l" { (description) }
        }
        nav class="app-project-links" aria-label="This project" {
            ul class="govuk-list app-inline-list" {
                li { a class="govuk-link" href={ "/projects/" (project_id) "/trail" } { "Audit trail" } }
                li {
                    a class="govuk-link" href={ "/projects/" (project_id) "/report" @if let Ok(When::EndOf(day)) = when { "?as_of=" (day.format("%Y-%m-%d")) } } {
                        "Printable panel report"
                    }
                }
                li { a class="govuk-link" href="#compare" { "Compare two dates" } }
                @if viewer.caller().require(WRITERS, "record").is_ok() {
                    li { a class="govuk-link" href={ "/projects/" (project_id) "/record" } { "Record something" } }
                }
            }
        }
        h2 class="govuk-heading-m" { "Summary, as recorded now" }
        dl class="govuk-summary-list" {
            @if let Some(r) = registration {
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Service area" }
                    dd class="govuk-summary-list__value" { (r.service_area) }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Started" }
                    dd class="govuk-summary-list__value" { (words::date(r.started_on)) }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Groups it means to reach" }
                    dd class="govuk-summary-list__value" {
                        @if r.priority_groups.is_empty() { "None named" } @else { (r.priority_groups.join(", ")) }
                    }
                }
                @if let Some(serves) = r.serves.as_ref().filter(|s| !s.is_empty()) {
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Groups it exists for" }
                        dd class="govuk-summary-list__value" { (serves.join(", ")) }
                    }
                }
                @if let Some(declared) = r.declared_level {
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Says it is" }
                        dd class="govuk-summary-list__value" {
                            (words::rung(declared))
                        }
                    }
                }
            }
            @if let Some(summary) = &summary {
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Status" }
                    dd class="govuk-summary-list__value" { (words::status(summary.status)) }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "Stages" }
                    dd class="govuk-summary-list__value" {
                        @if summary.stages.is_empty() {
                            "No stage has started yet"
                        } @else {
                            ul class="govuk-list" {
                                @for span in &summary.stages {
                                    li {
                                        (words::stage(span.stage.as_str())) ": started " (words::date(span.started_on))
                                        @match span.completed_on {
                                            Some(done) => { ", completed " (words::date(done)) }
                                            // A closed project has no stage under way any more.
                                            None if summary.status == "closed" => { ", ended when the project closed" }
                                            None => { ", under way" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div class="govuk-summary-list__row" {
                    dt class="govuk-summary-list__key" { "People taking part" }
                    dd class="govuk-summary-list__value" {
                        @if summary.participants_by_kind.is_empty() {
                            "Nobody has joined yet"
                        } @else {
                            p class="govuk-body" {
                                @for (i, (kind, count)) in summary.participants_by_kind.iter().enumerate() {
                                    @let key = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                                    @if i > 0 { "; " }
                                    (words::participant_kind(&key)) ": " (words::people_count(*count))
                                }
                                "."
                            }
                            p class="govuk-body-s" { "Numbers below 5 are not shown, to protect people's privacy." }
                        }
                    }
                }
            }
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "Entries recorded" }
                dd class="govuk-summary-list__value" {
                    a class="govuk-link" href={ "/projects/" (project_id) "/trail" } { (words::count(project.head.sequence as usize, "entry", "entries")) }
                    ", the last recorded " (words::instant(&project.head.recorded_at))
                }
            }
            div class="govuk-summary-list__row" {
                dt class="govuk-summary-list__key" { "Digest of the trail" }
                dd class="govuk-summary-list__value" { code class="app-digest" { (project.head.digest) } }
            }
        }

        h2 class="govuk-heading-l" id="assessment" { "The six-point co-production test" }
        form method="get" action={ "/projects/" (project_id) } class="app-date-form" {
            (date_field("as_of", "as_of", "See the assessment as it stood at the end of a day",
                as_of_text.filter(|t| !t.trim().is_empty()), error.as_deref()))
            (count_choice(when.as_ref().ok().copied()))
            div class="govuk-button-group" {
                button type="submit" class="govuk-button govuk-button--secondary" { "Show assessment" }
                @if matches!(when, Ok(When::EndOf(_) | When::HappenedBy(_))) || error.is_some() {
                    a class="govuk-link" href={ "/projects/" (project_id) } { "Show the assessment now" }
                }
            }
        }
        @match (&when, &assessment) {
            (Err(_), _) => {
                p class="govuk-body" { "Correct the date to see the assessment as it stood then." }
            }
            (Ok(when), Some(None)) => {
                div class="govuk-inset-text" {
                    @match when {
                        When::HappenedBy(day) => {
                            "The project had not started by the end of " (words::date(*day)) ", so nothing about it had happened then. "
                        }
                        _ => {
                            "Nothing had been recorded for this project by the end of " (words::date(when.query().and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()).unwrap_or_default())) ", so there was nothing to assess then. "
                        }
                    }
                    @if let Some(first) = project.events.first() {
                        "Its first entry was recorded " (words::instant(&format_instant(first.recorded_at))) "."
                    }
                }
            }
            (Ok(when), Some(Some(assessment))) => {
                div class="govuk-inset-text" id="assessment-basis" {
                    (basis(*when, assessment))
                    " Rubric: " (assessment.rubric.id) ", version " (assessment.rubric.version) "."
                }
                (verdict(&project_id, assessment, 3))
                (people_say(&project_id, assessment, 3))
                p class="govuk-body-l" id="overall" { (overall_counts(assessment)) " " }
                p class="govuk-body" { (assessment.overall.summary) }
                div class="app-chart-wrapper" tabindex="0" role="group" aria-label="Bar chart of the six scores" { (chart(assessment)) }
                (scores_table(assessment))
                (criteria(&project_id, assessment, 3))
            }
            (Ok(_), None) => {}
        }
        h2 class="govuk-heading-l" id="compare" { "Compare two dates" }
        p class="govuk-body" { "See what changed in the assessment between the end of one day and the end of another." }
        form method="get" action={ "/projects/" (project_id) "/compare" } {
            (date_field("from", "from", "First date", None, None))
            (date_field("to", "to", "Second date", None, None))
            button type="submit" class="govuk-button govuk-button--secondary" { "Compare" }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page_title = match (&error, &when) {
        (Some(_), _) => format!("Error: {title}"),
        (None, Ok(When::EndOf(day))) => format!("{title}, as it stood on {}", words::date(*day)),
        _ => title.clone(),
    };
    Ok(html_response(
        status,
        layout_page(&page_title, Some(viewer), body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_forms() {
        let today = NaiveDate::from_ymd_opt(2025, 5, 1).unwrap();
        assert_eq!(parse_when(None, today), Ok(When::Now));
        assert_eq!(parse_when(Some("  "), today), Ok(When::Now));
        assert_eq!(parse_when(Some("2025-05-01"), today), Ok(When::Now));
        assert_eq!(
            parse_when(Some("2025-03-01"), today),
            Ok(When::EndOf(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()))
        );
        assert!(parse_when(Some("2025-02-30"), today)
            .unwrap_err()
            .contains("not a real date"));
        assert!(parse_when(Some("1 March"), today)
            .unwrap_err()
            .contains("year, month and day"));
        assert!(parse_when(Some("2025-05-02"), today)
            .unwrap_err()
            .contains("in the past"));
    }
}
