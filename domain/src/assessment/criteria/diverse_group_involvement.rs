//! Criterion 4, diverse group involvement: the priority groups named at registration take part
//! (`priority_groups_reached`), from enough groups (`breadth`), with no single group dominating
//! (`no_single_group_dominates`).

use std::collections::{BTreeMap, BTreeSet};

use super::{groups_not_shown, indicator};
use crate::assessment::facts::{ActiveFacts, Person};
use crate::assessment::types::IndicatorResult;
use crate::assessment::wording::{people_count, percent, SMALL_COUNT};
use crate::events::ParticipantKind;
use crate::rubric::Parameters;
use crate::validate::group_key;

impl<'a> ActiveFacts<'a> {
    /// The people with lived experience who took part, with their join entries.
    /// In id order: which label of a group is shown must not depend on any map's order.
    fn ple_who_took_part(&self) -> Vec<(&'a str, &Person<'a>)> {
        self.ple_took_part
            .iter()
            .filter_map(|w| {
                let p = self.participant(*w);
                p.person.as_ref().map(|person| (p.id, person))
            })
            .collect()
    }

    /// The people whose groups count towards the priority groups: people with lived experience
    /// and community organisations who took part, whose groups are known.
    fn priority_group_people(&self) -> usize {
        self.participants
            .iter()
            .filter(|p| p.took_part)
            .filter_map(|p| p.person.as_ref())
            .filter(|person| {
                person.kind.is_lived_experience()
                    || person.kind == ParticipantKind::CommunityOrganisation
            })
            .filter(|person| person.groups.is_some())
            .count()
    }

    /// The people with lived experience who took part whose groups are known.
    fn ple_with_known_groups(&self) -> usize {
        self.ple_who_took_part()
            .iter()
            .filter(|(_, person)| person.groups.is_some())
            .count()
    }

    pub(super) fn priority_groups_reached(&self) -> IndicatorResult {
        if self
            .disclosure
            .withholds_groups_of(self.priority_group_people())
        {
            return groups_not_shown("priority_groups_reached");
        }
        let priorities: BTreeMap<String, &str> = self
            .registration
            .priority_groups
            .iter()
            .map(|g| (group_key(g), g.trim()))
            .collect();
        let mut evidence = vec![self.registered_at];
        let mut reached = BTreeSet::new();
        for p in self.participants.iter().filter(|p| p.took_part) {
            let Some(person) = &p.person else {
                continue;
            };
            let counts = person.kind.is_lived_experience()
                || person.kind == ParticipantKind::CommunityOrganisation;
            if !counts {
                continue;
            }
            for group in person.groups.into_iter().flatten() {
                let key = group_key(group);
                if priorities.contains_key(&key) {
                    reached.insert(key);
                    evidence.push(person.joined_at);
                }
            }
        }
        let (k, n) = (reached.len(), priorities.len());
        let met = n > 0 && k == n;
        let value = format!("{k} of {n} groups");
        let missing: Vec<String> = priorities
            .iter()
            .filter(|(key, _)| !reached.contains(*key))
            .map(|(_, label)| format!("'{label}'"))
            .collect();
        let explanation = if n == 0 {
            "No priority groups were named when the project was registered, so reaching them cannot be shown.".to_string()
        } else if met {
            format!("All {n} priority groups named at registration took part.")
        } else {
            format!(
                "{k} of the {n} priority groups named at registration took part. Not yet reached: {}.",
                missing.join(", ")
            )
        };
        indicator("priority_groups_reached", met, value, explanation, evidence)
    }

    pub(super) fn breadth(&self, p: &Parameters) -> IndicatorResult {
        if self
            .disclosure
            .withholds_groups_of(self.ple_with_known_groups())
        {
            return groups_not_shown("breadth");
        }
        let ple = self.ple_who_took_part();
        let groups: BTreeSet<String> = ple
            .iter()
            .flat_map(|(_, person)| person.groups.into_iter().flatten().map(|g| group_key(g)))
            .collect();
        let evidence: Vec<u64> = ple.iter().map(|(_, person)| person.joined_at).collect();
        let (k, min) = (groups.len(), p.min_groups);
        let met = k as u64 >= min;
        let value = format!("{k} groups");
        let explanation = if met {
            format!(
                "The people with lived experience who took part come from {k} different groups."
            )
        } else {
            format!(
                "The people with lived experience who took part come from {k} different group(s); at least {min} are needed."
            )
        };
        indicator("breadth", met, value, explanation, evidence)
    }

    pub(super) fn no_single_group_dominates(&self, p: &Parameters) -> IndicatorResult {
        if self
            .disclosure
            .withholds_groups_of(self.ple_with_known_groups())
        {
            return groups_not_shown("no_single_group_dominates");
        }
        let ple = self.ple_who_took_part();
        // Shares are of the people whose groups are known: an erased participant's group is
        // unknown, not "unspecified".
        let known: Vec<&[String]> = ple.iter().filter_map(|(_, person)| person.groups).collect();
        let unknown = ple.len() - known.len();
        let mut by_primary: BTreeMap<String, (usize, &str)> = BTreeMap::new();
        for groups in &known {
            let label = groups.first().map_or("unspecified", |g| g.trim());
            by_primary.entry(group_key(label)).or_insert((0, label)).0 += 1;
        }
        // The largest group; ties go to the first in key order, so the answer is stable.
        let largest = by_primary
            .values()
            .fold(None::<(usize, &str)>, |best, &(count, label)| match best {
                Some((best_count, _)) if best_count >= count => best,
                _ => Some((count, label)),
            });
        let total = known.len();
        let share = p.max_group_share;
        let (count, label) = largest.unwrap_or((0, "none"));
        let met = total > 0 && 100 * count as u64 <= share * total as u64;
        let evidence: Vec<u64> = ple.iter().map(|(_, person)| person.joined_at).collect();
        // Counts of people below [`SMALL_COUNT`] are never shown, nor a share that would give them away.
        let shown = if count < SMALL_COUNT {
            None
        } else {
            Some(percent(count, total))
        };
        let value = match shown {
            Some(pct) => format!("largest group {count} of {total} people ({pct}%)"),
            None if total < SMALL_COUNT => format!("fewer than {SMALL_COUNT} people in all"),
            None => format!("largest group fewer than {SMALL_COUNT} of {total} people"),
        };
        let of_them = match shown {
            Some(pct) => format!(
                "is {count} of the {total} people with lived experience who took part ({pct}%)"
            ),
            None if total < SMALL_COUNT => format!(
                "is the largest group of the fewer than {SMALL_COUNT} people with lived experience who took part"
            ),
            None => format!(
                "is fewer than {SMALL_COUNT} of the {total} people with lived experience who took part"
            ),
        };
        let mut explanation = if total == 0 && unknown == 0 {
            "Nobody with lived experience has taken part yet.".to_string()
        } else if total == 0 {
            "The groups of the people with lived experience who took part are not known."
                .to_string()
        } else if met {
            format!("No single group dominates: the largest, '{label}', {of_them}.")
        } else {
            format!(
                "One group dominates: '{label}' {of_them}; no group should be more than {share}%."
            )
        };
        if unknown > 0 {
            explanation.push_str(&format!(
                " The groups of {} whose personal data was erased are unknown and not counted.",
                people_count(unknown)
            ));
        }
        indicator(
            "no_single_group_dominates",
            met,
            value,
            explanation,
            evidence,
        )
    }
}
