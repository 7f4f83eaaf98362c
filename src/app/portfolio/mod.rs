//! The portfolio: co-production across an organisation's projects (or, for those who may see
//! every organisation, across all of them), now, as recorded by a past moment, and at the end of
//! each quarter or month; and the comparison of organisations. The API and the pages ask the
//! same questions here, with the caller's rights.
//!
//! Each project is assessed through [`super::assess::assess_at`], the one way every assessment
//! is given, at every cut-off asked for (its entries are read once); the figures are counted by
//! [`figures`]. The same question gives the same answer, byte for byte ([`csv`] for its CSV).

pub mod csv;
pub mod figures;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use coprod_domain::assessment::{AssessError, Cutoff, Disclosure, RubricReference, ENGINE};
use coprod_domain::recorded::format_instant;
use coprod_domain::rubric::PublishedRubric;
use serde::{Deserialize, Serialize};

use self::figures::{
    latest_as_of, period_ends, Every, Figures, PeriodError, ProjectFigures, DEFAULT_PERIODS,
    MAX_PERIODS, MIN_PROJECTS_TO_COMPARE,
};
use super::assess::{self, assess_at, find_rubric, recorded};
use super::caller::{Caller, ALL_ORGANISATIONS, ANYONE};
use super::moment::{end_of_day, past_day, past_instant, start_of_day};
use super::{AppError, AppState};
use crate::store::AccessRole;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioQuery {
    pub organisation: Option<String>,
    pub service_area: Option<String>,
    pub as_of: Option<String>,
    /// A day: count what had happened by its end, by the facts' own dates.
    pub happened_by: Option<String>,
    pub rubric: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    pub organisation: Option<String>,
    pub service_area: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub every: Option<Every>,
    /// A day: periods up to its end, each counting what had happened by the period's end, by
    /// the facts' own dates, as known now (not with `to`).
    pub happened_by: Option<String>,
    pub rubric: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonQuery {
    pub service_area: Option<String>,
    pub as_of: Option<String>,
    /// A day: count what had happened by its end, by the facts' own dates.
    pub happened_by: Option<String>,
    pub rubric: Option<String>,
}

/// The portfolio at one moment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Portfolio {
    /// The organisation, or `*` for every organisation.
    pub organisation: String,
    pub service_area: Option<String>,
    /// As recorded by this instant; without `as_of`, the latest entry of the projects counted
    /// (`null` when there are none).
    pub as_of: Option<String>,
    /// Asked by when things happened: the day by whose end the facts counted had happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    pub rubric: RubricReference,
    pub engine: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One period of a trend.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendPeriod {
    /// `2025-Q1` or `2025-01`.
    pub period: String,
    pub start: String,
    pub end: String,
    /// The moment the figures were taken at: the end of the period's last day (UTC), or the
    /// trend's `to` when it falls inside the period; for the period under way when no `to` was
    /// given, the latest entry counted.
    pub as_of: Option<String>,
    /// In a trend by when things happened: the day by whose end the facts counted had happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    /// Whether the period had ended by `as_of`.
    pub complete: bool,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The portfolio at the end of each period, each replayed as recorded by then.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub organisation: String,
    pub service_area: Option<String>,
    pub every: Every,
    /// The first day of the first period.
    pub from: String,
    /// The `to` asked for (as an instant), or `null`: up to everything recorded so far.
    pub to: Option<String>,
    /// Asked by when things happened: the last day counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    pub rubric: RubricReference,
    pub engine: String,
    pub periods: Vec<TrendPeriod>,
}

/// One organisation in a comparison.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationFigures {
    pub organisation: String,
    /// Projects registered by then.
    pub projects: u64,
    /// Fewer than `minimum_projects`: no figures are given.
    pub too_few_to_compare: bool,
    pub figures: Option<Figures>,
}

/// Organisations side by side.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub service_area: Option<String>,
    pub as_of: Option<String>,
    /// Asked by when things happened: the day by whose end the facts counted had happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    pub rubric: RubricReference,
    pub engine: String,
    pub minimum_projects: u64,
    /// By organisation name.
    pub organisations: Vec<OrganisationFigures>,
}

