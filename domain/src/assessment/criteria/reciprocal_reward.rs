//! Criterion 3, reciprocal reward: people with lived experience who take part are rewarded
//! beyond expenses (`rewarded_beyond_expenses`), gain learning or opportunities (`development`),
//! and are rewarded soon after the activity (`timely`).

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};

use super::{at_least, indicator};
use crate::assessment::facts::{ActiveFacts, IdMap};
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{entry_list, name_some, people, percent, share_value};
use crate::events::RewardKind;
use crate::rubric::Parameters;

impl<'a> ActiveFacts<'a> {
    pub(super) fn rewarded_beyond_expenses(&self, p: &Parameters) -> IndicatorResult {
        let mut evidence = Vec::new();
        // Flags by participant index, and how many are set.
        let mut took_part = vec![false; self.participants.len()];
        let mut n = 0;
        for a in &self.activities {
            for who in a.facilitators.iter().chain(&a.attendees) {
                if self.is_ple(*who) {
                    let seen = &mut took_part[*who as usize];
                    n += usize::from(!*seen);
                    *seen = true;
                    evidence.push(a.seq);
                }
            }
        }
        let mut rewarded = vec![false; self.participants.len()];
        let mut k = 0;
        for (seq, r, w) in &self.rewards {
            let counts = match r.kind {
                RewardKind::Expenses => false,
                kind if kind.is_money() => r.amount_pence.unwrap_or(0) > 0,
                _ => true,
            };
            if counts && took_part[*w as usize] {
                let seen = &mut rewarded[*w as usize];
                k += usize::from(!*seen);
                *seen = true;
                evidence.push(*seq);
            }
        }
        let share = p.reward_share;
        let met = at_least(k, n, share);
        let value = share_value(k, n, "people");
        let not_rewarded = || {
            let mut ids: Vec<&str> = (0..self.participants.len())
                .filter(|w| took_part[*w] && !rewarded[*w])
                .map(|w| self.participants[w].id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let explanation = if n == 0 {
            "No person with lived experience has attended or facilitated an activity yet."
                .to_string()
        } else if met {
            format!(
                "{k} of the {n} people with lived experience who took part in activities received a reward beyond expenses ({}%).",
                percent(k, n)
            )
        } else if self.disclosure.is_full() {
            format!(
                "Only {k} of the {n} people with lived experience who took part in activities received a reward beyond expenses ({}%); at least {share}% is needed. Not rewarded beyond expenses: {}.",
                percent(k, n),
                name_some(not_rewarded())
            )
        } else {
            // Who was not rewarded is not told to readers who may not see personal data.
            format!(
                "Only {k} of the {n} people with lived experience who took part in activities received a reward beyond expenses ({}%); at least {share}% is needed.",
                percent(k, n)
            )
        };
        let (value, explanation) = self.people_shown(&[k, n, n - k], value, explanation);
        indicator(
            "rewarded_beyond_expenses",
            met,
            value,
            explanation,
            evidence,
        )
    }

    pub(super) fn development(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut who = BTreeSet::new();
        for (seq, r, w) in &self.rewards {
            if matches!(r.kind, RewardKind::Learning | RewardKind::Opportunity) && self.is_ple(*w) {
                evidence.push(*seq);
                who.insert(*w);
            }
        }
        let met = !who.is_empty();
        let value = format!("{} developed", people(who.len()));
        let explanation = if met {
            format!(
                "{} with lived experience received learning or a new opportunity through the project.",
                people(who.len())
            )
        } else {
            "No person with lived experience has received a 'learning' or 'opportunity' reward."
                .to_string()
        };
        let (value, explanation) = self.people_shown(&[who.len()], value, explanation);
        indicator("development", met, value, explanation, evidence)
    }

    pub(super) fn timely(&self, p: &Parameters) -> IndicatorResult {
        // The latest activity under each id, as in a map collected in entry order.
        let activities: IdMap<&str, (u64, NaiveDate)> = self
            .activities
            .iter()
            .map(|a| (a.held.activity_id.as_str(), (a.seq, a.held.occurred_on)))
            .collect();
        let mut evidence = Vec::new();
        let mut named = 0;
        let mut untimely = Vec::new();
        for (seq, r, _) in &self.rewards {
            // Only the activity recorded before the reward (see `influence`, equal valuation of assets).
            let Some((activity_seq, held_on)) = r
                .activity_id
                .as_deref()
                .and_then(|id| activities.get(id))
                .filter(|(activity_seq, _)| activity_seq < seq)
            else {
                continue;
            };
            named += 1;
            evidence.push(*seq);
            evidence.push(*activity_seq);
            let deadline = held_on.checked_add_days(Days::new(p.reward_days));
            let on_time = r.occurred_on >= *held_on && deadline.is_some_and(|d| r.occurred_on <= d);
            if !on_time {
                untimely.push(*seq);
            }
        }
        let on_time = named - untimely.len();
        let met = named > 0 && untimely.is_empty();
        let value = format!("{on_time} of {named} rewards on time");
        let days = p.reward_days;
        let explanation = if named == 0 {
            "No reward has been linked to the activity it was for, so timeliness cannot be shown."
                .to_string()
        } else if met {
            format!(
                "All {named} rewards linked to an activity were given within {days} days of it."
            )
        } else {
            format!(
                "{} of {named} rewards linked to an activity were not given within {days} days of it ({}).",
                untimely.len(),
                entry_list(&untimely)
            )
        };
        indicator("timely", met, value, explanation, evidence)
    }
}
