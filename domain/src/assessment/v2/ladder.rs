//! Where a project stands on Think Local Act Personal's ladder of participation, derived from the
//! facts with its reasons; the flags a panel must see first; and the headline sentence.

use super::facts::Facts;
use super::responsibility::judged_as_key;
use super::words::{self, capitalised, effect, listed, number};
use crate::assessment::{CriterionResult, EvidenceState, Flag, Ladder, Rating};
use crate::events::{DecisionEffect, LadderRung, Stage};

/// The indicator states the ladder needs.
pub struct Standing {
    pub from_the_start: bool,
    pub every_stage: bool,
    pub shared_decisions: bool,
}

impl Standing {
    pub fn of(criteria: &[CriterionResult]) -> Standing {
        let met = |criterion: &str, indicator: &str| {
            criteria
                .iter()
                .filter(|c| c.key == criterion)
                .flat_map(|c| &c.indicators)
                .any(|i| i.key == indicator && i.state == Some(EvidenceState::Met))
        };
        Standing {
            from_the_start: met("whole_life_involvement", "from_the_start"),
            every_stage: met("whole_life_involvement", "every_stage"),
            shared_decisions: met("shared_responsibility", "shared_decisions"),
        }
    }
}

/// What co-production needs that the project lacks, as clauses ("the project has not reached
/// delivery yet"), in the order they are checked.
fn missing_for_co_production(f: &Facts, s: &Standing) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !s.from_the_start {
        missing.push("they were not involved from the start");
    }
    if !f.stages.contains_key(&Stage::Deliver) {
        missing.push("the project has not reached delivery yet");
    } else if !s.every_stage {
        missing.push("they were not involved in every stage");
    }
    if !s.shared_decisions {
        missing.push("too few key decisions were shared with them");
    }
    let led = f.activities.iter().any(|a| a.led_by_ple)
        || f.roles
            .iter()
            .any(|(_, r, who)| r.role.is_professional_role() && f.is_ple(*who));
    if !led {
        missing.push("none of them led an activity or took a role usually held by staff");
    }
    if f.unilateral_changes().next().is_some() {
        missing.push("the project was paused, stopped or changed without them");
    }
    missing
}

pub fn ladder(f: &Facts, s: &Standing) -> Ladder {
    let ple = || f.people.iter().filter(|p| p.ple);
    let deliberated = ple().any(|p| p.has_deliberated());
    let consulted = ple().any(|p| p.has_been_consulted());
    let informed = ple().any(|p| !p.informed.is_empty());
    let beyond_training = ple().any(|p| p.informed_beyond_training);
    let shared_key = f.decisions.iter().any(|d| judged_as_key(f, d) && d.shared);
    let missing = missing_for_co_production(f, s);
    let sentence = |clause: &str| format!("{}.", capitalised(clause));
    let (rung, reasons) = if !deliberated && !consulted && !informed {
        (
            None,
            vec!["Nobody with lived experience has taken part yet. No activity, decision or idea of theirs is on record.".to_string()],
        )
    } else if missing.is_empty() {
        (
            Some(LadderRung::CoProduction),
            vec![
                "People with lived experience talked things through from the start and in every stage, up to delivery.".to_string(),
                "Key decisions were shared with them.".to_string(),
                "Some of them led activities or took roles usually held by staff.".to_string(),
            ],
        )
    } else if shared_key && deliberated {
        let mut reasons =
            vec!["People with lived experience shared at least one key decision.".to_string()];
        reasons.push(format!(
            "It is not co-production, because {}.",
            listed(&missing.iter().map(|m| m.to_string()).collect::<Vec<_>>())
        ));
        (Some(LadderRung::CoDesign), reasons)
    } else if deliberated {
        (
            Some(LadderRung::Engagement),
            vec![
                "People with lived experience talked things through with staff.".to_string(),
                "No key decision was shared with them.".to_string(),
            ],
        )
    } else if consulted {
        (
            Some(LadderRung::Consultation),
            vec![
                "People with lived experience gave their views, for example in surveys or interviews.".to_string(),
                "They did not talk things through in a workshop or meeting, and had no say in any decision.".to_string(),
            ],
        )
    } else if beyond_training {
        (
            Some(LadderRung::Informing),
            vec![sentence("people with lived experience were only told about the project, for example on a visit")],
        )
    } else {
        (
            Some(LadderRung::Educating),
            vec![sentence(
                "people with lived experience only attended training",
            )],
        )
    };
    Ladder { rung, reasons }
}

