//! `GET /portfolio`: co-production across the projects the viewer may see — how many meet each
//! criterion and indicator, open and closed by stage, where involvement started late or rewards
//! were missing — now or at the end of a past day; a chart per criterion over the last twelve
//! quarters (or months) with the same figures as a table; organisations side by side for those
//! who see them all. Every figure links to the projects behind it (`/portfolio/projects`), and
//! every table downloads as CSV (`/portfolio/*.csv`, the API's own CSV for the same question).
//!
//! The figures are the application's (`crate::app::portfolio`), the same the API gives, computed
//! with the viewer's rights.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coprod_domain::assessment::{EvidenceState, Rating};
use coprod_domain::rubric;
use maud::{html, Markup};

use super::layout::{date_field, error_summary, html_response, page as layout_page, PageError};
use super::project::{count_choice, query_map, when_of, When};
use super::session::{SignedIn, Viewer};
use super::words;
use crate::app::answer::csv_bytes;
use crate::app::caller::ALL_ORGANISATIONS;
use crate::app::portfolio::figures::{Every, ProjectFigures, Share, STAGE_KEYS};
use crate::app::portfolio::{
    comparison_of, may_compare, portfolio_of, trend_of, Comparison, ComparisonQuery, Portfolio,
    PortfolioQuery, Trend, TrendQuery,
};
use crate::app::projects::organisation_names;
use crate::app::{AppError, AppState};

/// What the filters ask for.
#[derive(Debug, Clone, Default)]
struct Filters {
    organisation: Option<String>,
    service_area: Option<String>,
    every: Every,
}

