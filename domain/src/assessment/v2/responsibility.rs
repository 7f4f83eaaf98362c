//! The sixth criterion, shared responsibility: key decisions shared, stops and changes shared or
//! explained first (the cap), accountability and failures owned together.

use super::facts::{Decision, Facts};
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::events::{OutcomeKind, Stage};
use crate::rubric::Parameters;

/// Whether a decision is judged as a key decision: not routine, and not a formal decision that
/// ratifies a shared one (set apart: it counts neither for nor against sharing).
pub fn judged_as_key(f: &Facts, d: &Decision) -> bool {
    d.key && !ratifies_shared(f, d)
}

fn ratifies_shared(f: &Facts, d: &Decision) -> bool {
    d.ratifies.is_some_and(|i| f.decisions[i].shared)
}

pub fn shared_decisions(f: &Facts, p: &Parameters) -> Judged {
    let key: Vec<&Decision> = f.decisions.iter().filter(|d| judged_as_key(f, d)).collect();
    let routine = f.decisions.iter().filter(|d| !d.key).count();
    let ratifying = f
        .decisions
        .iter()
        .filter(|d| d.key && ratifies_shared(f, d))
        .count();
    let departures = f
        .decisions
        .iter()
        .filter(|d| d.departs_from.is_some_and(|i| f.decisions[i].shared))
        .count();
    let evidence: Vec<u64> = f.decisions.iter().map(|d| d.seq).collect();
    let mut apart = Vec::new();
    if routine > 0 {
        apart.push(count_of(routine, "routine decision", "routine decisions"));
    }
    if ratifying > 0 {
        apart.push(count_of(
            ratifying,
            "formal decision that confirmed a shared one",
            "formal decisions that confirmed shared ones",
        ));
    }
    let apart = match apart.len() {
        0 => String::new(),
        _ => format!(" Set apart: {}.", listed(&apart)),
    };
    if key.is_empty() {
        return Judged::new(
            NotApplicable,
            "no key decisions yet",
            format!("No key decision has been recorded yet.{apart}"),
            evidence,
        );
    }
    let n = key.len();
    let k = key.iter().filter(|d| d.shared).count();
    let share = p.shared_decision_share;
    let met = at_least(k, n, share);
    let mut text = if n == 1 {
        format!(
            "The one key decision {} made with people with lived experience having a say.",
            if k == 1 { "was" } else { "was not" }
        )
    } else {
        format!(
            "{} key decisions were made with people with lived experience having a say.",
            capitalised(&of(k, n))
        )
    };
    if !met {
        text.push_str(&format!(" At least {share}% should be."));
    }
    text.push_str(&apart);
    if departures > 0 {
        text.push_str(&format!(
            " {} went against what was agreed together, and said why.",
            capitalised(&count_of(departures, "decision", "decisions"))
        ));
    }
    Judged::new(
        if met { Met } else { NotMet },
        value_of(
            k,
            n,
            if n == 1 {
                "key decision"
            } else {
                "key decisions"
            },
        ),
        text,
        evidence,
    )
}

pub fn changes_shared(f: &Facts) -> Judged {
    let changes: Vec<&Decision> = f
        .decisions
        .iter()
        .filter(|d| d.key && d.made.effect.is_some())
        .collect();
    let mut evidence: Vec<u64> = changes.iter().map(|d| d.seq).collect();
    for d in &changes {
        evidence.extend(d.told.iter().map(|(seq, _)| *seq));
    }
    if changes.is_empty() {
        return Judged::new(
            NotApplicable,
            "no pause, stop or change",
            "The project has not been paused, stopped or changed.",
            evidence,
        );
    }
    let unilateral: Vec<&&Decision> = changes.iter().filter(|d| d.unilateral_change()).collect();
    if unilateral.is_empty() {
        return Judged::new(
            Met,
            "all shared or explained",
            "Every pause, stop or change of the project was made with people with lived experience, or explained to them first.",
            evidence,
        );
    }
    let text = match unilateral.as_slice() {
        [one] => {
            let later = if one.told.is_empty() {
                ""
            } else {
                " They were told only later."
            };
            format!(
                "The project was {} on {} without the people involved, and they were not told first.{later}",
                effect(one.made.effect.unwrap_or(crate::events::DecisionEffect::Stop)),
                one.made.occurred_on.format("%-d %B %Y")
            )
        }
        many => format!(
            "{} decisions to pause, stop or change the project were made without the people involved, and they were not told first.",
            capitalised(&number(many.len()))
        ),
    };
    Judged::new(
        NotMet,
        value_of(unilateral.len(), changes.len(), "made alone"),
        text,
        evidence,
    )
}

pub fn accountability_shared(f: &Facts) -> Judged {
    let total = f.reviews.len();
    let evidence: Vec<u64> = f.reviews.iter().map(|r| r.seq).collect();
    if total == 0 {
        let ended = f.closed || f.stages.contains_key(&Stage::Assess);
        if ended {
            return Judged::new(
                NotMet,
                "no review",
                "The project reached its assess stage or closed without any review of outcomes.",
                evidence,
            );
        }
        return Judged::new(
            NotApplicable,
            "no review yet",
            "No outcome has been reviewed yet, and the project has not reached its assess stage.",
            evidence,
        );
    }
    let without = f.reviews.iter().filter(|r| !r.with_ple).count();
    if without == 0 {
        let text = if total == 1 {
            "The one review of outcomes names a person with lived experience as accountable or as a reviewer.".to_string()
        } else {
            format!(
                "All {} reviews of outcomes name a person with lived experience as accountable or as a reviewer.",
                number(total)
            )
        };
        return Judged::new(
            Met,
            value_of(total, total, if total == 1 { "review" } else { "reviews" }),
            text,
            evidence,
        );
    }
    Judged::new(
        NotMet,
        format!("{} without", value_of(without, total, if total == 1 { "review" } else { "reviews" })),
        format!(
            "{} reviews of outcomes named nobody with lived experience as accountable or as a reviewer.",
            capitalised(&of(without, total))
        ),
        evidence,
    )
}

pub fn failures_owned(f: &Facts) -> Judged {
    let setbacks: Vec<_> = f
        .reviews
        .iter()
        .filter(|r| r.reviewed.kind != OutcomeKind::Success)
        .collect();
    let evidence: Vec<u64> = setbacks.iter().map(|r| r.seq).collect();
    if setbacks.is_empty() {
        return Judged::new(
            NotApplicable,
            "nothing went wrong",
            "Nothing has been reviewed as a shortfall or failure.",
            evidence,
        );
    }
    let owned = setbacks.iter().filter(|r| r.by_ple).count();
    if owned == 0 {
        return Judged::new(
            NotMet,
            "not owned together",
            "No review of a shortfall or failure had a person with lived experience among its reviewers.",
            evidence,
        );
    }
    Judged::new(
        Met,
        value_of(owned, setbacks.len(), "reviewed together"),
        "People with lived experience helped to review what went wrong.",
        evidence,
    )
}
