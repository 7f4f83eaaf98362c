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
mod disclosure;
mod facts;
mod types;
mod v2;
mod voice;
mod wording;

pub use crate::rubric::RubricReference;
pub use disclosure::{
    Disclosure, COUNT_NOT_SHOWN, COUNT_NOT_SHOWN_VALUE, GROUPS_NOT_SHOWN, GROUPS_NOT_SHOWN_VALUE,
    GROUP_INDICATORS,
};
pub use types::{
    AssessError, Assessment, CriterionResult, Cutoff, EvidenceState, Flag, IndicatorResult, Ladder,
    Overall, Rating,
};
pub use v2::{dimension_of, INDICATORS as VERSION_2_INDICATORS};
pub use voice::{PeopleSay, ShownCount, PLACED_DIFFERENTLY, PLACEMENT_GAP};
pub use wording::SMALL_COUNT;

use crate::events::ProjectEvent;
use crate::recorded::{format_instant, RecordedEvent};
use crate::rubric::PublishedRubric;
use facts::ActiveFacts;

/// The engine's name and version, as every assessment states it.
pub const ENGINE: &str = concat!("coprod ", env!("CARGO_PKG_VERSION"));

/// Replays `entries` (in any order) up to `cutoff` into an assessment under `rubric`, with every
/// figure (for readers who may see the trail's personal data).
pub fn assess(
    entries: &[RecordedEvent],
    rubric: &PublishedRubric,
    cutoff: Cutoff,
) -> Result<Assessment, AssessError> {
    assess_for(entries, rubric, cutoff, Disclosure::Full)
}

/// Replays `entries` (in any order) up to `cutoff` into an assessment under `rubric`, as it may
/// be given to readers of `disclosure`.
pub fn assess_for(
    entries: &[RecordedEvent],
    rubric: &PublishedRubric,
    cutoff: Cutoff,
    disclosure: Disclosure,
) -> Result<Assessment, AssessError> {
    let counted = counted(entries, cutoff)?;
    let first = counted.entries[0];
    let last = counted.last_known;
    let ProjectEvent::ProjectRegistered(registration) = &first.event else {
        return Err(AssessError::NothingRecorded);
    };
    let as_of = match cutoff {
        Cutoff::AsOf(instant)
        | Cutoff::HappenedBy {
            known_at: Some(instant),
            ..
        } => format_instant(instant),
        _ => format_instant(last.recorded_at),
    };
    let known = counted.entries;

    let (criteria, overall, participants_erased) = if rubric.rubric.version >= 2 {
        v2::assess(registration, first.sequence, &known, rubric, disclosure)?
    } else {
        version_1(registration, first.sequence, &known, rubric, disclosure)?
    };
    // Version 2 on: what the people involved say, beside the record's rating.
    let people_say = if rubric.rubric.version >= 2 {
        let record_rung = overall.ladder.as_ref().and_then(|ladder| ladder.rung);
        voice::people_say(&known, record_rung, disclosure)
    } else {
        None
    };
    Ok(Assessment {
        project_id: registration.project_id,
        rubric: RubricReference {
            id: rubric.rubric.id.clone(),
            version: rubric.rubric.version,
            digest: rubric.digest,
        },
        as_of,
        happened_by: counted.happened_by,
        at_sequence: last.sequence,
        stream_digest: last.digest,
        engine: ENGINE.to_string(),
        participants_erased,
        criteria,
        overall,
        people_say,
    })
}

/// The entries an answer at a cut-off counts, in sequence order, starting with the registration.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    pub entries: Vec<&'a RecordedEvent>,
    /// The last entry known at the cut-off, whose sequence and digest the answer names (for a
    /// question by when things happened, it may itself not count).
    pub last_known: &'a RecordedEvent,
    pub happened_by: Option<chrono::NaiveDate>,
}

