//! The plain-English words of an assessment: the sentence builders its explanations and
//! summaries are made of, and the rule that small counts of people are never shown.

use crate::assessment::types::{IndicatorResult, Rating};
use crate::events::{Role, Stage};

/// How many participant ids an explanation lists before it says "and N more".
const MAX_NAMED: usize = 10;

/// `from_the_start` → "from the start".
fn plain(key: &str) -> String {
    key.replace('_', " ")
}

/// ⌊100·a ÷ b⌋, or 0 when b is 0: a share as it is shown.
pub(super) fn percent(a: usize, b: usize) -> u64 {
    (100 * a as u64).checked_div(b as u64).unwrap_or(0)
}

/// "3 of 4 people (75%)": an indicator's value when it is a share of `things`.
pub(super) fn share_value(a: usize, b: usize, things: &str) -> String {
    format!("{a} of {b} {things} ({}%)", percent(a, b))
}

/// Lists ids for an explanation, at most [`MAX_NAMED`] of them.
pub(super) fn name_some<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.into_iter().collect();
    let shown: Vec<String> = ids
        .iter()
        .take(MAX_NAMED)
        .map(|id| format!("'{id}'"))
        .collect();
    let mut text = shown.join(", ");
    if ids.len() > MAX_NAMED {
        text.push_str(&format!(" and {} more", ids.len() - MAX_NAMED));
    }
    text
}

/// Counts of people below this are never shown (docs/architecture.md, invariant 8).
pub const SMALL_COUNT: usize = 5;

/// A count of people as it may be shown: "fewer than 5" below [`SMALL_COUNT`].
pub(super) fn people_count(n: usize) -> String {
    if n < SMALL_COUNT {
        format!("fewer than {SMALL_COUNT}")
    } else {
        n.to_string()
    }
}

pub(super) fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_string()
    } else {
        format!("{n} people")
    }
}

pub(super) fn stage_names(stages: &[Stage]) -> String {
    let names: Vec<String> = stages.iter().map(|s| format!("'{}'", s.as_str())).collect();
    names.join(", ")
}

/// "entry 4" or "entries 4, 9, 12", for explanations that point at the trail.
pub(super) fn entry_list(sequences: &[u64]) -> String {
    let numbers: Vec<String> = sequences.iter().map(u64::to_string).collect();
    match numbers.len() {
        1 => format!("entry {}", numbers[0]),
        _ => format!("entries {}", numbers.join(", ")),
    }
}

pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::CoChair => "co-chair",
        Role::CoFacilitator => "co-facilitator",
        Role::CoTrainer => "co-trainer",
        Role::CoResearcher => "co-researcher",
        Role::QualityAssurer => "quality assurer",
        Role::RecruitmentPanel => "recruitment panel",
        Role::PeerSupporter => "peer supporter",
        Role::Learner => "learner",
    }
}

/// A criterion's summary: which of its indicators are met.
pub(super) fn criterion_summary(
    rating: Rating,
    met: u32,
    total: u32,
    indicators: &[IndicatorResult],
) -> String {
    let unmet: Vec<String> = indicators
        .iter()
        .filter(|i| !i.met)
        .map(|i| plain(&i.key))
        .collect();
    match rating {
        Rating::Met => format!("Met: all {total} indicators are met."),
        // Version 1 judges every indicator, so it never lacks evidence; said plainly all the same.
        Rating::NotMet | Rating::InsufficientEvidence => {
            format!("Not met: none of the {total} indicators is met.")
        }
        Rating::PartlyMet => format!(
            "Partly met: {met} of {total} indicators are met. Not yet met: {}.",
            unmet.join(", ")
        ),
    }
}

/// The overall summary: how many of the `points` are met in full, in part and not at all, and
/// the titles of those not met.
pub(super) fn overall_summary(
    met: u32,
    partly_met: u32,
    not_met: u32,
    points: usize,
    missing: &[String],
) -> String {
    let mut summary = format!(
        "The project meets {met} of the {points} points in full, {partly_met} in part and {not_met} not at all."
    );
    if !missing.is_empty() {
        summary.push_str(&format!(" Not met: {}.", missing.join(", ")));
    }
    summary
}