/// How many projects are read and replayed at once.
const CONCURRENT_PROJECTS: usize = 4;

/// Which projects a question covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every organisation.
    pub organisation: Option<String>,
    pub service_area: Option<String>,
}

impl Scope {
    /// The scope `organisation` and `service_area` ask for, as the caller may see it: their own
    /// organisation by default; every organisation (or any one) only for `*` tokens.
    pub fn of(
        caller: &Caller,
        organisation: Option<&str>,
        service_area: Option<&str>,
    ) -> Result<Scope, AppError> {
        let own = caller.0.organisation.as_str();
        let organisation = match organisation.map(str::trim) {
            Some("") => {
                return Err(AppError::malformed(
                    "validation_failed",
                    "organisation must not be empty: leave it out for your own organisation.",
                )
                .at("organisation", "empty"))
            }
            Some(ALL_ORGANISATIONS) | None if own == ALL_ORGANISATIONS => None,
            None => Some(own.to_string()),
            Some(asked) if caller.sees(asked) => Some(asked.to_string()),
            Some(_) => {
                return Err(AppError::forbidden(format!(
                    "You may see the portfolio of your own organisation only: this token is for \"{own}\"."
                ))
                .at("organisation", "not your organisation"))
            }
        };
        let service_area = match service_area.map(str::trim) {
            Some("") => {
                return Err(AppError::malformed(
                    "validation_failed",
                    "service_area must not be empty: leave it out for every service area.",
                )
                .at("service_area", "empty"))
            }
            other => other.map(str::to_string),
        };
        Ok(Scope {
            organisation,
            service_area,
        })
    }

    fn organisation_name(&self) -> String {
        self.organisation
            .clone()
            .unwrap_or_else(|| ALL_ORGANISATIONS.to_string())
    }
}

fn reference(rubric: &PublishedRubric) -> RubricReference {
    RubricReference {
        id: rubric.rubric.id.clone(),
        version: rubric.rubric.version,
        digest: rubric.digest,
    }
}

