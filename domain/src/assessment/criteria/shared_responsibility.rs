//! Criterion 6, shared responsibility: decisions are made together (`shared_decisions`),
//! outcome reviews name people with lived experience as accountable or reviewers
//! (`accountability_shared`), and they help to review what fell short (`failures_owned`).

use super::{at_least, indicator};
use crate::assessment::facts::ActiveFacts;
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{entry_list, percent, share_value};
use crate::events::{OutcomeKind, OutcomeReviewed};
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    pub(super) fn shared_decisions(&self, p: &Parameters) -> IndicatorResult {
        let total = self.decisions.len();
        let not_shared: Vec<u64> = self
            .decisions
            .iter()
            .filter(|(_, d, with_ple)| !(d.method.is_shared() && *with_ple))
            .map(|(seq, _, _)| *seq)
            .collect();
        let shared = total - not_shared.len();
        let share = p.shared_decision_share;
        let met = at_least(shared, total, share);
        let evidence: Vec<u64> = self.decisions.iter().map(|(seq, _, _)| *seq).collect();
        let value = share_value(shared, total, "decisions");
        let explanation = if total == 0 {
            "No decision has been recorded yet.".to_string()
        } else if met {
            format!(
                "{shared} of the {total} decisions were made together with people with lived experience, by consensus, vote or led by them ({}%).",
                percent(shared, total)
            )
        } else {
            format!(
                "Only {shared} of the {total} decisions were made together with people with lived experience ({}%); at least {share}% should be made by consensus, vote or led by them, with them taking part. Not shared: {}.",
                percent(shared, total),
                entry_list(&not_shared)
            )
        };
        indicator("shared_decisions", met, value, explanation, evidence)
    }

    pub(super) fn accountability_shared(&self) -> IndicatorResult {
        let total = self.reviews.len();
        let without: Vec<u64> = self
            .reviews
            .iter()
            .filter(|(_, _, with_ple, _)| !*with_ple)
            .map(|(seq, _, _, _)| *seq)
            .collect();
        let with = total - without.len();
        let met = total > 0 && without.is_empty();
        let evidence: Vec<u64> = self.reviews.iter().map(|(seq, _, _, _)| *seq).collect();
        let value = format!("{with} of {total} reviews");
        let explanation = if total == 0 {
            "No review of outcomes has been recorded yet.".to_string()
        } else if met {
            format!("All {total} outcome reviews name a person with lived experience as accountable or as a reviewer.")
        } else {
            format!(
                "{} of {total} outcome reviews name nobody with lived experience as accountable or as a reviewer ({}).",
                without.len(),
                entry_list(&without)
            )
        };
        indicator("accountability_shared", met, value, explanation, evidence)
    }

    pub(super) fn failures_owned(&self) -> IndicatorResult {
        let setbacks: Vec<&(u64, &OutcomeReviewed, bool, bool)> = self
            .reviews
            .iter()
            .filter(|(_, r, _, _)| r.kind != OutcomeKind::Success)
            .collect();
        let owned = setbacks.iter().filter(|(_, _, _, by_ple)| *by_ple).count();
        let met = owned > 0;
        let evidence: Vec<u64> = setbacks.iter().map(|(seq, _, _, _)| *seq).collect();
        let value = format!("{owned} of {} shortfall or failure reviews", setbacks.len());
        let explanation = if setbacks.is_empty() {
            "No shortfall or failure has been reviewed yet; owning failures means reviewing them together.".to_string()
        } else if met {
            format!(
                "People with lived experience helped to review {owned} of the {} shortfalls or failures.",
                setbacks.len()
            )
        } else {
            format!(
                "None of the {} shortfall or failure reviews had a person with lived experience among the reviewers.",
                setbacks.len()
            )
        };
        indicator("failures_owned", met, value, explanation, evidence)
    }
}
