//! Criterion 1, whole life involvement: people with lived experience take part from the start
//! (`from_the_start`), in every stage reached (`every_stage`), and stay involved across stages
//! (`sustained`).

use std::collections::BTreeSet;

use super::{at_least, indicator};
use crate::assessment::facts::ActiveFacts;
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{people, percent, share_value, stage_names};
use crate::events::Stage;
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    pub(super) fn involved_from_the_start(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut who = Vec::new();
        for (person, stages) in self.ple_taking_part() {
            let seqs = &stages[Stage::Commission.index()];
            if !seqs.is_empty() {
                who.push(person);
                evidence.extend(seqs);
            }
        }
        evidence.extend(self.joins_of(who.iter().copied()));
        evidence.extend(self.stages_reached.get(&Stage::Commission));
        let met = !who.is_empty();
        let value = format!(
            "{} with lived experience in 'commission'",
            people(who.len())
        );
        let explanation = if met {
            format!(
                "People with lived experience were involved from the start: {} took part in the 'commission' stage, where the project decides what is needed.",
                people(who.len())
            )
        } else {
            "Nobody with lived experience took part in the 'commission' stage, where the project decides what is needed.".to_string()
        };
        let (value, explanation) = self.people_shown(&[who.len()], value, explanation);
        indicator("from_the_start", met, value, explanation, evidence)
    }

    pub(super) fn every_stage(&self) -> IndicatorResult {
        let reached: Vec<Stage> = self.stages_reached.keys().copied().collect();
        let mut evidence: Vec<u64> = self.stages_reached.values().copied().collect();
        let mut involved = BTreeSet::new();
        for (_, stages) in self.ple_taking_part() {
            for stage in Stage::ALL {
                let seqs = &stages[stage.index()];
                if !seqs.is_empty() && self.stages_reached.contains_key(&stage) {
                    involved.insert(stage);
                    evidence.extend(seqs);
                }
            }
        }
        let missing: Vec<Stage> = reached
            .iter()
            .copied()
            .filter(|s| !involved.contains(s))
            .collect();
        let (k, n) = (involved.len(), reached.len());
        let met = n > 0 && missing.is_empty();
        let value = format!("{k} of {n} stages");
        let explanation = if n == 0 {
            "No stage of the project has started yet, so involvement in every stage cannot be shown.".to_string()
        } else if met {
            match n {
                1 => "People with lived experience took part in the one stage reached so far."
                    .to_string(),
                _ => format!(
                    "People with lived experience took part in all {n} stages reached so far."
                ),
            }
        } else {
            format!(
                "People with lived experience took part in {k} of {n} stages. Nobody with lived experience took part in {} {}.",
                if missing.len() == 1 { "the" } else { "these stages:" },
                if missing.len() == 1 {
                    format!("{} stage", stage_names(&missing))
                } else {
                    stage_names(&missing)
                }
            )
        };
        indicator("every_stage", met, value, explanation, evidence)
    }

    pub(super) fn sustained(&self, p: &Parameters) -> IndicatorResult {
        let mut evidence: Vec<u64> = self.stages_reached.values().copied().collect();
        let mut sustained = 0;
        for (_, stages) in self.ple_taking_part() {
            if stages.iter().filter(|seqs| !seqs.is_empty()).count() >= 2 {
                sustained += 1;
                evidence.extend(stages.iter().flatten());
            }
        }
        let total = self.ple_took_part.len();
        let reached = self.stages_reached.len();
        let share = p.sustained_share;
        let met = reached >= 2 && at_least(sustained, total, share);
        let value = share_value(sustained, total, "people");
        let explanation = if reached < 2 {
            format!("Only {reached} stage(s) reached so far; involvement can be sustained only across at least two stages.")
        } else if total == 0 {
            "Nobody with lived experience has taken part in any stage yet.".to_string()
        } else if met {
            format!(
                "{} of the {total} people with lived experience who took part stayed involved across two or more stages ({}%).",
                sustained,
                percent(sustained, total)
            )
        } else {
            format!(
                "Only {sustained} of the {total} people with lived experience who took part stayed involved across two or more stages ({}%); at least {share}% is needed.",
                percent(sustained, total)
            )
        };
        let (value, explanation) =
            self.people_shown(&[sustained, total, total - sustained], value, explanation);
        indicator("sustained", met, value, explanation, evidence)
    }
}