impl Filters {
    fn read(query: &std::collections::HashMap<String, String>) -> Result<Filters, String> {
        let text = |key: &str| {
            query
                .get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let every = match text("every").as_deref() {
            None | Some("quarter") => Every::Quarter,
            Some("month") => Every::Month,
            Some(_) => return Err("Choose quarters or months.".into()),
        };
        Ok(Filters {
            organisation: text("organisation"),
            service_area: text("service_area"),
            every,
        })
    }

    /// The query string of these filters, with `more` after them.
    fn query(&self, when: When, more: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(o) = &self.organisation {
            pairs.push(("organisation", o.clone()));
        }
        if let Some(s) = &self.service_area {
            pairs.push(("service_area", s.clone()));
        }
        if let Some(day) = when.as_of() {
            pairs.push(("as_of", day));
        }
        if let Some(day) = when.happened_by() {
            pairs.push(("happened_by", day));
        }
        if self.every == Every::Month {
            pairs.push(("every", "month".into()));
        }
        pairs.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// Which projects a figure counts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    All,
    Rated {
        criterion: usize,
        rating: Rating,
    },
    /// Projects where the indicator is in this state (met, unless a version 2 state is asked).
    Indicator {
        criterion: usize,
        indicator: usize,
        state: EvidenceState,
    },
    StartedLate,
    RewardsMissing,
    Stage {
        stage: String,
        closed: Option<bool>,
    },
    Status {
        closed: bool,
    },
}

impl Selector {
    fn read(query: &std::collections::HashMap<String, String>) -> Result<Selector, String> {
        let get = |key: &str| query.get(key).map(String::as_str).filter(|v| !v.is_empty());
        let criteria = &rubric::latest().rubric.criteria;
        let closed = match get("status") {
            None => None,
            Some("open") => Some(false),
            Some("closed") => Some(true),
            Some(_) => return Err("The status must be open or closed.".into()),
        };
        if let Some(key) = get("criterion") {
            let c = criteria
                .iter()
                .position(|c| c.key == key)
                .ok_or("There is no such criterion.")?;
            if let Some(indicator) = get("indicator") {
                let i = criteria[c]
                    .indicators
                    .iter()
                    .position(|i| i.key == indicator)
                    .ok_or("There is no such indicator.")?;
                let state = match get("state") {
                    None | Some("met") => EvidenceState::Met,
                    Some("not_met") => EvidenceState::NotMet,
                    Some("not_applicable") => EvidenceState::NotApplicable,
                    Some("not_recorded") => EvidenceState::NotRecorded,
                    Some("not_shown") => EvidenceState::NotShown,
                    Some(_) => {
                        return Err(
                            "The state must be met, not_met, not_applicable, not_recorded or not_shown."
                                .into(),
                        )
                    }
                };
                return Ok(Selector::Indicator {
                    criterion: c,
                    indicator: i,
                    state,
                });
            }
            let rating = get("rating")
                .and_then(words::rating_from_key)
                .ok_or("The rating must be met, partly_met, not_met or insufficient_evidence.")?;
            return Ok(Selector::Rated {
                criterion: c,
                rating,
            });
        }
        match get("attention") {
            Some("involvement_started_late") => return Ok(Selector::StartedLate),
            Some("rewards_missing") => return Ok(Selector::RewardsMissing),
            Some(_) => return Err("There is no such figure.".into()),
            None => {}
        }
        if let Some(stage) = get("stage") {
            if !STAGE_KEYS.contains(&stage) {
                return Err("There is no such stage.".into());
            }
            return Ok(Selector::Stage {
                stage: stage.to_string(),
                closed,
            });
        }
        Ok(closed.map_or(Selector::All, |closed| Selector::Status { closed }))
    }

    fn selects(&self, p: &ProjectFigures) -> bool {
        match self {
            Selector::All => true,
            Selector::Rated { criterion, rating } => p.ratings.get(*criterion) == Some(rating),
            Selector::Indicator {
                criterion,
                indicator,
                state,
            } => p.state_of(*criterion, *indicator) == Some(*state),
            Selector::StartedLate => p.started_late,
            Selector::RewardsMissing => p.rewards_missing,
            Selector::Stage { stage, closed } => {
                p.stage_key() == stage && closed.is_none_or(|c| c == p.closed)
            }
            Selector::Status { closed } => p.closed == *closed,
        }
    }

    fn words(&self) -> String {
        let criteria = &rubric::latest().rubric.criteria;
        match self {
            Selector::All => "All projects".into(),
            Selector::Rated { criterion, rating } => format!(
                "{}: {}",
                criteria[*criterion].title,
                words::rating(*rating).to_lowercase()
            ),
            Selector::Indicator {
                criterion,
                indicator,
                state: EvidenceState::Met,
            } => format!(
                "Meeting “{}” ({})",
                criteria[*criterion].indicators[*indicator].title, criteria[*criterion].title
            ),
            Selector::Indicator {
                criterion,
                indicator,
                state,
            } => format!(
                "“{}” ({}): {}",
                criteria[*criterion].indicators[*indicator].title,
                criteria[*criterion].title,
                words::evidence_state(*state).to_lowercase()
            ),
            Selector::StartedLate => "Involvement started late".into(),
            Selector::RewardsMissing => "Rewards missing".into(),
            Selector::Stage { stage, closed } => format!(
                "Latest stage reached: {}{}",
                words::stage(stage),
                match closed {
                    Some(true) => ", closed",
                    Some(false) => ", open",
                    None => "",
                }
            ),
            Selector::Status { closed: true } => "Closed projects".into(),
            Selector::Status { closed: false } => "Open projects".into(),
        }
    }
}

fn portfolio_query(filters: &Filters, when: When) -> PortfolioQuery {
    PortfolioQuery {
        organisation: filters.organisation.clone(),
        service_area: filters.service_area.clone(),
        as_of: when.as_of(),
        happened_by: when.happened_by(),
        rubric: None,
    }
}

fn trend_query(filters: &Filters, when: When) -> TrendQuery {
    TrendQuery {
        organisation: filters.organisation.clone(),
        service_area: filters.service_area.clone(),
        from: None,
        to: when.as_of(),
        every: Some(filters.every),
        happened_by: when.happened_by(),
        rubric: None,
    }
}

fn comparison_query(filters: &Filters, when: When) -> ComparisonQuery {
    ComparisonQuery {
        service_area: filters.service_area.clone(),
        as_of: when.as_of(),
        happened_by: when.happened_by(),
        rubric: None,
    }
}

/// A count and its per cent, linked to the projects behind it.
fn share_link(share: Share, href: &str, what: &str) -> Markup {
    html! {
        @if share.count == 0 {
            "0"
        } @else {
            a class="govuk-link" href=(href) {
                (share.count)
                span class="govuk-visually-hidden" { " projects: " (what) }
            }
        }
        @if let Some(per_cent) = share.per_cent {
            " (" (per_cent) "%)"
        }
    }
}

fn count_link(count: u64, href: &str, what: &str) -> Markup {
    share_link(
        Share {
            count,
            per_cent: None,
        },
        href,
        what,
    )
}

/// The chart of one criterion over time: a column per period, as tall as the per cent of
/// projects meeting the criterion, labelled with that per cent. Each period has a fixed width, so
/// the chart grows with the periods (its wrapper scrolls sideways) rather than its text shrinking;
/// under the columns, only as many periods are named as fit side by side without touching.
fn trend_chart(trend: &Trend, c: usize, key: &str, title: &str) -> Markup {
    const HEIGHT: usize = 160;
    const TOP: usize = 32;
    const LEFT: usize = 64;
    // Wide enough for "100%" at the body's size (19px) with a gap.
    const SLOT: usize = 64;
    // A generous width per character at 19px, so the estimate never falls short.
    const CHARACTER: usize = 12;
    let n = trend.periods.len().max(1);
    let width = LEFT + n * SLOT + 24;
    let bar = SLOT * 3 / 5;
    let longest = trend
        .periods
        .iter()
        .map(|p| p.period.chars().count())
        .max()
        .unwrap_or(0);
    let every = (longest * CHARACTER + 16).div_ceil(SLOT).max(1);
    let height = TOP + HEIGHT + 40;
    html! {
        svg class="app-chart app-chart--trend" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) }
            role="img" aria-labelledby={ "trend-" (key) "-title trend-" (key) "-desc" } focusable="false" {
            title id={ "trend-" (key) "-title" } { (title) ": per cent of projects meeting it, by period" }
            desc id={ "trend-" (key) "-desc" } { "The same figures are in the table after the chart." }
            line x1=(LEFT - 8) y1=(TOP + HEIGHT) x2=(width) y2=(TOP + HEIGHT) stroke="#0b0c0c" stroke-width="2" {}
            line x1=(LEFT - 8) y1=(TOP) x2=(width) y2=(TOP) stroke="#b1b4b6" stroke-width="1" stroke-dasharray="4 4" {}
            text class="app-chart__axis" x="0" y=(TOP + 6) { "100%" }
            text class="app-chart__axis" x="0" y=(TOP + HEIGHT) { "0%" }
            @for (i, period) in trend.periods.iter().enumerate() {
                @let share = period.figures.criteria.get(c).map(|f| f.met).unwrap_or(Share::of(0, 0));
                @let per_cent = share.per_cent.unwrap_or(0) as usize;
                @let h = per_cent * HEIGHT / 100;
                @let x = LEFT + i * SLOT;
                g {
                    @if h > 0 {
                        rect x=(x) y=(TOP + HEIGHT - h) width=(bar) height=(h)
                            fill=(if period.complete { "#1d70b8" } else { "url(#app-hatch)" })
                            stroke="#0b0c0c" stroke-width="1" {}
                    }
                    text class="app-chart__small" x=(x) y=(TOP + HEIGHT - h - 6) {
                        @match share.per_cent { Some(p) => { (p) "%" } None => "–" }
                    }
                    @if i % every == 0 {
                        text class="app-chart__small" x=(x) y=(TOP + HEIGHT + 26) { (period.period) }
                    }
                }
            }
        }
    }
}

