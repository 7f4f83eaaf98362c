//! The portfolio's figures: how many of a set of projects meet each criterion and indicator of
//! the rubric, how many are open and closed at each stage, and where involvement started late or
//! rewards were missing — as recorded by a moment, and at the end of each quarter or month.
//!
//! Pure functions of the projects' assessments at a cut-off ([`crate::store::ProjectAt`], from
//! the one function every assessment goes through); the portfolio's questions
//! ([`super`]) choose the projects and the cut-offs. Everything is ordered (rubric order,
//! lifecycle order, names), and per cents are whole numbers rounded down, so the same question
//! gives the same bytes.
//!
//! Every count here is a count of projects, not of people, so none is hidden (the rule that hides
//! small counts is about people: see `docs/privacy.md`).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use coprod_domain::assessment::{Disclosure, EvidenceState, IndicatorResult, Rating};
use coprod_domain::rubric::PublishedRubric;
use coprod_domain::Stage;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::moment::end_of_day;
use crate::store::ProjectAt;

/// The fewest projects an organisation needs to be compared with others.
pub const MIN_PROJECTS_TO_COMPARE: u64 = 3;
/// The most period ends a trend may ask for.
pub const MAX_PERIODS: usize = 120;
/// How many periods a trend covers when `from` is not given.
pub const DEFAULT_PERIODS: u32 = 12;

/// A number of projects and its whole per cent of the projects counted (rounded down; `null`
/// when there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub count: u64,
    pub per_cent: Option<u64>,
}

impl Share {
    pub fn of(count: u64, total: u64) -> Share {
        Share {
            count,
            per_cent: (total > 0).then(|| count * 100 / total),
        }
    }
}

/// How many projects are open and closed with this as the latest stage reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StageCount {
    /// `commission`, `design`, `deliver`, `assess`, or `none` (no stage started yet).
    pub stage: String,
    pub open: u64,
    pub closed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProjectCounts {
    /// Projects registered by then.
    pub total: u64,
    pub open: u64,
    pub closed: u64,
    /// By the latest stage each had reached, in lifecycle order, then `none`.
    pub by_stage: Vec<StageCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IndicatorFigures {
    pub key: String,
    pub title: String,
    /// Projects meeting the indicator.
    pub met: Share,
    /// Version 2 on: projects where the indicator was judged and not met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_met: Option<Share>,
    /// Version 2 on: projects with nothing to judge yet (no failure reviewed, no reward due).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<Share>,
    /// Version 2 on: projects that never recorded the facts the indicator needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_recorded: Option<Share>,
    /// Version 2 on, for readers who may not see personal data: projects where the indicator is
    /// not shown to them, since the groups of fewer than five people decide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_shown: Option<Share>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CriterionFigures {
    pub key: String,
    pub title: String,
    pub met: Share,
    pub partly_met: Share,
    pub not_met: Share,
    /// Version 2 on: projects none of whose indicators of this criterion could be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insufficient_evidence: Option<Share>,
    pub indicators: Vec<IndicatorFigures>,
}

/// Where co-production fell short in ways a panel asks about first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Attention {
    /// Projects past the commissioning stage in which no person with lived experience took part
    /// in commissioning (`from_the_start` not met; under version 2, judged and not met: a
    /// commission stage never recorded is not counted).
    pub involvement_started_late: Share,
    /// Projects where people with lived experience took part in activities but too few of them
    /// were rewarded beyond expenses (`rewarded_beyond_expenses` not met).
    pub rewards_missing: Share,
}

/// The figures of a set of projects at one cut-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub projects: ProjectCounts,
    /// In rubric order.
    pub criteria: Vec<CriterionFigures>,
    pub attention: Attention,
}

