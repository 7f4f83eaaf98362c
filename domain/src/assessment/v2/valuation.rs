//! The fifth criterion, equal valuation of assets: "you said, we did" that reaches people, parity
//! with staff, and influence that comes with power.

use std::collections::HashMap;

use super::facts::{Contribution, Facts};
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::events::Response;
use crate::rubric::Parameters;

/// A response that answers: adopted, adapted, or not adopted with its reason. "Noted" does not.
fn real_answer(c: &Contribution) -> bool {
    matches!(
        c.response,
        Some((
            _,
            Response::Adopted | Response::Adapted | Response::NotAdopted
        ))
    )
}

pub fn contributions_answered(f: &Facts, p: &Parameters) -> Judged {
    let ple: Vec<&Contribution> = f.contributions.iter().filter(|c| f.is_ple(c.who)).collect();
    let mut evidence: Vec<u64> = ple.iter().map(|c| c.seq).collect();
    if ple.is_empty() {
        return Judged::new(
            NotApplicable,
            "no contributions yet",
            "People with lived experience have made no contribution yet.",
            evidence,
        );
    }
    for c in &ple {
        evidence.extend(c.response.map(|(seq, _)| seq));
        evidence.extend(c.fed_back);
    }
    let real = ple.iter().filter(|c| real_answer(c)).count();
    if real > 0 && !f.feedback_recorded {
        return Judged::new(
            NotRecorded,
            "giving answers back not recorded",
            "Contributions were answered, but it was never recorded that the answers were given back to the people who made them.",
            evidence,
        );
    }
    let n = ple.len();
    let done = ple
        .iter()
        .filter(|c| real_answer(c) && c.fed_back.is_some())
        .count();
    let acknowledged = ple
        .iter()
        .filter(|c| matches!(c.response, Some((_, Response::Acknowledged))))
        .count();
    let unanswered = ple.iter().filter(|c| c.response.is_none()).count();
    let not_told = real
        - ple
            .iter()
            .filter(|c| real_answer(c) && c.fed_back.is_some())
            .count();
    let share = p.response_share;
    let met = at_least(done, n, share);
    let mut text = if n == 1 {
        format!(
            "The one contribution from a person with lived experience {} a real answer that reached them.",
            if done == 1 { "had" } else { "did not have" }
        )
    } else {
        format!(
            "{} contributions from people with lived experience had a real answer that reached the person.",
            capitalised(&of(done, n))
        )
    };
    if !met {
        let mut gaps = Vec::new();
        if acknowledged > 0 {
            gaps.push(format!(
                "{} only noted",
                count_of(acknowledged, "was", "were")
            ));
        }
        if unanswered > 0 {
            gaps.push(format!("{} had no answer", number(unanswered)));
        }
        if not_told > 0 {
            gaps.push(format!(
                "{} had an answer that was not given back",
                number(not_told)
            ));
        }
        if !gaps.is_empty() && n > 1 {
            text.push_str(&format!(" Of these, {}.", listed(&gaps)));
        }
        text.push_str(&format!(" At least {share}% should."));
    }
    Judged::new(
        if met { Met } else { NotMet },
        value_of(
            done,
            n,
            if n == 1 {
                "contribution"
            } else {
                "contributions"
            },
        ),
        text,
        evidence,
    )
}

#[derive(Default)]
struct Rates {
    made: usize,
    answered: usize,
    adopted: usize,
    evidence: Vec<u64>,
}

impl Rates {
    fn of(f: &Facts, side: impl Fn(u32) -> bool) -> Rates {
        let mut rates = Rates::default();
        for c in f.contributions.iter().filter(|c| side(c.who)) {
            rates.made += 1;
            rates.evidence.push(c.seq);
            if real_answer(c) {
                rates.answered += 1;
                if let Some((seq, response)) = c.response {
                    rates.evidence.push(seq);
                    if response.is_adoption() {
                        rates.adopted += 1;
                    }
                }
            }
        }
        rates
    }