/// The hatch pattern the charts of periods still under way use (defined once per page).
fn hatch() -> Markup {
    html! {
        svg class="app-hidden-defs" width="0" height="0" aria-hidden="true" focusable="false" {
            defs {
                pattern id="app-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)" {
                    rect width="8" height="8" fill="#ffffff" {}
                    rect width="4" height="8" fill="#1d70b8" {}
                }
            }
        }
    }
}

fn organisation_options(
    viewer: &Viewer,
    scopes: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let sees_all = viewer.principal.organisation == ALL_ORGANISATIONS;
    let visible = |o: &str| sees_all || o == viewer.principal.organisation;
    let organisations: BTreeSet<String> = scopes
        .iter()
        .filter(|(o, _)| visible(o))
        .map(|(o, _)| o.clone())
        .collect();
    let areas: BTreeSet<String> = scopes
        .iter()
        .filter(|(o, _)| visible(o))
        .map(|(_, s)| s.clone())
        .collect();
    (
        organisations.into_iter().collect(),
        areas.into_iter().collect(),
    )
}

fn select(id: &str, label: &str, all: &str, options: &[String], chosen: Option<&str>) -> Markup {
    html! {
        div class="govuk-form-group" {
            label class="govuk-label" for=(id) { (label) }
            select class="govuk-select" id=(id) name=(id) {
                option value="" selected[chosen.is_none()] { (all) }
                @for option in options {
                    option value=(option) selected[chosen == Some(option.as_str())] { (option) }
                }
            }
        }
    }
}

