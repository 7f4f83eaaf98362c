//! The engine of rubric version 2: what people with lived experience could influence, with four
//! evidence states per indicator (met, not met, not applicable, not recorded), criterion ratings
//! over the indicators that can be judged, a cap for unshared stops, the ladder of participation,
//! flags and a headline. Version 1's engine is untouched beside it.
//!
//! A pure function of (active entries, rubric): the same question gives the same bytes. Texts
//! never name a participant nor show a count of people below five.

mod boundaries;
mod diversity;
mod facts;
mod involvement;
mod ladder;
mod responsibility;
mod reward;
mod valuation;
mod words;

use crate::assessment::{
    AssessError, CriterionResult, Disclosure, EvidenceState, IndicatorResult, Overall, Rating,
    GROUPS_NOT_SHOWN, GROUPS_NOT_SHOWN_VALUE,
};
use crate::events::ProjectRegistered;
use crate::recorded::RecordedEvent;
use crate::rubric::{IndicatorDefinition, Parameters, PublishedRubric};
use crate::words::agrees;

use facts::Facts;
use words::*;

pub use diversity::dimension_of;
pub(super) use words::rung as rung_words;

/// One indicator's verdict before the rubric's wording is added.
pub struct Judged {
    state: EvidenceState,
    value: String,
    explanation: String,
    evidence: Vec<u64>,
}

impl Judged {
    fn new(
        state: EvidenceState,
        value: impl Into<String>,
        explanation: impl Into<String>,
        evidence: impl IntoIterator<Item = u64>,
    ) -> Judged {
        Judged {
            state,
            value: value.into(),
            explanation: explanation.into(),
            evidence: evidence.into_iter().collect(),
        }
    }

    /// Withheld from a reader who may not see personal data: the groups of fewer than five
    /// people decide it. The same whatever their groups are, with no entries (which would count
    /// them).
    fn groups_not_shown() -> Judged {
        Judged::new(
            EvidenceState::NotShown,
            GROUPS_NOT_SHOWN_VALUE,
            GROUPS_NOT_SHOWN,
            [],
        )
    }

    /// Nothing to judge: nobody with lived experience has taken part in any way yet.
    fn nobody_yet() -> Judged {
        Judged::new(
            EvidenceState::NotApplicable,
            "nobody has taken part yet",
            "Nobody with lived experience has taken part yet.",
            [],
        )
    }
}

/// The indicator keys this engine judges, in no particular order.
pub const INDICATORS: &[&str] = &[
    "from_the_start",
    "every_stage",
    "sustained",
    "retention",
    "lived_experience_in_professional_roles",
    "shared_facilitation",
    "learning_both_ways",
    "rewarded_beyond_expenses",
    "fair_rate",
    "session_coverage",
    "preferred_method",
    "development",
    "timely",
    "expenses_on_time",
    "priority_groups_reached",
    "breadth",
    "no_single_group_dominates",
    "adjustments_made",
    "ways_to_take_part",
    "contributions_answered",
    "parity",
    "influence",
    "shared_decisions",
    "changes_shared",
    "accountability_shared",
    "failures_owned",
];

fn judge(key: &str, f: &Facts, p: &Parameters) -> Result<Judged, AssessError> {
    Ok(match key {
        "from_the_start" => involvement::from_the_start(f),
        "every_stage" => involvement::every_stage(f),
        "sustained" => involvement::sustained(f, p),
        "retention" => involvement::retention(f, p),
        "lived_experience_in_professional_roles" => boundaries::professional_roles(f),
        "shared_facilitation" => boundaries::shared_facilitation(f, p),
        "learning_both_ways" => boundaries::learning_both_ways(f),
        "rewarded_beyond_expenses" => reward::rewarded_beyond_expenses(f, p),
        "fair_rate" => reward::fair_rate(f, p),
        "session_coverage" => reward::session_coverage(f, p),
        "preferred_method" => reward::preferred_method(f),
        "development" => reward::development(f),
        "timely" => reward::timely(f, p),
        "expenses_on_time" => reward::expenses_on_time(f, p),
        "priority_groups_reached" => diversity::priority_groups_reached(f),
        "breadth" => diversity::breadth(f, p),
        "no_single_group_dominates" => diversity::no_single_group_dominates(f, p),
        "adjustments_made" => diversity::adjustments_made(f),
        "ways_to_take_part" => diversity::ways_to_take_part(f),
        "contributions_answered" => valuation::contributions_answered(f, p),
        "parity" => valuation::parity(f, p),
        "influence" => valuation::influence(f),
        "shared_decisions" => responsibility::shared_decisions(f, p),
        "changes_shared" => responsibility::changes_shared(f),
        "accountability_shared" => responsibility::accountability_shared(f),
        "failures_owned" => responsibility::failures_owned(f),
        other => return Err(AssessError::UnknownIndicator(other.to_string())),
    })
}

