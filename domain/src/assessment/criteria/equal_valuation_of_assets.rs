//! Criterion 5, equal valuation of assets: contributions from people with lived experience are
//! answered (`contributions_answered`), answered and adopted as often as professionals'
//! (`parity`), and shape decisions (`influence`).

use super::{at_least, indicator};
use crate::assessment::facts::{ActiveFacts, IdMap};
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{entry_list, percent, share_value};
use crate::events::ParticipantKind;
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    /// Contributions by people of one side, with whether each was answered and adopted.
    fn contribution_rates(&self, side: fn(ParticipantKind) -> bool) -> ContributionRates {
        let mut rates = ContributionRates::default();
        for c in &self.contributions {
            let kind = self.participant(c.who).person.as_ref().map(|p| p.kind);
            if !kind.is_some_and(side) {
                continue;
            }
            rates.made += 1;
            rates.evidence.push(c.seq);
            if let Some((response_seq, adopted)) = c.response {
                rates.answered += 1;
                rates.evidence.push(response_seq);
                if adopted {
                    rates.adopted += 1;
                }
            } else {
                rates.unanswered.push(c.seq);
            }
        }
        rates
    }

    pub(super) fn contributions_answered(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.contribution_rates(ParticipantKind::is_lived_experience);
        let share = p.response_share;
        let met = at_least(ple.answered, ple.made, share);
        let value = share_value(ple.answered, ple.made, "contributions");
        let explanation = if ple.made == 0 {
            "People with lived experience have not made any contribution yet.".to_string()
        } else if met {
            format!(
                "{} of the {} contributions from people with lived experience have had a response ({}%).",
                ple.answered,
                ple.made,
                ple.response_rate()
            )
        } else {
            format!(
                "Only {} of the {} contributions from people with lived experience have had a response ({}%); at least {share}% should be answered. Still waiting for a response: {}.",
                ple.answered,
                ple.made,
                ple.response_rate(),
                entry_list(&ple.unanswered)
            )
        };
        indicator(
            "contributions_answered",
            met,
            value,
            explanation,
            ple.evidence,
        )
    }

    pub(super) fn parity(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.contribution_rates(ParticipantKind::is_lived_experience);
        let pro = self.contribution_rates(ParticipantKind::is_professional);
        let tolerance = p.parity_tolerance;
        let keeps_up = |ours: u64, theirs: u64| ours + tolerance >= theirs;
        let responses_fair = keeps_up(ple.response_rate(), pro.response_rate());
        let adoption_fair = keeps_up(ple.adoption_rate(), pro.adoption_rate());
        let both = ple.made > 0 && pro.made > 0;
        let met = both && responses_fair && adoption_fair;
        let value = format!(
            "responded {}% vs {}%, adopted {}% vs {}%",
            ple.response_rate(),
            pro.response_rate(),
            ple.adoption_rate(),
            pro.adoption_rate()
        );
        let mut evidence = ple.evidence.clone();
        evidence.extend(&pro.evidence);
        let explanation = if !both {
            "Parity needs contributions from both people with lived experience and professionals to compare, and there are not yet both.".to_string()
        } else {
            let mut text = format!(
                "Contributions from people with lived experience had a response {}% of the time and were adopted or adapted {}% of the time; for professionals the figures are {}% and {}%.",
                ple.response_rate(),
                ple.adoption_rate(),
                pro.response_rate(),
                pro.adoption_rate()
            );
            if met {
                text.push_str(&format!(" Both are within {tolerance} points."));
            } else {
                let mut gaps = Vec::new();
                if !responses_fair {
                    gaps.push("answered");
                }
                if !adoption_fair {
                    gaps.push("adopted");
                }
                text.push_str(&format!(
                    " Contributions from people with lived experience are {} less often, by more than {tolerance} points.",
                    gaps.join(" and ")
                ));
            }
            text
        };
        indicator("parity", met, value, explanation, evidence)
    }

    pub(super) fn influence(&self) -> IndicatorResult {
        // The latest under each id, as in a map collected in entry order.
        let ple_contributions: IdMap<&str, u64> = self
            .contributions
            .iter()
            .filter(|c| self.is_ple(c.who))
            .map(|c| (c.made.contribution_id.as_str(), c.seq))
            .collect();
        let mut evidence = Vec::new();
        let mut decisions = 0;
        for (seq, d, _) in &self.decisions {
            let influences: Vec<u64> = d
                .influenced_by
                .iter()
                // Only the contribution recorded before the decision: an id withdrawn and recorded
                // again later names another contribution.
                .filter_map(|c| ple_contributions.get(c.as_str()).copied())
                .filter(|contribution_seq| contribution_seq < seq)
                .collect();
            if !influences.is_empty() {
                decisions += 1;
                evidence.push(*seq);
                evidence.extend(influences);
            }
        }
        let met = decisions > 0;
        let value = format!("{decisions} of {} decisions", self.decisions.len());
        let explanation = if met {
            format!(
                "{decisions} of the {} decisions were shaped by contributions from people with lived experience.",
                self.decisions.len()
            )
        } else {
            "No decision has been recorded as influenced by a contribution from a person with lived experience.".to_string()
        };
        indicator("influence", met, value, explanation, evidence)
    }
}

#[derive(Default)]
struct ContributionRates {
    made: usize,
    answered: usize,
    /// The contributions still waiting for a response.
    unanswered: Vec<u64>,
    adopted: usize,
    evidence: Vec<u64>,
}

impl ContributionRates {
    fn response_rate(&self) -> u64 {
        percent(self.answered, self.made)
    }

    /// Adopted or adapted, of those answered.
    fn adoption_rate(&self) -> u64 {
        percent(self.adopted, self.answered)
    }
}
