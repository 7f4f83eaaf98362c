//! Criterion 2, blurred boundaries: people with lived experience take roles usually held by
//! professionals (`lived_experience_in_professional_roles`), help to facilitate
//! (`shared_facilitation`), and professionals learn from them (`learning_both_ways`).

use std::collections::BTreeSet;

use super::{at_least, indicator};
use crate::assessment::facts::{ActiveFacts, Activity};
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{people, percent, role_name, share_value};
use crate::events::{ActivityKind, Role};
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    pub(super) fn professional_roles(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut roles = BTreeSet::new();
        let mut who = BTreeSet::new();
        let mut taken = 0;
        for (seq, r, w) in &self.roles {
            if r.role.is_professional_role() && self.is_ple(*w) {
                taken += 1;
                evidence.push(*seq);
                roles.insert(role_name(r.role));
                who.insert(*w);
            }
        }
        evidence.extend(self.joins_of(who.iter().copied()));
        let met = !roles.is_empty();
        let roles: Vec<&str> = roles.into_iter().collect();
        let value = format!("{taken} role(s) taken by {}", people(who.len()));
        let explanation = if met {
            format!(
                "People with lived experience took on roles usually held by professionals: {}.",
                roles.join(", ")
            )
        } else {
            "No person with lived experience has taken a role usually held by professionals, such as co-chair, co-facilitator, co-trainer, co-researcher, quality assurer or member of a recruitment panel.".to_string()
        };
        let (value, explanation) = self.people_shown(&[who.len()], value, explanation);
        indicator(
            "lived_experience_in_professional_roles",
            met,
            value,
            explanation,
            evidence,
        )
    }

    pub(super) fn shared_facilitation(&self, p: &Parameters) -> IndicatorResult {
        let facilitated: Vec<&Activity<'a>> = self
            .activities
            .iter()
            .filter(|a| !a.facilitators.is_empty())
            .collect();
        let with_ple = facilitated.iter().filter(|a| a.facilitated_by_ple).count();
        let total = facilitated.len();
        let share = p.shared_facilitation_share;
        let met = at_least(with_ple, total, share);
        let evidence: Vec<u64> = facilitated.iter().map(|a| a.seq).collect();
        let value = share_value(with_ple, total, "activities");
        let explanation = if total == 0 {
            "No activity with a facilitator has been recorded yet.".to_string()
        } else if met {
            format!(
                "People with lived experience helped to facilitate {with_ple} of the {total} activities that had facilitators ({}%).",
                percent(with_ple, total)
            )
        } else {
            format!(
                "People with lived experience helped to facilitate only {with_ple} of the {total} activities that had facilitators ({}%); at least {share}% is needed.",
                percent(with_ple, total)
            )
        };
        indicator("shared_facilitation", met, value, explanation, evidence)
    }

    pub(super) fn learning_both_ways(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut learners = BTreeSet::new();
        for (seq, r, w) in &self.roles {
            if r.role == Role::Learner && self.is_professional(*w) {
                evidence.push(*seq);
                learners.insert(*w);
            }
        }
        for a in &self.activities {
            if a.held.kind == ActivityKind::Training && a.facilitated_by_ple {
                let mut trained = a
                    .attendees
                    .iter()
                    .copied()
                    .filter(|w| self.is_professional(*w))
                    .peekable();
                if trained.peek().is_some() {
                    evidence.push(a.seq);
                    learners.extend(trained);
                }
            }
        }
        let met = !learners.is_empty();
        let value = format!("{} professional(s) learning", learners.len());
        let explanation = if met {
            format!(
                "{} learned from people with lived experience, as a learner or at training they facilitated.",
                match learners.len() {
                    1 => "1 professional".to_string(),
                    n => format!("{n} professionals"),
                }
            )
        } else {
            "No professional has been recorded learning from people with lived experience: none took the 'learner' role or attended training facilitated by a person with lived experience.".to_string()
        };
        let (value, explanation) = self.people_shown(&[learners.len()], value, explanation);
        indicator("learning_both_ways", met, value, explanation, evidence)
    }
}
