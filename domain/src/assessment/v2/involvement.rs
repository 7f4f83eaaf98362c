//! The first criterion, whole life involvement: people with lived experience talking things through
//! from the start, in every stage, across stages, and staying.

use super::facts::Facts;
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::events::{LeavingReason, Stage};
use crate::rubric::Parameters;
use crate::words::noun;

pub fn from_the_start(f: &Facts) -> Judged {
    let commission = Stage::Commission.index();
    let Some(&started) = f.stages.get(&Stage::Commission) else {
        return Judged::new(
            NotRecorded,
            "commission stage not recorded",
            "The start of the commission stage has not been recorded.",
            [],
        );
    };
    let first_decision = f
        .decisions
        .iter()
        .filter(|d| d.made.stage == Stage::Commission)
        .min_by_key(|d| (d.made.occurred_on, d.seq));
    let mut evidence = vec![started];
    evidence.extend(first_decision.map(|d| d.seq));
    let mut in_time = false;
    let mut later = false;
    let mut consulted = false;
    for person in f.people.iter().filter(|p| p.ple) {
        for (seq, day) in &person.deliberated[commission] {
            if first_decision.is_none_or(|d| *day <= d.made.occurred_on) {
                in_time = true;
                evidence.push(*seq);
            } else {
                later = true;
            }
        }
        consulted |= !person.consulted[commission].is_empty();
    }
    if in_time {
        let when = if first_decision.is_some() {
            "before its first decision"
        } else {
            "and no decision has been made in it yet"
        };
        return Judged::new(
            Met,
            "involved before the first decision",
            format!("People with lived experience talked things through in the commission stage, {when}."),
            evidence,
        );
    }
    let explanation = if later {
        "People with lived experience joined the talks in the commission stage only after its first decision was made."
    } else if consulted {
        "In the commission stage, people with lived experience only gave their views, for example in a survey. Nobody with lived experience talked things through before the first decision."
    } else if first_decision.is_some() {
        "Nobody with lived experience took part in the commission stage before its first decision."
    } else {
        "Nobody with lived experience has taken part in the commission stage."
    };
    Judged::new(
        NotMet,
        "not involved before the first decision",
        explanation,
        evidence,
    )
}

pub fn every_stage(f: &Facts) -> Judged {
    let reached: Vec<Stage> = f.stages.keys().copied().collect();
    if reached.is_empty() {
        return Judged::new(
            NotRecorded,
            "no stage recorded",
            "No stage of the project has been recorded as started.",
            [],
        );
    }
    let mut evidence: Vec<u64> = f.stages.values().copied().collect();
    let mut involved = Vec::new();
    let mut consulted_only = Vec::new();
    let mut missing = Vec::new();
    for stage in &reached {
        let i = stage.index();
        let mut deliberated = false;
        let mut consulted = false;
        for person in f.people.iter().filter(|p| p.ple) {
            if !person.deliberated[i].is_empty() {
                deliberated = true;
                evidence.extend(person.deliberated[i].iter().map(|(seq, _)| *seq));
            }
            consulted |= !person.consulted[i].is_empty();
        }
        if deliberated {
            involved.push(*stage);
        } else if consulted {
            consulted_only.push(*stage);
        } else {
            missing.push(*stage);
        }
    }
    let (k, n) = (involved.len(), reached.len());
    let value = value_of(k, n, noun(n, "stage", "stages"));
    if k == n {
        let explanation = if n == 1 {
            "People with lived experience talked things through in the one stage reached so far."
                .to_string()
        } else {
            format!(
                "People with lived experience talked things through in {} stages reached so far.",
                of(n, n)
            )
        };
        return Judged::new(Met, value, explanation, evidence);
    }
    let mut explanation = format!(
        "People with lived experience talked things through in {} stages reached so far.",
        of(k, n)
    );
    if n == 1 {
        explanation = "People with lived experience did not talk things through in the one stage reached so far.".to_string();
    }
    if !consulted_only.is_empty() {
        explanation.push_str(&format!(
            " In {}, they were only asked for their views.",
            stages(&consulted_only)
        ));
    }
    if !missing.is_empty() {
        explanation.push_str(&format!(
            " Nobody with lived experience took part in {}.",
            stages(&missing)
        ));
    }
    Judged::new(NotMet, value, explanation, evidence)
}

pub fn sustained(f: &Facts, p: &Parameters) -> Judged {
    let reached = f.stages.len();
    let mut evidence: Vec<u64> = f.stages.values().copied().collect();
    if reached < 2 {
        return Judged::new(
            NotApplicable,
            "fewer than two stages reached",
            "Fewer than two stages have been reached, so there is nothing to judge yet.",
            evidence,
        );
    }
    let deliberators: Vec<_> = f.deliberators().collect();
    let total = deliberators.len();
    if total == 0 {
        return Judged::new(
            NotMet,
            "nobody talked things through",
            "Nobody with lived experience has talked things through in any stage.",
            evidence,
        );
    }
    let mut sustained = 0;
    for person in &deliberators {
        if person.stages_deliberated() >= 2 {
            sustained += 1;
            evidence.extend(person.deliberated.iter().flatten().map(|(seq, _)| *seq));
        }
    }
    let share = p.sustained_share;
    let met = at_least(sustained, total, share);
    let mut explanation = format!(
        "{} with lived experience who talked things through did so in two stages or more.",
        capitalised(&people_of(sustained, total))
    );
    if !met {
        explanation.push_str(&format!(" At least {share}% should."));
    }
    Judged::new(
        if met { Met } else { NotMet },
        people_value(sustained, total),
        explanation,
        evidence,
    )
}

pub fn retention(f: &Facts, p: &Parameters) -> Judged {
    let deliberators: Vec<_> = f.deliberators().collect();
    let total = deliberators.len();
    if total == 0 {
        return Judged::new(
            NotApplicable,
            "nobody talked things through",
            "Nobody with lived experience has talked things through yet.",
            [],
        );
    }
    let leavers: Vec<(u64, Option<LeavingReason>)> =
        deliberators.iter().filter_map(|p| p.left).collect();
    let evidence: Vec<u64> = leavers.iter().map(|(seq, _)| *seq).collect();
    if leavers.iter().any(|(_, reason)| reason.is_none()) {
        return Judged::new(
            NotRecorded,
            "reasons for leaving not recorded",
            "Someone with lived experience left, but why they left was not recorded with a reason code.",
            evidence,
        );
    }
    if leavers.is_empty() {
        return Judged::new(
            Met,
            "nobody left",
            "Nobody with lived experience who talked things through has left.",
            evidence,
        );
    }
    let avoidable = leavers
        .iter()
        .filter(|(_, reason)| {
            matches!(
                reason,
                Some(
                    LeavingReason::Access
                        | LeavingReason::NotListenedTo
                        | LeavingReason::ProjectStopped
                )
            )
        })
        .count();
    let share = p.max_avoidable_leaving_share.unwrap_or(0);
    let met = 100 * avoidable as u64 <= share * total as u64;
    let mut explanation = format!(
        "{} with lived experience who talked things through left because of access, because they were not listened to, or because the project stopped.",
        capitalised(&people_of(avoidable, total))
    );
    if !met {
        explanation.push_str(&format!(" No more than {share}% should."));
    }
    Judged::new(
        if met { Met } else { NotMet },
        format!(
            "{} left for reasons that could be prevented",
            people_value(avoidable, total)
        ),
        explanation,
        evidence,
    )
}