/// What the portfolio needs of one project at one cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFigures {
    pub project_id: Uuid,
    pub title: String,
    pub organisation: String,
    pub service_area: String,
    pub closed: bool,
    /// The latest stage reached (started), if any.
    pub stage: Option<Stage>,
    /// Per criterion, in rubric order.
    pub ratings: Vec<Rating>,
    /// Per criterion, per indicator, in rubric order: what the evidence says (under version 1,
    /// met or not met).
    pub indicators: Vec<Vec<EvidenceState>>,
    pub started_late: bool,
    pub rewards_missing: bool,
    /// The assessment's `as_of`.
    pub as_of: String,
}

impl ProjectFigures {
    pub fn of(at: &ProjectAt) -> ProjectFigures {
        let assessment = &at.assessment;
        let summary = &at.summary;
        let indicator = |criterion: &str, indicator: &str| {
            assessment
                .criteria
                .iter()
                .find(|c| c.key == criterion)
                .and_then(|c| c.indicators.iter().find(|i| i.key == indicator))
        };
        let stage = summary.stages.last().map(|span| span.stage);
        let past_commission = stage.is_some_and(|s| s != Stage::Commission);
        let started_late = past_commission
            && indicator("whole_life_involvement", "from_the_start")
                .is_some_and(|i| state_of(i) == EvidenceState::NotMet);
        // Under version 1 the indicator's evidence is the activities people with lived
        // experience took part in: none means there was nobody to reward yet. Version 2 says so
        // itself (not applicable).
        let rewards_missing = indicator("reciprocal_reward", "rewarded_beyond_expenses")
            .is_some_and(|i| match i.state {
                Some(state) => state == EvidenceState::NotMet,
                None => !i.met && !i.evidence.is_empty(),
            });
        ProjectFigures {
            project_id: assessment.project_id,
            title: summary.title.clone(),
            organisation: summary.organisation.clone(),
            service_area: summary.service_area.clone(),
            closed: summary.status == "closed",
            stage,
            ratings: assessment.criteria.iter().map(|c| c.rating).collect(),
            indicators: assessment
                .criteria
                .iter()
                .map(|c| c.indicators.iter().map(state_of).collect())
                .collect(),
            started_late,
            rewards_missing,
            as_of: assessment.as_of.clone(),
        }
    }

    /// What the evidence says of indicator `indicator` of criterion `criterion` (rubric order).
    pub fn state_of(&self, criterion: usize, indicator: usize) -> Option<EvidenceState> {
        self.indicators
            .get(criterion)
            .and_then(|states| states.get(indicator))
            .copied()
    }

    /// `commission` … `assess`, or `none`.
    pub fn stage_key(&self) -> &'static str {
        self.stage.map_or("none", Stage::as_str)
    }

    pub fn status(&self) -> &'static str {
        if self.closed {
            "closed"
        } else {
            "open"
        }
    }
}

/// What the evidence says of an indicator: its state from version 2 on; under version 1, met
/// or not met.
fn state_of(indicator: &IndicatorResult) -> EvidenceState {
    match indicator.state {
        Some(state) => state,
        None if indicator.met => EvidenceState::Met,
        None => EvidenceState::NotMet,
    }
}

/// The stage keys in the order figures list them.
pub const STAGE_KEYS: [&str; 5] = ["commission", "design", "deliver", "assess", "none"];