    fn answered_rate(&self) -> u64 {
        percent(self.answered, self.made)
    }

    fn adopted_rate(&self) -> u64 {
        percent(self.adopted, self.answered)
    }
}

pub fn parity(f: &Facts, p: &Parameters) -> Judged {
    let ple = Rates::of(f, |w| f.is_ple(w));
    let staff = Rates::of(f, |w| f.person(w).professional);
    let mut evidence = ple.evidence.clone();
    evidence.extend(&staff.evidence);
    if ple.made == 0 || staff.made == 0 {
        return Judged::new(
            NotApplicable,
            "nothing to compare",
            "There are not yet contributions from both people with lived experience and staff to compare.",
            evidence,
        );
    }
    let tolerance = p.parity_tolerance;
    let keeps_up = |ours: u64, theirs: u64| ours + tolerance >= theirs;
    let answered_fair = keeps_up(ple.answered_rate(), staff.answered_rate());
    let adopted_fair = keeps_up(ple.adopted_rate(), staff.adopted_rate());
    let met = answered_fair && adopted_fair;
    let mut text = format!(
        "Contributions from people with lived experience had a real answer {}% of the time, and {}% of those answered were taken up. For staff, the figures are {}% and {}%.",
        ple.answered_rate(),
        ple.adopted_rate(),
        staff.answered_rate(),
        staff.adopted_rate()
    );
    if met {
        text.push_str(&format!(" Both are within {tolerance} points."));
    } else {
        let mut gaps = Vec::new();
        if !answered_fair {
            gaps.push("answered".to_string());
        }
        if !adopted_fair {
            gaps.push("taken up".to_string());
        }
        text.push_str(&format!(
            " Contributions from people with lived experience are {} less often, by more than {tolerance} points.",
            listed(&gaps)
        ));
    }
    Judged::new(
        if met { Met } else { NotMet },
        format!(
            "answered {}% and {}%, taken up {}% and {}%",
            ple.answered_rate(),
            staff.answered_rate(),
            ple.adopted_rate(),
            staff.adopted_rate()
        ),
        text,
        evidence,
    )
}

pub fn influence(f: &Facts) -> Judged {
    if f.decisions.is_empty() {
        return Judged::new(
            NotApplicable,
            "no decisions yet",
            "No decision has been recorded yet.",
            [],
        );
    }
    let ple_contributions: HashMap<&str, u64> = f
        .contributions
        .iter()
        .filter(|c| f.is_ple(c.who))
        .map(|c| (c.made.contribution_id.as_str(), c.seq))
        .collect();
    let mut evidence = Vec::new();
    let mut shaped = 0;
    let mut cited_alone = 0;
    for d in &f.decisions {
        let cites: Vec<u64> = d
            .made
            .influenced_by
            .iter()
            .filter_map(|id| ple_contributions.get(id.as_str()).copied())
            .filter(|seq| *seq < d.seq)
            .collect();
        if cites.is_empty() {
            continue;
        }
        if d.shared {
            shaped += 1;
            evidence.push(d.seq);
            evidence.extend(cites);
        } else {
            cited_alone += 1;
        }
    }
    let alone = match cited_alone {
        0 => String::new(),
        1 => " One decision made by staff alone cited their views. That is not influence, because they had no say in it.".to_string(),
        n => format!(
            " {} decisions made by staff alone cited their views. That is not influence, because they had no say in them.",
            capitalised(&number(n))
        ),
    };
    if shaped == 0 {
        return Judged::new(
            NotMet,
            "no decision shaped",
            format!("No decision that people with lived experience had a say in was shaped by what they said.{alone}"),
            evidence,
        );
    }
    Judged::new(
        Met,
        count_of(shaped, "decision shaped", "decisions shaped"),
        format!(
            "What people with lived experience said shaped {} they had a say in.{alone}",
            count_of(shaped, "decision", "decisions")
        ),
        evidence,
    )
}