/// Which of `entries` (in any order) an answer at `cutoff` counts: those known by then, and of
/// them, for [`Cutoff::HappenedBy`], the facts dated by its day and every entry about the record.
pub fn counted(entries: &[RecordedEvent], cutoff: Cutoff) -> Result<Counted<'_>, AssessError> {
    let mut ordered: Vec<&RecordedEvent> = entries.iter().collect();
    ordered.sort_by_key(|e| e.sequence);
    let last_sequence = ordered.last().map_or(0, |e| e.sequence);
    let (known_by, happened_by) = match cutoff {
        Cutoff::HappenedBy { by, known_at } => {
            (known_at.map_or(Cutoff::Latest, Cutoff::AsOf), Some(by))
        }
        other => (other, None),
    };
    let known: Vec<&RecordedEvent> = match known_by {
        Cutoff::Latest | Cutoff::HappenedBy { .. } => ordered,
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
    let (Some(first), Some(&last_known)) = (known.first(), known.last()) else {
        return Err(AssessError::NothingRecorded);
    };
    let ProjectEvent::ProjectRegistered(registration) = &first.event else {
        return Err(AssessError::NothingRecorded);
    };
    let entries = match happened_by {
        None => known,
        Some(by) if registration.started_on > by => {
            return Err(AssessError::NotStartedBy {
                by,
                started_on: registration.started_on,
            })
        }
        Some(by) => known
            .into_iter()
            .filter(|e| about_the_record(&e.event) || e.event.occurred_on() <= by)
            .collect(),
    };
    Ok(Counted {
        entries,
        last_known,
        happened_by,
    })
}

/// Entries about the record rather than the project: they count in every answer by when things
/// happened, whatever their own date.
fn about_the_record(event: &ProjectEvent) -> bool {
    matches!(
        event,
        ProjectEvent::CorrectionRecorded(_)
            | ProjectEvent::ParticipantErased(_)
            | ProjectEvent::AssessmentSealed(_)
    )
}

/// Version 1's criteria, overall rating and erased participants for the active entries.
fn version_1(
    registration: &crate::events::ProjectRegistered,
    registered_at: u64,
    known: &[&RecordedEvent],
    rubric: &PublishedRubric,
    disclosure: Disclosure,
) -> Result<(Vec<CriterionResult>, Overall, u32), AssessError> {
    let facts = ActiveFacts::gather(registration, registered_at, known, disclosure);
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
    // Indicators withheld from the reader are not judged (only ever for readers who may not see
    // personal data: every other answer is as version 1 always gave it).
    let shown = |i: &&IndicatorResult| i.state != Some(EvidenceState::NotShown);
    let total = indicators.iter().filter(shown).count() as u32;
    let met = indicators.iter().filter(shown).filter(|i| i.met).count() as u32;
    let all_withheld = total == 0 && !indicators.is_empty();
    let rating = match met {
        _ if all_withheld => Rating::InsufficientEvidence,
        0 => Rating::NotMet,
        m if m == total => Rating::Met,
        _ => Rating::PartlyMet,
    };
    let score = (100 * met).checked_div(total).unwrap_or(0);
    let mut summary = if all_withheld {
        "Not shown: none of its indicators can be shown to this reader.".to_string()
    } else {
        let judged: Vec<IndicatorResult> = indicators.iter().filter(shown).cloned().collect();
        wording::criterion_summary(rating, met, total, &judged)
    };
    let not_shown: Vec<String> = indicators
        .iter()
        .filter(|i| i.state == Some(EvidenceState::NotShown))
        .map(|i| i.key.replace('_', " "))
        .collect();
    if !not_shown.is_empty() {
        summary.push_str(&format!(
            " Not shown, to protect the privacy of fewer than five people: {}.",
            not_shown.join(", ")
        ));
    }
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
    let mut summary = wording::overall_summary(
        met,
        partly_met,
        not_met,
        criteria.len(),
        &titles(Rating::NotMet),
    );
    // Only where every indicator of a point is withheld from the reader.
    let unjudged = count(Rating::InsufficientEvidence);
    if unjudged > 0 {
        summary.push_str(&format!(
            " Not shown, to protect the privacy of fewer than five people: {}.",
            titles(Rating::InsufficientEvidence).join(", ")
        ));
    }
    Overall {
        met,
        partly_met,
        not_met,
        summary,
        insufficient_evidence: (unjudged > 0).then_some(unjudged),
        headline: None,
        ladder: None,
        declared_level: None,
        flags: None,
    }
}