impl Figures {
    /// The figures of `projects` (each assessed under `rubric`, for readers of `disclosure`).
    pub fn of(
        rubric: &PublishedRubric,
        projects: &[ProjectFigures],
        disclosure: Disclosure,
    ) -> Figures {
        let total = projects.len() as u64;
        let count =
            |f: &dyn Fn(&ProjectFigures) -> bool| projects.iter().filter(|p| f(p)).count() as u64;
        let closed = count(&|p| p.closed);
        let by_stage = STAGE_KEYS
            .iter()
            .map(|key| StageCount {
                stage: key.to_string(),
                open: count(&|p| p.stage_key() == *key && !p.closed),
                closed: count(&|p| p.stage_key() == *key && p.closed),
            })
            .collect();
        // Version 1's figures are as they always were; version 2 adds what it can say.
        let with_states = rubric.rubric.version >= 2;
        let criteria = rubric
            .rubric
            .criteria
            .iter()
            .enumerate()
            .map(|(c, criterion)| {
                let rated = |rating: Rating| {
                    Share::of(count(&|p| p.ratings.get(c) == Some(&rating)), total)
                };
                CriterionFigures {
                    key: criterion.key.clone(),
                    title: criterion.title.clone(),
                    met: rated(Rating::Met),
                    partly_met: rated(Rating::PartlyMet),
                    not_met: rated(Rating::NotMet),
                    insufficient_evidence: with_states.then(|| rated(Rating::InsufficientEvidence)),
                    indicators: criterion
                        .indicators
                        .iter()
                        .enumerate()
                        .map(|(i, indicator)| {
                            let in_state = |state: EvidenceState| {
                                Share::of(count(&|p| p.state_of(c, i) == Some(state)), total)
                            };
                            IndicatorFigures {
                                key: indicator.key.clone(),
                                title: indicator.title.clone(),
                                met: in_state(EvidenceState::Met),
                                not_met: with_states.then(|| in_state(EvidenceState::NotMet)),
                                not_applicable: with_states
                                    .then(|| in_state(EvidenceState::NotApplicable)),
                                not_recorded: with_states
                                    .then(|| in_state(EvidenceState::NotRecorded)),
                                not_shown: (with_states && disclosure == Disclosure::Protected)
                                    .then(|| in_state(EvidenceState::NotShown)),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Figures {
            projects: ProjectCounts {
                total,
                open: total - closed,
                closed,
                by_stage,
            },
            criteria,
            attention: Attention {
                involvement_started_late: Share::of(count(&|p| p.started_late), total),
                rewards_missing: Share::of(count(&|p| p.rewards_missing), total),
            },
        }
    }
}

/// The latest `as_of` of the projects' assessments (text order is time order), if any.
pub fn latest_as_of(projects: &[ProjectFigures]) -> Option<String> {
    projects.iter().map(|p| p.as_of.clone()).max()
}

/// The length of a trend's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    #[default]
    Quarter,
    Month,
}

impl Every {
    pub fn as_str(self) -> &'static str {
        match self {
            Every::Quarter => "quarter",
            Every::Month => "month",
        }
    }

    fn months(self) -> u32 {
        match self {
            Every::Quarter => 3,
            Every::Month => 1,
        }
    }

    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        let month0 = day.month0() / self.months() * self.months();
        NaiveDate::from_ymd_opt(day.year(), month0 + 1, 1).unwrap_or(day)
    }

    /// `2025-Q1` or `2025-01`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Every::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Every::Month => start.format("%Y-%m").to_string(),
        }
    }

    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        start.checked_add_months(Months::new(self.months()))
    }

    /// The start of the period `n` periods before the one holding `day`.
    pub fn back(self, day: NaiveDate, n: u32) -> Option<NaiveDate> {
        self.start_of(day)
            .checked_sub_months(Months::new(self.months() * n))
    }
}

/// One point of a trend: a period and the moment its figures are taken at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodEnd {
    pub label: String,
    pub start: NaiveDate,
    /// The period's last day.
    pub end: NaiveDate,
    /// The end of the period's last day (UTC), or the trend's end if that comes first; `None`:
    /// everything recorded so far (the period under way, when no end was asked for).
    pub at: Option<DateTime<Utc>>,
    /// Whether the period had ended by then.
    pub complete: bool,
}

/// Why a trend's periods cannot be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    FromAfterTo,
    TooMany(usize),
}