/// Why a rung was found, as the end of a headline.
fn rung_reason(rung: LadderRung, f: &Facts, s: &Standing) -> String {
    match rung {
        LadderRung::Coercion => "people were made to take part.".to_string(),
        LadderRung::Educating | LadderRung::Informing => {
            "people were told about the project, but did not give their views or help to decide."
                .to_string()
        }
        LadderRung::Consultation => {
            "people gave their views, but did not help to decide.".to_string()
        }
        LadderRung::Engagement => {
            "people talked things through with staff, but did not share the key decisions."
                .to_string()
        }
        LadderRung::CoDesign => {
            let missing = missing_for_co_production(f, s);
            match missing.first() {
                Some(first) => format!("people shared key decisions, but {first}."),
                None => "people shared key decisions.".to_string(),
            }
        }
        LadderRung::CoProduction => {
            "people shared key decisions from the start and helped to deliver the project."
                .to_string()
        }
    }
}

pub fn flags(f: &Facts, ladder: &Ladder) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let (Some(declared), Some(rung)) = (f.registration.declared_level, ladder.rung) {
        if declared > rung {
            flags.push(Flag {
                key: "declared_above_evidence".to_string(),
                message: format!(
                    "Described as {}, but the facts recorded show {}.",
                    words::rung(declared),
                    words::rung(rung)
                ),
                evidence: vec![f.registered_at],
            });
        }
    }
    let unilateral: Vec<_> = f.unilateral_changes().collect();
    if let Some(first) = unilateral.first() {
        let mut evidence: Vec<u64> = Vec::new();
        for d in &unilateral {
            evidence.push(d.seq);
            evidence.extend(d.told.iter().map(|(seq, _)| *seq));
        }
        evidence.sort_unstable();
        evidence.dedup();
        flags.push(Flag {
            key: "unilateral_change".to_string(),
            message: format!(
                "The project was {} without the people involved, and they were not told first.",
                effect(first.made.effect.unwrap_or(DecisionEffect::Stop))
            ),
            evidence,
        });
    }
    flags
}

pub fn headline(f: &Facts, s: &Standing, ladder: &Ladder, criteria: &[CriterionResult]) -> String {
    let unjudged = criteria
        .iter()
        .filter(|c| c.rating == Rating::InsufficientEvidence)
        .count();
    let total = criteria.len();
    if unjudged == total {
        return format!(
            "Too little has been recorded to judge this project yet: none of the {} points can be judged.",
            number(total)
        );
    }
    if unjudged * 2 >= total && unjudged > 0 {
        return format!(
            "Too little has been recorded to judge this project yet: {} of the {} points cannot be judged.",
            number(unjudged),
            number(total)
        );
    }
    let Some(rung) = ladder.rung else {
        return "Too little has been recorded to judge this project yet: nobody with lived experience has taken part.".to_string();
    };
    if let Some(first) = f.unilateral_changes().next() {
        return format!(
            "This was {}, but the project was {} without the people involved, and they were not told first.",
            words::rung(rung),
            effect(first.made.effect.unwrap_or(DecisionEffect::Stop))
        );
    }
    let reason = rung_reason(rung, f, s);
    match f.registration.declared_level {
        Some(declared) if declared > rung => format!(
            "This looks like {}, not {}: {reason}",
            words::rung(rung),
            words::rung(declared)
        ),
        _ => format!("This looks like {}: {reason}", words::rung(rung)),
    }
}