/// The indicator as the assessment gives it, with the rubric's words for what is missing.
fn result(
    definition: &IndicatorDefinition,
    judged: Judged,
) -> Result<IndicatorResult, AssessError> {
    let missing_evidence = match judged.state {
        EvidenceState::Met | EvidenceState::NotShown => None,
        state => Some(
            definition
                .missing_evidence
                .as_ref()
                .and_then(|texts| texts.get(state.as_str()))
                .cloned()
                .ok_or_else(|| AssessError::MissingWording {
                    indicator: definition.key.clone(),
                    state: state.as_str().to_string(),
                })?,
        ),
    };
    let evidence = super::criteria::ascending_once(judged.evidence);
    Ok(IndicatorResult {
        key: definition.key.clone(),
        met: judged.state == EvidenceState::Met,
        value: judged.value,
        explanation: judged.explanation,
        evidence,
        state: Some(judged.state),
        missing_evidence,
    })
}

/// What version 2 adds up to for one stream: the criteria, the overall verdict and how many
/// participants' data was erased.
pub fn assess(
    registration: &ProjectRegistered,
    registered_at: u64,
    known: &[&RecordedEvent],
    rubric: &PublishedRubric,
    disclosure: Disclosure,
) -> Result<(Vec<CriterionResult>, Overall, u32), AssessError> {
    let p = &rubric.rubric.parameters;
    let facts = Facts::gather(registration, registered_at, known, p);
    let mut criteria = Vec::new();
    for criterion in &rubric.rubric.criteria {
        let mut indicators = Vec::new();
        for definition in &criterion.indicators {
            let withheld = diversity::group_people(&facts, &definition.key)
                .is_some_and(|people| disclosure.withholds_groups_of(people));
            let judged = if withheld {
                Judged::groups_not_shown()
            } else {
                judge(&definition.key, &facts, p)?
            };
            indicators.push(result(definition, judged)?);
        }
        criteria.push(rate(
            &criterion.key,
            &criterion.title,
            &criterion.indicators,
            indicators,
        ));
    }
    let standing = ladder::Standing::of(&criteria);
    let ladder = ladder::ladder(&facts, &standing);
    let flags = ladder::flags(&facts, &ladder);
    let headline = ladder::headline(&facts, &standing, &ladder, &criteria);
    let mut overall = overall(&criteria);
    overall.headline = Some(headline);
    overall.ladder = Some(ladder);
    overall.declared_level = registration.declared_level;
    overall.flags = Some(flags);
    Ok((criteria, overall, facts.participants_erased()))
}

/// The indicators' titles, lower case, for summaries.
fn titles(definitions: &[IndicatorDefinition], indicators: &[&IndicatorResult]) -> String {
    let names: Vec<String> = indicators
        .iter()
        .map(|i| {
            definitions
                .iter()
                .find(|d| d.key == i.key)
                .map_or_else(|| i.key.replace('_', " "), |d| d.title.to_lowercase())
        })
        .collect();
    listed(&names)
}

