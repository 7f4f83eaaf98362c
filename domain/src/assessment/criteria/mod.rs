//! The six criteria, one module each, as indicators computed from the active facts; and which
//! indicator key of a rubric each one answers.

mod blurred_boundaries;
mod diverse_group_involvement;
mod equal_valuation_of_assets;
mod reciprocal_reward;
mod shared_responsibility;
mod whole_life_involvement;

use crate::assessment::disclosure::{
    COUNT_NOT_SHOWN, COUNT_NOT_SHOWN_VALUE, GROUPS_NOT_SHOWN, GROUPS_NOT_SHOWN_VALUE,
};
use crate::assessment::facts::ActiveFacts;
use crate::assessment::types::{AssessError, EvidenceState, IndicatorResult};
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    pub(super) fn indicator(
        &self,
        key: &str,
        p: &Parameters,
    ) -> Result<IndicatorResult, AssessError> {
        Ok(match key {
            "from_the_start" => self.involved_from_the_start(),
            "every_stage" => self.every_stage(),
            "sustained" => self.sustained(p),
            "lived_experience_in_professional_roles" => self.professional_roles(),
            "shared_facilitation" => self.shared_facilitation(p),
            "learning_both_ways" => self.learning_both_ways(),
            "rewarded_beyond_expenses" => self.rewarded_beyond_expenses(p),
            "development" => self.development(),
            "timely" => self.timely(p),
            "priority_groups_reached" => self.priority_groups_reached(),
            "breadth" => self.breadth(p),
            "no_single_group_dominates" => self.no_single_group_dominates(p),
            "contributions_answered" => self.contributions_answered(p),
            "parity" => self.parity(p),
            "influence" => self.influence(),
            "shared_decisions" => self.shared_decisions(p),
            "accountability_shared" => self.accountability_shared(),
            "failures_owned" => self.failures_owned(),
            other => return Err(AssessError::UnknownIndicator(other.to_string())),
        })
    }
}

/// One indicator's result, its evidence in ascending order, each entry once.
fn indicator(
    key: &str,
    met: bool,
    value: String,
    explanation: String,
    evidence: impl IntoIterator<Item = u64>,
) -> IndicatorResult {
    let evidence = ascending_once(evidence.into_iter().collect());
    IndicatorResult {
        state: None,
        missing_evidence: None,
        key: key.to_string(),
        met,
        value,
        explanation,
        evidence,
    }
}

/// The entries in ascending order, each once. Long lists of entries from a dense range (the
/// usual case: most entries of a busy project) go through a bit set instead of a sort.
pub(in crate::assessment) fn ascending_once(mut evidence: Vec<u64>) -> Vec<u64> {
    if evidence.len() >= 256 {
        let max = evidence.iter().copied().max().unwrap_or(0);
        if max / 64 <= 4 * evidence.len() as u64 {
            let mut bits = vec![0u64; (max / 64 + 1) as usize];
            for seq in &evidence {
                bits[(seq / 64) as usize] |= 1 << (seq % 64);
            }
            evidence.clear();
            for (i, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    evidence.push(i as u64 * 64 + u64::from(word.trailing_zeros()));
                    word &= word - 1;
                }
            }
            return evidence;
        }
    }
    evidence.sort_unstable();
    evidence.dedup();
    evidence
}

impl ActiveFacts<'_> {
    /// `value` and `explanation` as the reader may see them: withheld when they state a count
    /// of people from one to four and the reader may not see personal data.
    fn people_shown(
        &self,
        counts: &[usize],
        value: String,
        explanation: String,
    ) -> (String, String) {
        if self.disclosure.withholds_counts(counts) {
            (
                COUNT_NOT_SHOWN_VALUE.to_string(),
                COUNT_NOT_SHOWN.to_string(),
            )
        } else {
            (value, explanation)
        }
    }
}

/// An indicator withheld because it would tell something about the groups of fewer than five
/// people: the same whatever their groups are, with no entries (which would count them).
fn groups_not_shown(key: &str) -> IndicatorResult {
    IndicatorResult {
        state: Some(EvidenceState::NotShown),
        missing_evidence: None,
        key: key.to_string(),
        met: false,
        value: GROUPS_NOT_SHOWN_VALUE.to_string(),
        explanation: GROUPS_NOT_SHOWN.to_string(),
        evidence: Vec::new(),
    }
}

/// "a of b is at least p %", compared in integers.
fn at_least(a: usize, b: usize, p: u64) -> bool {
    b > 0 && 100 * a as u64 >= p * b as u64
}