/// The period ends from `from` to `to` (each inclusive): the end of every period that ends in
/// between, then — if `to` falls inside a period — that period, taken at `to` (or, when `to`
/// is `None`, at everything recorded so far, `today` being its day).
pub fn period_ends(
    every: Every,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    today: NaiveDate,
) -> Result<Vec<PeriodEnd>, PeriodError> {
    if to.is_some_and(|to| from > to) {
        return Err(PeriodError::FromAfterTo);
    }
    let last_day = to.map_or(today, |to| to.date_naive());
    let mut points = Vec::new();
    let mut start = every.start_of(from.date_naive());
    while start <= last_day {
        let next = every
            .next(start)
            .ok_or(PeriodError::TooMany(points.len()))?;
        let end = next.pred_opt().unwrap_or(start);
        let end_instant = end_of_day(end);
        let (at, complete) = match to {
            Some(to) if end_instant <= to => (Some(end_instant), true),
            Some(to) => (Some(to), false),
            None if end < today => (Some(end_instant), true),
            None => (None, false),
        };
        points.push(PeriodEnd {
            label: every.label(start),
            start,
            end,
            at,
            complete,
        });
        if points.len() > MAX_PERIODS {
            return Err(PeriodError::TooMany(count_periods(every, start, last_day)));
        }
        if !complete {
            break;
        }
        start = next;
    }
    Ok(points)
}

fn count_periods(every: Every, from: NaiveDate, to: NaiveDate) -> usize {
    let months = (to.year() - from.year()) * 12 + to.month0() as i32 - from.month0() as i32;
    MAX_PERIODS + 1 + (months.max(0) as usize) / every.months() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn shares_are_whole_per_cents_rounded_down() {
        assert_eq!(Share::of(2, 3).per_cent, Some(66));
        assert_eq!(Share::of(0, 0).per_cent, None);
        assert_eq!(Share::of(3, 3).per_cent, Some(100));
    }

    #[test]
    fn quarters_and_months() {
        assert_eq!(Every::Quarter.start_of(day(2025, 5, 17)), day(2025, 4, 1));
        assert_eq!(Every::Quarter.label(day(2025, 4, 1)), "2025-Q2");
        assert_eq!(Every::Month.label(day(2025, 4, 1)), "2025-04");
        assert_eq!(
            Every::Quarter.back(day(2025, 5, 17), 11),
            Some(day(2022, 7, 1))
        );
    }

    #[test]
    fn period_ends_stop_at_to_with_a_partial_last_period() {
        let points = period_ends(
            Every::Quarter,
            end_of_day(day(2025, 1, 1)),
            Some(end_of_day(day(2025, 5, 17))),
            day(2025, 6, 1),
        )
        .unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].label, "2025-Q1");
        assert_eq!(points[0].at, Some(end_of_day(day(2025, 3, 31))));
        assert!(points[0].complete);
        assert_eq!(points[1].at, Some(end_of_day(day(2025, 5, 17))));
        assert!(!points[1].complete);
    }

    #[test]
    fn a_to_at_a_period_end_adds_no_partial_period() {
        let points = period_ends(
            Every::Month,
            end_of_day(day(2025, 1, 31)),
            Some(end_of_day(day(2025, 3, 31))),
            day(2025, 6, 1),
        )
        .unwrap();
        let labels: Vec<&str> = points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2025-01", "2025-02", "2025-03"]);
        assert!(points.iter().all(|p| p.complete));
    }

    #[test]
    fn without_to_the_period_under_way_is_everything_so_far() {
        let points = period_ends(
            Every::Quarter,
            end_of_day(day(2025, 1, 1)),
            None,
            day(2025, 4, 2),
        )
        .unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].at, None);
        assert!(!points[1].complete);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert_eq!(
            period_ends(
                Every::Month,
                end_of_day(day(2025, 3, 1)),
                Some(end_of_day(day(2025, 2, 1))),
                day(2025, 6, 1)
            ),
            Err(PeriodError::FromAfterTo)
        );
        assert!(matches!(
            period_ends(
                Every::Month,
                end_of_day(day(1990, 1, 1)),
                Some(end_of_day(day(2025, 2, 1))),
                day(2025, 6, 1)
            ),
            Err(PeriodError::TooMany(n)) if n > MAX_PERIODS
        ));
    }
}