/// The projects of `scope` at each cut-off (those registered by then), by project id, assessed
/// as readers of `disclosure` may be given them.
pub async fn facts_at(
    state: &AppState,
    scope: &Scope,
    cutoffs: &[Cutoff],
    rubric: &'static PublishedRubric,
    disclosure: Disclosure,
) -> Result<Vec<Vec<ProjectFigures>>, AppError> {
    // Projects registered by the latest moment asked about; every project when any cut-off is
    // as known now.
    let registered_by = cutoffs
        .iter()
        .map(|c| match c {
            Cutoff::AsOf(instant)
            | Cutoff::HappenedBy {
                known_at: Some(instant),
                ..
            } => Some(format_instant(*instant)),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()
        .and_then(|moments| moments.into_iter().max());
    let projects = state
        .store
        .portfolio_projects(
            scope.organisation.as_deref(),
            scope.service_area.as_deref(),
            registered_by.as_deref(),
        )
        .await?;
    // Several projects are read and replayed at once; their answers are put back in id order.
    let shared: Arc<[Cutoff]> = cutoffs.into();
    let mut answers: Vec<Option<Vec<Option<ProjectFigures>>>> = vec![None; projects.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < projects.len() || !tasks.is_empty() {
        while tasks.len() < CONCURRENT_PROJECTS && next < projects.len() {
            let (state, cutoffs, id) = (state.clone(), shared.clone(), projects[next].project_id);
            let index = next;
            tasks.spawn(async move {
                let answers = assess_at(&state, id, &cutoffs, rubric, disclosure).await;
                (index, answers)
            });
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, at) = joined.map_err(|e| AppError::internal("portfolio: a task failed", e))?;
        let mut facts = Vec::with_capacity(cutoffs.len());
        for answer in at? {
            // A project that had not started by the day asked about is not yet in the portfolio.
            let answer = match answer {
                Err(AssessError::NotStartedBy { .. }) => Err(AssessError::NothingRecorded),
                other => other,
            };
            facts.push(recorded(answer)?.map(|at| ProjectFigures::of(&at)));
        }
        answers[index] = Some(facts);
    }
    let mut facts: Vec<Vec<ProjectFigures>> = vec![Vec::new(); cutoffs.len()];
    for project in answers.into_iter().flatten() {
        for (i, at) in project.into_iter().enumerate() {
            facts[i].extend(at);
        }
    }
    Ok(facts)
}

/// The portfolio a query asks for, with the projects counted.
pub async fn portfolio_of(
    state: &AppState,
    caller: &Caller,
    query: &PortfolioQuery,
) -> Result<(Portfolio, Vec<ProjectFigures>), AppError> {
    caller.require(ANYONE, "read the portfolio")?;
    let scope = Scope::of(
        caller,
        query.organisation.as_deref(),
        query.service_area.as_deref(),
    )?;
    let rubric = find_rubric(query.rubric.as_deref())?;
    let cutoff = moment(state, query.as_of.as_deref(), query.happened_by.as_deref())?;
    let projects = facts_at(state, &scope, &[cutoff], rubric, caller.disclosure())
        .await?
        .pop()
        .unwrap_or_default();
    let (as_of, happened_by) = answered_at(cutoff, &projects);
    let portfolio = Portfolio {
        organisation: scope.organisation_name(),
        service_area: scope.service_area.clone(),
        as_of,
        happened_by,
        rubric: reference(rubric),
        engine: ENGINE.to_string(),
        figures: Figures::of(rubric, &projects, caller.disclosure()),
    };
    Ok((portfolio, projects))
}

/// The trend a query asks for.
pub async fn trend_of(
    state: &AppState,
    caller: &Caller,
    query: &TrendQuery,
) -> Result<Trend, AppError> {
    caller.require(ANYONE, "read the portfolio")?;
    let scope = Scope::of(
        caller,
        query.organisation.as_deref(),
        query.service_area.as_deref(),
    )?;
    let rubric = find_rubric(query.rubric.as_deref())?;
    let now = state.now();
    let every = query.every.unwrap_or_default();
    let happened_by = match (&query.happened_by, &query.to) {
        (Some(_), Some(_)) => {
            return Err(AppError::malformed(
                "validation_failed",
                "Ask for 'happened_by' or 'to', not both: happened_by is the last day counted.",
            )
            .at("happened_by", "not with to"))
        }
        (Some(text), None) => Some(past_day("happened_by", text, now.date_naive())?),
        (None, _) => None,
    };
    let to = match happened_by {
        Some(day) => Some(end_of_day(day)),
        None => query
            .to
            .as_deref()
            .map(|text| past_instant("to", text, now))
            .transpose()?,
    };
    let from = match &query.from {
        Some(text) => past_instant("from", text, now)?,
        None => {
            let last_day = to.unwrap_or(now).date_naive();
            let first = every
                .back(last_day, DEFAULT_PERIODS - 1)
                .unwrap_or(last_day);
            start_of_day(first)
        }
    };
    let points = period_ends(every, from, to, now.date_naive()).map_err(|e| match e {
        PeriodError::FromAfterTo => AppError::unanswerable(
            "validation_failed",
            "from is after to: ask for a range that starts before it ends.",
        )
        .at("from", "after to"),
        PeriodError::TooMany(n) => AppError::unanswerable(
            "too_many_periods",
            format!(
                "That range holds {n} or more periods; at most {MAX_PERIODS} can be given at once. Ask for a shorter range, or every quarter rather than every month."
            ),
        )
        .at("from", "too far before to"),
    })?;
    let cutoffs: Vec<Cutoff> = points
        .iter()
        .map(|p| match (happened_by, p.at) {
            (Some(_), Some(at)) => Cutoff::HappenedBy {
                by: at.date_naive(),
                known_at: None,
            },
            (_, at) => at.map_or(Cutoff::Latest, Cutoff::AsOf),
        })
        .collect();
    let facts = facts_at(state, &scope, &cutoffs, rubric, caller.disclosure()).await?;
    let periods = points
        .iter()
        .zip(&facts)
        .map(|(point, projects)| TrendPeriod {
            period: point.label.clone(),
            start: point.start.to_string(),
            end: point.end.to_string(),
            as_of: match happened_by {
                Some(_) => latest_as_of(projects),
                None => point.at.map(format_instant),
            }
            .or_else(|| latest_as_of(projects)),
            happened_by: happened_by.and(point.at.map(|at| at.date_naive())),
            complete: point.complete,
            figures: Figures::of(rubric, projects, caller.disclosure()),
        })
        .collect();
    Ok(Trend {
        organisation: scope.organisation_name(),
        service_area: scope.service_area.clone(),
        every,
        from: points
            .first()
            .map(|p| p.start.to_string())
            .unwrap_or_default(),
        to: to.map(format_instant),
        happened_by,
        rubric: reference(rubric),
        engine: ENGINE.to_string(),
        periods,
    })
}

/// Who may compare organisations: administrators, and assurance officers of every organisation.
pub fn may_compare(caller: &Caller) -> bool {
    caller.sees_all() && matches!(caller.0.role, AccessRole::Admin | AccessRole::Assurance)
}

/// The comparison a query asks for.
pub async fn comparison_of(
    state: &AppState,
    caller: &Caller,
    query: &ComparisonQuery,
) -> Result<Comparison, AppError> {
    if !may_compare(caller) {
        return Err(AppError::forbidden(
            "Only administrators and assurance officers of every organisation may compare organisations.",
        ));
    }
    let scope = Scope::of(caller, None, query.service_area.as_deref())?;
    let rubric = find_rubric(query.rubric.as_deref())?;
    let cutoff = moment(state, query.as_of.as_deref(), query.happened_by.as_deref())?;
    let projects = facts_at(state, &scope, &[cutoff], rubric, caller.disclosure())
        .await?
        .pop()
        .unwrap_or_default();
    let (as_of, happened_by) = answered_at(cutoff, &projects);
    let mut by_organisation: BTreeMap<&str, Vec<ProjectFigures>> = BTreeMap::new();
    for project in &projects {
        by_organisation
            .entry(project.organisation.as_str())
            .or_default()
            .push(project.clone());
    }
    let organisations = by_organisation
        .into_iter()
        .map(|(organisation, projects)| {
            let count = projects.len() as u64;
            let too_few = count < MIN_PROJECTS_TO_COMPARE;
            OrganisationFigures {
                organisation: organisation.to_string(),
                projects: count,
                too_few_to_compare: too_few,
                figures: (!too_few).then(|| Figures::of(rubric, &projects, caller.disclosure())),
            }
        })
        .collect();
    Ok(Comparison {
        service_area: scope.service_area.clone(),
        as_of,
        happened_by,
        rubric: reference(rubric),
        engine: ENGINE.to_string(),
        minimum_projects: MIN_PROJECTS_TO_COMPARE,
        organisations,
    })
}

/// The cut-off a portfolio or comparison query names: as recorded by `as_of`, what had happened
/// by `happened_by` (as known at `as_of` when both are given), or everything recorded so far.
fn moment(
    state: &AppState,
    as_of: Option<&str>,
    happened_by: Option<&str>,
) -> Result<Cutoff, AppError> {
    match (as_of, happened_by) {
        (as_of, Some(day)) => assess::happened_by(day, as_of, state.now()),
        (Some(text), None) => Ok(Cutoff::AsOf(past_instant("as_of", text, state.now())?)),
        (None, None) => Ok(Cutoff::Latest),
    }
}

/// What an answer at `cutoff` says it is as of (the moment, or the latest entry counted) and,
/// asked by when things happened, the day.
fn answered_at(cutoff: Cutoff, projects: &[ProjectFigures]) -> (Option<String>, Option<NaiveDate>) {
    match cutoff {
        Cutoff::AsOf(instant) => (Some(format_instant(instant)), None),
        Cutoff::HappenedBy {
            by,
            known_at: Some(instant),
        } => (Some(format_instant(instant)), Some(by)),
        Cutoff::HappenedBy { by, known_at: None } => (latest_as_of(projects), Some(by)),
        _ => (latest_as_of(projects), None),
    }
}