/// `GET /portfolio`.
pub async fn page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer) = (&state, &viewer);
    let caller = viewer.caller();
    let fail = |e: AppError| PageError::from_app(e, viewer);
    let query = query_map(query);
    let today = state.today();
    let filters = Filters::read(&query);
    let when = when_of(&query, today);
    let mut errors: Vec<(&str, String)> = Vec::new();
    if let Err(message) = &when {
        errors.push(("as_of", message.clone()));
    }
    if let Err(message) = &filters {
        errors.push(("every", message.clone()));
    }
    let filters = filters.unwrap_or_default();
    let scopes = state
        .store
        .portfolio_scopes()
        .await
        .map_err(|e| fail(e.into()))?;
    let (organisations, areas) = organisation_options(viewer, &scopes);
    let sees_all = viewer.principal.organisation == ALL_ORGANISATIONS;
    let figures = match &when {
        Ok(when) if errors.is_empty() => {
            let (portfolio, _) = portfolio_of(state, &caller, &portfolio_query(&filters, *when))
                .await
                .map_err(fail)?;
            let trend = trend_of(state, &caller, &trend_query(&filters, *when))
                .await
                .map_err(fail)?;
            let comparison = if may_compare(&caller) && filters.organisation.is_none() {
                Some(
                    comparison_of(state, &caller, &comparison_query(&filters, *when))
                        .await
                        .map_err(fail)?,
                )
            } else {
                None
            };
            Some((*when, portfolio, trend, comparison))
        }
        _ => None,
    };
    let names = organisation_names(state).await.map_err(fail)?;
    let scope_words = match (&filters.organisation, sees_all) {
        (Some(o), _) => words::organisation_named(o, &names),
        (None, true) => "every organisation".to_string(),
        (None, false) => words::organisation_named(&viewer.principal.organisation, &names),
    };
    let body = html! {
        (error_summary(&errors))
        span class="govuk-caption-l" { (scope_words) @if let Some(area) = &filters.service_area { ", " (area) } }
        h1 class="govuk-heading-l" { "Portfolio" }
        p class="govuk-body-l" {
            "How all the projects meet the six-point co-production test, how that changed quarter by quarter, "
            "and where involvement started late or rewards were missing. Every number is a number of projects; "
            "select one to see the projects behind it."
        }
        form method="get" action="/portfolio" class="app-date-form" {
            @if sees_all {
                (select("organisation", "Organisation", "All organisations", &organisations, filters.organisation.as_deref()))
            }
            (select("service_area", "Service area", "All service areas", &areas, filters.service_area.as_deref()))
            (date_field("as_of", "as_of", "As it stood at the end of a day (leave empty for now)",
                query.get("happened_by").or_else(|| query.get("as_of")).map(String::as_str).filter(|t| !t.trim().is_empty()),
                when.as_ref().err().map(String::as_str)))
            (count_choice(when.as_ref().ok().copied()))
            div class={ "govuk-form-group" @if errors.iter().any(|(f, _)| *f == "every") { " govuk-form-group--error" } } {
                label class="govuk-label" for="every" { "Periods of the chart over time" }
                select class="govuk-select" id="every" name="every" {
                    option value="quarter" selected[filters.every == Every::Quarter] { "Quarters" }
                    option value="month" selected[filters.every == Every::Month] { "Months" }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" { "Show the portfolio" }
        }
        @match &figures {
            None => { p class="govuk-body" { "Correct the choices above to see the portfolio." } }
            // Nothing to count: no figures or charts, just what to do next.
            Some((shown_when, portfolio, _, _)) if portfolio.figures.projects.total == 0 => {
                (nothing_to_count(&filters, *shown_when != When::Now))
            }
            Some((when, portfolio, trend, comparison)) => {
                (current(&filters, *when, portfolio))
                (over_time(&filters, *when, trend))
                @if let Some(comparison) = comparison {
                    (organisations_table(&filters, *when, comparison, &names))
                }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let title = match (&errors.is_empty(), &when) {
        (false, _) => "Error: Portfolio".to_string(),
        (true, Ok(When::EndOf(day))) => format!("Portfolio, as it stood on {}", words::date(*day)),
        (true, Ok(When::HappenedBy(day))) => {
            format!("Portfolio, what had happened by {}", words::date(*day))
        }
        _ => "Portfolio".to_string(),
    };
    Ok(html_response(
        status,
        layout_page(&title, Some(viewer), body),
    ))
}

fn csv_link(href: &str, what: &str) -> Markup {
    html! {
        p class="govuk-body app-no-print" {
            a class="govuk-link" href=(href) download {
                "Download this table as CSV" span class="govuk-visually-hidden" { " (" (what) ")" }
            }
        }
    }
}

/// What an empty portfolio says: where projects come from, or which choice to change.
fn nothing_to_count(filters: &Filters, past: bool) -> Markup {
    let filtered = filters.organisation.is_some() || filters.service_area.is_some() || past;
    html! {
        h2 class="govuk-heading-l" id="now" { "No projects to count" }
        @if filtered {
            p class="govuk-body" {
                "No project you can see matches these choices. Choose another organisation, service area or day, "
                a class="govuk-link" href="/portfolio" { "or see every project now" } "."
            }
        } @else {
            p class="govuk-body" { "There are no projects you can see yet, so there is nothing to count or chart." }
            p class="govuk-body" {
                "Projects arrive through Coprod's API: the system your organisation records co-production in registers each project "
                "(" code { "POST /api/v1/projects" } ") and then records what happens, as it happens. "
                "The figures, charts and tables appear here once there is a project."
            }
            p class="govuk-body" {
                "To see an example first, start Coprod with its demo projects: " code { "coprod serve --demo" } "."
            }
        }
    }
}

fn current(filters: &Filters, when: When, portfolio: &Portfolio) -> Markup {
    let f = &portfolio.figures;
    // Version 2 on, the figures also count what could not be judged.
    let with_states = f
        .criteria
        .first()
        .is_some_and(|c| c.insufficient_evidence.is_some());
    // For readers who may not see personal data: what the groups of a few people decide.
    let with_not_shown = f
        .criteria
        .iter()
        .flat_map(|c| &c.indicators)
        .any(|i| i.not_shown.is_some());
    let list = |more: &[(&str, &str)]| format!("/portfolio/projects?{}", filters.query(when, more));
    let csv = format!("/portfolio/figures.csv?{}", filters.query(when, &[]));
    html! {
        h2 class="govuk-heading-l" id="now" {
            @match when {
                When::Now => "The projects now",
                When::EndOf(day) => { "The projects at the end of " (words::date(day)) }
                When::HappenedBy(day) => { "The projects by what had happened by the end of " (words::date(day)) }
            }
        }
        div class="govuk-inset-text" {
            @match when {
                When::Now => "Everything recorded so far",
                When::EndOf(_) => "Counting only what had been recorded by then",
                When::HappenedBy(_) => "Counting what had happened by then, by the dates the facts give, as recorded now: history recorded later counts on the day it happened",
            }
            @if let Some(as_of) = &portfolio.as_of { " (to " (words::instant(as_of)) ")" }
            ". Rubric: " (portfolio.rubric.id) ", version " (portfolio.rubric.version) "."
        }
        p class="govuk-body-l" id="project-count" {
            (count_link(f.projects.total, &list(&[]), "all")) " " (words::noun(f.projects.total as usize, "project", "projects")) ": "
            (count_link(f.projects.open, &list(&[("status", "open")]), "open")) " open, "
            (count_link(f.projects.closed, &list(&[("status", "closed")]), "closed")) " closed."
        }
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of the six points" {
            table class="govuk-table" id="criteria-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Projects meeting each point of the test" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Criterion" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Met" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Partly met" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Not met" }
                        @if with_states {
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Cannot be judged yet" }
                        }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (i, c) in f.criteria.iter().enumerate() {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (i + 1) ". " (c.title) }
                            @for (rating, share) in [(Rating::Met, Some(c.met)), (Rating::PartlyMet, Some(c.partly_met)), (Rating::NotMet, Some(c.not_met)), (Rating::InsufficientEvidence, c.insufficient_evidence)] {
                                @if let Some(share) = share {
                                    td class="govuk-table__cell govuk-table__cell--numeric" {
                                        (share_link(share, &list(&[("criterion", &c.key), ("rating", rating.as_str())]),
                                            &format!("{}, {}", c.title, words::rating(rating).to_lowercase())))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (csv_link(&csv, "every figure of this section"))
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of the indicators" {
            table class="govuk-table" id="indicators-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Projects meeting each indicator" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Criterion" }
                        th scope="col" class="govuk-table__header" { "Indicator" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Projects meeting it" }
                        @if with_states {
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Not met" }
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Does not apply yet" }
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Not recorded" }
                        }
                        @if with_not_shown {
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Not shown" }
                        }
                    }
                }
                tbody class="govuk-table__body" {
                    @for (i, c) in f.criteria.iter().enumerate() {
                        @for ind in &c.indicators {
                            tr class="govuk-table__row" {
                                td class="govuk-table__cell" { (i + 1) ". " (c.title) }
                                th scope="row" class="govuk-table__header" { (ind.title) }
                                td class="govuk-table__cell govuk-table__cell--numeric" {
                                    (share_link(ind.met, &list(&[("criterion", &c.key), ("indicator", &ind.key)]), &ind.title))
                                }
                                @for (state, share) in [(EvidenceState::NotMet, ind.not_met), (EvidenceState::NotApplicable, ind.not_applicable), (EvidenceState::NotRecorded, ind.not_recorded), (EvidenceState::NotShown, ind.not_shown)] {
                                    @if let Some(share) = share {
                                        td class="govuk-table__cell govuk-table__cell--numeric" {
                                            (share_link(share, &list(&[("criterion", &c.key), ("indicator", &ind.key), ("state", state.as_str())]),
                                                &format!("{}, {}", ind.title, words::evidence_state(state).to_lowercase())))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (csv_link(&csv, "every figure of this section"))
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of what needs attention" {
            table class="govuk-table" id="attention-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Where to look first" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "What" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Projects" }
                    }
                }
                tbody class="govuk-table__body" {
                    tr class="govuk-table__row" {
                        th scope="row" class="govuk-table__header" {
                            "Involvement started late"
                            span class="govuk-body-s app-block" { "Past commissioning, with nobody with lived experience taking part in it." }
                        }
                        td class="govuk-table__cell govuk-table__cell--numeric" {
                            (share_link(f.attention.involvement_started_late, &list(&[("attention", "involvement_started_late")]), "involvement started late"))
                        }
                    }
                    tr class="govuk-table__row" {
                        th scope="row" class="govuk-table__header" {
                            "Rewards missing"
                            span class="govuk-body-s app-block" { "People with lived experience took part in activities, but too few were rewarded beyond expenses." }
                        }
                        td class="govuk-table__cell govuk-table__cell--numeric" {
                            (share_link(f.attention.rewards_missing, &list(&[("attention", "rewards_missing")]), "rewards missing"))
                        }
                    }
                }
            }
        }
        (csv_link(&csv, "every figure of this section"))
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of projects by stage" {
            table class="govuk-table" id="stages-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Open and closed projects by the latest stage reached" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Stage" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Open" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Closed" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for s in &f.projects.by_stage {
                        @let name = if s.stage == "none" { "No stage started" } else { words::stage(&s.stage) };
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" { (name) }
                            td class="govuk-table__cell govuk-table__cell--numeric" {
                                (count_link(s.open, &list(&[("stage", &s.stage), ("status", "open")]), &format!("{name}, open")))
                            }
                            td class="govuk-table__cell govuk-table__cell--numeric" {
                                (count_link(s.closed, &list(&[("stage", &s.stage), ("status", "closed")]), &format!("{name}, closed")))
                            }
                        }
                    }
                }
            }
        }
        (csv_link(&csv, "every figure of this section"))
    }
}

fn over_time(filters: &Filters, when: When, trend: &Trend) -> Markup {
    let periods = match trend.every {
        Every::Quarter => "quarter",
        Every::Month => "month",
    };
    let csv = format!("/portfolio/trend.csv?{}", filters.query(when, &[]));
    html! {
        h2 class="govuk-heading-l" id="over-time" { "Over time" }
        p class="govuk-body" {
            "The share of projects meeting each point of the test at the end of each " (periods)
            ", counting only what had been recorded by then: a correction recorded later does not change an earlier " (periods) ". "
            "Striped columns are a " (periods) " still under way."
        }
        (hatch())
        @for (c, criterion) in rubric::latest().rubric.criteria.iter().enumerate() {
            h3 class="govuk-heading-m" id={ "trend-" (criterion.key) } { (c + 1) ". " (criterion.title) }
            div class="app-chart-wrapper" tabindex="0" role="group" aria-label={ (criterion.title) " over time, as a chart" } { (trend_chart(trend, c, &criterion.key, &criterion.title)) }
            div class="app-table-wrapper" tabindex="0" role="group" aria-label={ (criterion.title) " over time, as a table" } {
                table class="govuk-table app-trend-table" {
                    caption class="govuk-table__caption govuk-table__caption--s" { (criterion.title) ": projects meeting it, by " (periods) }
                    thead class="govuk-table__head" {
                        tr class="govuk-table__row" {
                            th scope="col" class="govuk-table__header" { (words::field(periods)) }
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Met" }
                            th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Projects" }
                        }
                    }
                    tbody class="govuk-table__body" {
                        @for period in &trend.periods {
                            @let day = period.as_of.as_deref().and_then(|t| t.get(..10)).filter(|_| period.complete);
                            @let day = period.happened_by.map(|d| d.to_string()).or(day.map(str::to_string)).filter(|_| period.complete);
                            @let day = day.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
                            @let at = match (day, period.happened_by) { (Some(d), Some(_)) => When::HappenedBy(d), (Some(d), None) => When::EndOf(d), (None, _) => When::Now };
                            @let met = period.figures.criteria.get(c).map(|f| f.met).unwrap_or(Share::of(0, 0));
                            tr class="govuk-table__row" {
                                th scope="row" class="govuk-table__header" {
                                    (period.period)
                                    @if !period.complete { span class="govuk-body-s app-block" { "under way" } }
                                }
                                td class="govuk-table__cell govuk-table__cell--numeric" {
                                    (share_link(met, &format!("/portfolio/projects?{}", filters.query(at, &[("criterion", &criterion.key), ("rating", "met")])),
                                        &format!("{} met, {}", criterion.title, period.period)))
                                }
                                td class="govuk-table__cell govuk-table__cell--numeric" { (period.figures.projects.total) }
                            }
                        }
                    }
                }
            }
        }
        (csv_link(&csv, "every figure of every period"))
    }
}

fn organisations_table(
    filters: &Filters,
    when: When,
    comparison: &Comparison,
    names: &BTreeMap<String, String>,
) -> Markup {
    let csv = format!("/portfolio/comparison.csv?{}", filters.query(when, &[]));
    html! {
        h2 class="govuk-heading-l" id="organisations" { "Organisations compared" }
        p class="govuk-body" {
            "The share of each organisation's projects meeting each point of the test. Organisations with fewer than "
            (words::count(comparison.minimum_projects as usize, "project", "projects")) " are too few to compare."
        }
        div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table comparing organisations" {
            table class="govuk-table" id="comparison-table" {
                caption class="govuk-table__caption govuk-table__caption--m" { "Projects meeting each point of the test, by organisation" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Organisation" }
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" { "Projects" }
                        th scope="col" class="govuk-table__header" { "Projects meeting each point" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for row in &comparison.organisations {
                        @let scoped = Filters { organisation: Some(row.organisation.clone()), ..filters.clone() };
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" {
                                a class="govuk-link" href={ "/portfolio?" (scoped.query(when, &[])) } { (words::organisation_named(&row.organisation, names)) }
                            }
                            td class="govuk-table__cell govuk-table__cell--numeric" {
                                (count_link(row.projects, &format!("/portfolio/projects?{}", scoped.query(when, &[])), &row.organisation))
                            }
                            td class="govuk-table__cell" {
                                @match &row.figures {
                                    None => { "Too few to compare" }
                                    Some(figures) => {
                                        ul class="govuk-list app-compact-list" {
                                            @for (i, c) in figures.criteria.iter().enumerate() {
                                                li {
                                                    (i + 1) ". " (c.title) ": "
                                                    (share_link(c.met, &format!("/portfolio/projects?{}", scoped.query(when, &[("criterion", &c.key), ("rating", "met")])),
                                                        &format!("{}, {} met", row.organisation, c.title)))
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
        }
        (csv_link(&csv, "organisations compared"))
    }
}

/// The way back from an address the portfolio pages cannot read.
const BACK: (&str, &str) = ("/portfolio", "Go to the portfolio");

/// The filters and cut-off of a request, or the page that says what is wrong with them.
fn read_request(
    state: &AppState,
    viewer: &Viewer,
    query: Option<String>,
) -> Result<(std::collections::HashMap<String, String>, Filters, When), PageError> {
    let query = query_map(query);
    let today = state.today();
    let bad = |message: String| PageError::bad_address(&message, Some(BACK), viewer);
    let filters = Filters::read(&query).map_err(bad)?;
    let when = when_of(&query, today).map_err(|message| bad(format!("{message}.")))?;
    Ok((query, filters, when))
}

/// `GET /portfolio/projects`: the projects behind one figure.
pub async fn projects(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer) = (&state, &viewer);
    let (query, filters, when) = read_request(state, viewer, query)?;
    let selector = Selector::read(&query)
        .map_err(|message| PageError::bad_address(&message, Some(BACK), viewer))?;
    let (portfolio, projects) =
        portfolio_of(state, &viewer.caller(), &portfolio_query(&filters, when))
            .await
            .map_err(|e| PageError::from_app(e, viewer))?;
    let mut chosen: Vec<&ProjectFigures> =
        projects.iter().filter(|p| selector.selects(p)).collect();
    chosen.sort_by(|a, b| {
        (a.title.to_lowercase(), a.project_id).cmp(&(b.title.to_lowercase(), b.project_id))
    });
    let criteria = &rubric::latest().rubric.criteria;
    let as_of_link = when
        .link_query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let csv = format!("/portfolio/projects.csv?{}", {
        let mut pairs: Vec<(String, String)> =
            query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort();
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    });
    let body = html! {
        span class="govuk-caption-l" { "Portfolio" }
        h1 class="govuk-heading-l" { (selector.words()) }
        p class="govuk-body" {
            (chosen.len()) " of " (words::count(portfolio.figures.projects.total as usize, "project", "projects"))
            @if let Some(o) = &filters.organisation { " of " (o) }
            @if let Some(s) = &filters.service_area { " in " (s) }
            ", " @match when { When::Now => "as recorded now", When::EndOf(day) => { "as recorded by the end of " (words::date(day)) }, When::HappenedBy(day) => { "by what had happened by the end of " (words::date(day)) } } "."
        }
        p class="govuk-body" { a class="govuk-link" href={ "/portfolio?" (filters.query(when, &[])) } { "Back to the portfolio" } }
        @if chosen.is_empty() {
            div class="govuk-inset-text" { "No project." }
        } @else {
            div class="app-table-wrapper" tabindex="0" role="group" aria-label="Table of the projects" {
                table class="govuk-table" id="projects-table" {
                    caption class="govuk-table__caption govuk-table__caption--m" { "Projects" }
                    thead class="govuk-table__head" {
                        tr class="govuk-table__row" {
                            th scope="col" class="govuk-table__header" { "Project" }
                            th scope="col" class="govuk-table__header" { "Organisation" }
                            th scope="col" class="govuk-table__header" { "Service area" }
                            th scope="col" class="govuk-table__header" { "Status" }
                            th scope="col" class="govuk-table__header" { "Latest stage" }
                            th scope="col" class="govuk-table__header" { "Met" }
                        }
                    }
                    tbody class="govuk-table__body" {
                        @for p in &chosen {
                            tr class="govuk-table__row" {
                                th scope="row" class="govuk-table__header" {
                                    a class="govuk-link" href={ "/projects/" (p.project_id) (as_of_link) } { (p.title) }
                                }
                                td class="govuk-table__cell" { (p.organisation) }
                                td class="govuk-table__cell" { (p.service_area) }
                                td class="govuk-table__cell" { (words::status(p.status())) }
                                td class="govuk-table__cell" { @if p.stage.is_none() { "None" } @else { (words::stage(p.stage_key())) } }
                                td class="govuk-table__cell" {
                                    @let met: Vec<&str> = criteria.iter().zip(&p.ratings)
                                        .filter(|(_, r)| **r == Rating::Met).map(|(c, _)| c.title.as_str()).collect();
                                    @if met.is_empty() { "None of the six" } @else { (met.join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            (csv_link(&csv, "these projects"))
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout_page(
            &format!("{} – Portfolio", selector.words()),
            Some(viewer),
            body,
        ),
    ))
}

fn attachment(body: Vec<u8>, name: &str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn label(filters: &Filters, when: When) -> String {
    let mut label = filters.organisation.clone().unwrap_or_else(|| "all".into());
    if let Some(area) = &filters.service_area {
        label.push('-');
        label.extend(area.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        }));
    }
    label.push('-');
    label.push_str(&when.query().unwrap_or_else(|| "latest".into()));
    label
}

/// `GET /portfolio/figures.csv`: the API's CSV of the portfolio.
pub async fn figures_csv(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (_, filters, when) = read_request(&state, &viewer, query)?;
    let fail = |e: AppError| PageError::from_app(e, &viewer);
    let (portfolio, _) = portfolio_of(&state, &viewer.caller(), &portfolio_query(&filters, when))
        .await
        .map_err(fail)?;
    let body = portfolio.csv().map_err(fail)?;
    Ok(attachment(
        body,
        &format!("coprod-portfolio-{}.csv", label(&filters, when)),
    ))
}

/// `GET /portfolio/trend.csv`: the API's CSV of the trend.
pub async fn trend_csv(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (_, filters, when) = read_request(&state, &viewer, query)?;
    let fail = |e: AppError| PageError::from_app(e, &viewer);
    let trend = trend_of(&state, &viewer.caller(), &trend_query(&filters, when))
        .await
        .map_err(fail)?;
    let body = trend.csv().map_err(fail)?;
    Ok(attachment(
        body,
        &format!(
            "coprod-portfolio-trend-{}-{}.csv",
            filters.every.as_str(),
            label(&filters, when)
        ),
    ))
}

/// `GET /portfolio/comparison.csv`: the API's CSV of the comparison.
pub async fn comparison_csv(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (_, filters, when) = read_request(&state, &viewer, query)?;
    let fail = |e: AppError| PageError::from_app(e, &viewer);
    let comparison = comparison_of(&state, &viewer.caller(), &comparison_query(&filters, when))
        .await
        .map_err(fail)?;
    let body = comparison.csv().map_err(fail)?;
    Ok(attachment(
        body,
        &format!("coprod-organisations-{}.csv", label(&filters, when)),
    ))
}

/// `GET /portfolio/projects.csv`: the projects behind one figure.
pub async fn projects_csv(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (query, filters, when) = read_request(&state, &viewer, query)?;
    let selector = Selector::read(&query)
        .map_err(|message| PageError::bad_address(&message, None, &viewer))?;
    let fail = |e: AppError| PageError::from_app(e, &viewer);
    let (_, projects) = portfolio_of(&state, &viewer.caller(), &portfolio_query(&filters, when))
        .await
        .map_err(fail)?;
    let criteria = &rubric::latest().rubric.criteria;
    let mut header: Vec<String> = [
        "project_id",
        "title",
        "organisation",
        "service_area",
        "status",
        "stage",
        "as_of",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(criteria.iter().map(|c| c.key.clone()));
    header.push("involvement_started_late".into());
    header.push("rewards_missing".into());
    let rows: Vec<Vec<String>> = projects
        .iter()
        .filter(|p| selector.selects(p))
        .map(|p| {
            let mut row = vec![
                p.project_id.to_string(),
                p.title.clone(),
                p.organisation.clone(),
                p.service_area.clone(),
                p.status().to_string(),
                p.stage_key().to_string(),
                p.as_of.clone(),
            ];
            row.extend(p.ratings.iter().map(|r| r.as_str().to_string()));
            row.push(p.started_late.to_string());
            row.push(p.rewards_missing.to_string());
            row
        })
        .collect();
    let body = csv_bytes(&header, &rows).map_err(fail)?;
    Ok(attachment(
        body,
        &format!("coprod-projects-{}.csv", label(&filters, when)),
    ))
}