fn rate(
    key: &str,
    title: &str,
    definitions: &[IndicatorDefinition],
    indicators: Vec<IndicatorResult>,
) -> CriterionResult {
    let with = |state: EvidenceState| -> Vec<&IndicatorResult> {
        indicators
            .iter()
            .filter(|i| i.state == Some(state))
            .collect()
    };
    let (met, not_met) = (with(EvidenceState::Met), with(EvidenceState::NotMet));
    let (not_recorded, not_applicable) = (
        with(EvidenceState::NotRecorded),
        with(EvidenceState::NotApplicable),
    );
    let not_shown = with(EvidenceState::NotShown);
    let total = indicators.len();
    let judged = met.len() + not_met.len();
    let mut summary = Vec::new();
    if !not_shown.is_empty() {
        summary.push(format!(
            "{} not shown, to protect the privacy of fewer than five people: {}.",
            capitalised(&checks(not_shown.len(), total)),
            titles(definitions, &not_shown)
        ));
    }
    if !not_recorded.is_empty() {
        summary.push(format!(
            "{} could not be made, because the facts were not recorded: {}.",
            capitalised(&checks(not_recorded.len(), total)),
            titles(definitions, &not_recorded)
        ));
    }
    if !not_applicable.is_empty() {
        summary.push(format!(
            "{} yet: {}.",
            capitalised(&match not_applicable.len() {
                1 => "one does not apply".to_string(),
                n => format!("{} do not apply", number(n)),
            }),
            titles(definitions, &not_applicable)
        ));
    }
    let mut rating = match (judged, met.len()) {
        (0, _) => Rating::InsufficientEvidence,
        (_, 0) => Rating::NotMet,
        (j, m) if j == m => Rating::Met,
        _ => Rating::PartlyMet,
    };
    let score = (100 * met.len() as u32)
        .checked_div(judged as u32)
        .unwrap_or(0);
    summary.push(match rating {
        Rating::InsufficientEvidence => {
            "Not enough evidence: none of the checks could be made.".to_string()
        }
        Rating::Met if judged == 1 => "Met: the one check that could be made is met.".to_string(),
        Rating::Met => format!(
            "Met: {} checks that could be made are met.",
            of(judged, judged)
        ),
        Rating::NotMet if judged == 1 => {
            "Not met: the one check that could be made is not met.".to_string()
        }
        Rating::NotMet => format!(
            "Not met: none of the {} checks that could be made is met.",
            number(judged)
        ),
        Rating::PartlyMet => format!(
            "Partly met: {} of the {} checks that could be made {} met. Not met: {}.",
            number(met.len()),
            number(judged),
            if met.len() == 1 { "is" } else { "are" },
            titles(definitions, &not_met)
        ),
    });
    let capped = indicators
        .iter()
        .any(|i| i.key == "changes_shared" && i.state == Some(EvidenceState::NotMet));
    let cap = capped.then(|| {
        "Capped at not met: the project was paused, stopped or changed without the people involved, and they were not told first.".to_string()
    });
    if let Some(cap) = &cap {
        if rating != Rating::NotMet {
            if let Some(verdict) = summary.last_mut() {
                let mut chars = verdict.chars();
                let first = chars.next().map(|c| c.to_lowercase().to_string());
                *verdict = format!(
                    "Without the cap, this would be {}{}",
                    first.unwrap_or_default(),
                    chars.as_str()
                );
            }
        }
        rating = Rating::NotMet;
        summary.push(cap.clone());
    }
    CriterionResult {
        key: key.to_string(),
        title: title.to_string(),
        rating,
        score,
        summary: summary.join(" "),
        indicators,
        cap,
    }
}

/// "two of the four checks", "all four checks", "the one check".
fn checks(k: usize, n: usize) -> String {
    match (k, n) {
        (1, 1) => "the one check".to_string(),
        (k, n) if k == n => format!("all {} checks", number(n)),
        (k, n) => format!("{} of the {} checks", number(k), number(n)),
    }
}

fn overall(criteria: &[CriterionResult]) -> Overall {
    let count = |rating| criteria.iter().filter(|c| c.rating == rating).count();
    let (met, partly_met, not_met, unjudged) = (
        count(Rating::Met),
        count(Rating::PartlyMet),
        count(Rating::NotMet),
        count(Rating::InsufficientEvidence),
    );
    let is_are = |n: usize| agrees(n, "is", "are");
    let mut parts = Vec::new();
    if met > 0 {
        parts.push(format!("{} {} met", number(met), is_are(met)));
    }
    if partly_met > 0 {
        parts.push(format!(
            "{} {} partly met",
            number(partly_met),
            is_are(partly_met)
        ));
    }
    if not_met > 0 {
        parts.push(format!("{} {} not met", number(not_met), is_are(not_met)));
    }
    if unjudged > 0 {
        parts.push(format!("{} cannot be judged yet", number(unjudged)));
    }
    let mut summary = if unjudged == criteria.len() {
        format!("None of the {} points can be judged yet.", number(unjudged))
    } else if met == criteria.len() {
        format!("All {} points are met.", number(met))
    } else {
        format!(
            "Of the {} points, {}.",
            number(criteria.len()),
            listed(&parts)
        )
    };
    let named = |rating| -> Vec<String> {
        criteria
            .iter()
            .filter(|c| c.rating == rating)
            .map(|c| c.title.clone())
            .collect()
    };
    let missing = named(Rating::NotMet);
    if !missing.is_empty() {
        summary.push_str(&format!(" Not met: {}.", listed(&missing)));
    }
    let unknown = named(Rating::InsufficientEvidence);
    if !unknown.is_empty() && unjudged < criteria.len() {
        summary.push_str(&format!(" Not enough recorded: {}.", listed(&unknown)));
    }
    Overall {
        met: met as u32,
        partly_met: partly_met as u32,
        not_met: not_met as u32,
        summary,
        insufficient_evidence: Some(unjudged as u32),
        headline: None,
        ladder: None,
        declared_level: None,
        flags: None,
    }
}
