//! The rubric engine: replays a project's entries, as recorded up to a cut-off, into an assessment
//! against the six-point co-production test (the rubric files in `domain/rubrics/`).
//!
//! A pure function of (entries, rubric, cut-off): the same question gives byte-identical JSON.
//! Everything it builds is ordered (B-tree maps, sorted lists), shares are compared in integers
//! (`100·a ≥ p·b`) and percentages are rounded down.
//!
//! Here: [`assess`] and how indicators add up to criteria and the overall rating. Below it:
//! `types` (what an assessment says, re-exported here), `facts` (the active entries, gathered and
//! indexed once), `criteria` (one module per criterion of the six) and `wording` (the sentences
//! the results are explained in).

mod criteria;
mod facts;
mod types;
mod v2;
mod wording;

pub use crate::rubric::RubricReference;
pub use types::{
    AssessError, Assessment, CriterionResult, Cutoff, EvidenceState, Flag, IndicatorResult, Ladder,
    Overall, Rating,
};
pub use v2::{dimension_of, INDICATORS as VERSION_2_INDICATORS};
pub use wording::SMALL_COUNT;

use crate::events::ProjectEvent;
use crate::recorded::{format_instant, RecordedEvent};
use crate::rubric::PublishedRubric;
use facts::ActiveFacts;

/// The engine's name and version, as every assessment states it.
pub const ENGINE: &str = concat!("coprod ", env!("CARGO_PKG_VERSION"));

/// Replays `entries` (in any order) up to `cutoff` into an assessment under `rubric`.
pub fn assess(
    entries: &[RecordedEvent],
    rubric: &PublishedRubric,
    cutoff: Cutoff,
) -> Result<Assessment, AssessError> {
    let mut ordered: Vec<&RecordedEvent> = entries.iter().collect();
    ordered.sort_by_key(|e| e.sequence);
    let last_sequence = ordered.last().map_or(0, |e| e.sequence);
    let known: Vec<&RecordedEvent> = match cutoff {
        Cutoff::Latest => ordered,
        Cutoff::AtSequence(n) => {
            if n > last_sequence {
                return Err(AssessError::SequenceBeyondEnd {
                    requested: n,
                    last: last_sequence,
                });
            }
            ordered
                .into_iter()
                .take_while(|e| e.sequence <= n)
                .collect()
        }
        Cutoff::AsOf(instant) => ordered
            .into_iter()
            .take_while(|e| e.recorded_at <= instant)
            .collect(),
    };
    let (Some(first), Some(last)) = (known.first(), known.last()) else {
        return Err(AssessError::NothingRecorded);
    };
    let ProjectEvent::ProjectRegistered(registration) = &first.event else {
        return Err(AssessError::NothingRecorded);
    };
    let as_of = match cutoff {
        Cutoff::AsOf(instant) => format_instant(instant),
        Cutoff::Latest | Cutoff::AtSequence(_) => format_instant(last.recorded_at),
    };

    let (criteria, overall, participants_erased) = if rubric.rubric.version >= 2 {
        v2::assess(registration, first.sequence, &known, rubric)?
    } else {
        version_1(registration, first.sequence, &known, rubric)?
    };
    Ok(Assessment {
        project_id: registration.project_id,
        rubric: RubricReference {
            id: rubric.rubric.id.clone(),
            version: rubric.rubric.version,
            digest: rubric.digest,
        },
        as_of,
        at_sequence: last.sequence,
        stream_digest: last.digest,
        engine: ENGINE.to_string(),
        participants_erased,
        criteria,
        overall,
    })
}

/// Version 1's criteria, overall rating and erased participants for the active entries.
fn version_1(
    registration: &crate::events::ProjectRegistered,
    registered_at: u64,
    known: &[&RecordedEvent],
    rubric: &PublishedRubric,
) -> Result<(Vec<CriterionResult>, Overall, u32), AssessError> {
    let facts = ActiveFacts::gather(registration, registered_at, known);
    let p = &rubric.rubric.parameters;
    let mut criteria = Vec::new();
    for criterion in &rubric.rubric.criteria {
        let indicators = criterion
            .indicators
            .iter()
            .map(|indicator| facts.indicator(&indicator.key, p))
            .collect::<Result<Vec<_>, _>>()?;
        criteria.push(rate(&criterion.key, &criterion.title, indicators));
    }
    let overall = overall(&criteria);
    Ok((criteria, overall, facts.participants_erased()))
}

fn rate(key: &str, title: &str, indicators: Vec<IndicatorResult>) -> CriterionResult {
    let total = indicators.len() as u32;
    let met = indicators.iter().filter(|i| i.met).count() as u32;
    let rating = match met {
        0 => Rating::NotMet,
        m if m == total => Rating::Met,
        _ => Rating::PartlyMet,
    };
    let score = (100 * met).checked_div(total).unwrap_or(0);
    let summary = wording::criterion_summary(rating, met, total, &indicators);
    CriterionResult {
        key: key.to_string(),
        title: title.to_string(),
        rating,
        score,
        summary,
        indicators,
        cap: None,
    }
}

fn overall(criteria: &[CriterionResult]) -> Overall {
    let count = |rating| criteria.iter().filter(|c| c.rating == rating).count() as u32;
    let (met, partly_met, not_met) = (
        count(Rating::Met),
        count(Rating::PartlyMet),
        count(Rating::NotMet),
    );
    let titles = |rating| -> Vec<String> {
        criteria
            .iter()
            .filter(|c| c.rating == rating)
            .map(|c| c.title.clone())
            .collect()
    };
    let summary = wording::overall_summary(
        met,
        partly_met,
        not_met,
        criteria.len(),
        &titles(Rating::NotMet),
    );
    Overall {
        met,
        partly_met,
        not_met,
        summary,
        insufficient_evidence: None,
        headline: None,
        ladder: None,
        declared_level: None,
        flags: None,
    }
}
