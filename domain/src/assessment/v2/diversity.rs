//! The fourth criterion, diverse group involvement: priority groups and breadth among the people
//! who talked things through, dominance within one dimension at a time (the groups the project
//! exists for set apart), and access: adjustments made and more than one way to take part.

use crate::words::noun;
use std::collections::{BTreeMap, BTreeSet};

use super::facts::{Facts, Person};
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::assessment::SMALL_COUNT;
use crate::events::{ActivityMode, ParticipantKind};
use crate::rubric::Parameters;
use crate::validate::group_key;

/// The dimensions a group label may name, as `<dimension>: <value>`, with their plain names.
pub const DIMENSIONS: [(&str, &str); 6] = [
    ("ethnicity", "ethnicity"),
    ("impairment", "impairment"),
    ("age_band", "age band"),
    ("locality", "locality"),
    ("carer_status", "carer status"),
    ("language", "language"),
];

/// The dimension and value of a label such as "ethnicity: Somali", if it names a dimension.
pub fn dimension_of(label: &str) -> Option<(&'static str, &str)> {
    let (prefix, value) = label.split_once(':')?;
    let prefix = prefix.trim().to_lowercase().replace(' ', "_");
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    DIMENSIONS
        .iter()
        .find(|(key, _)| *key == prefix)
        .map(|(_, name)| (*name, value))
}

/// Whether a person's groups count towards the priority groups: people with lived experience
/// and community organisations.
fn counts_for_priorities(p: &Person) -> bool {
    p.ple || p.kind() == Some(ParticipantKind::CommunityOrganisation)
}

/// How many people's known groups decide the indicator `key`, if people's groups decide it:
/// those of the priority groups' people who talked things through or gave views, or of the
/// people who talked things through.
pub fn group_people(f: &Facts, key: &str) -> Option<usize> {
    let known = |p: &&Person| p.groups().is_some();
    match key {
        "priority_groups_reached" => Some(
            f.people
                .iter()
                .filter(|p| counts_for_priorities(p))
                .filter(|p| p.has_deliberated() || p.has_been_consulted())
                .filter(known)
                .count(),
        ),
        "breadth" | "no_single_group_dominates" => Some(f.deliberators().filter(known).count()),
        _ => None,
    }
}

pub fn priority_groups_reached(f: &Facts) -> Judged {
    let priorities: BTreeMap<String, &str> = f
        .registration
        .priority_groups
        .iter()
        .map(|g| (group_key(g), g.trim()))
        .collect();
    let mut evidence = vec![f.registered_at];
    if priorities.is_empty() {
        return Judged::new(
            NotRecorded,
            "no priority groups named",
            "No priority groups were named when the project was registered.",
            evidence,
        );
    }
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    let mut reached = BTreeSet::new();
    let mut consulted = BTreeSet::new();
    for person in f.people.iter().filter(|p| counts_for_priorities(p)) {
        let deliberated = person.has_deliberated();
        if !deliberated && !person.has_been_consulted() {
            continue;
        }
        for group in person.groups().into_iter().flatten() {
            let key = group_key(group);
            if priorities.contains_key(&key) {
                if deliberated {
                    reached.insert(key);
                    evidence.push(person.joined_at);
                } else {
                    consulted.insert(key);
                }
            }
        }
    }
    let (k, n) = (reached.len(), priorities.len());
    let value = value_of(k, n, noun(n, "group", "groups"));
    if k == n {
        let text = if n == 1 {
            "The one priority group named at registration took part in talking things through."
                .to_string()
        } else {
            format!(
                "All {} priority groups named at registration took part in talking things through.",
                number(n)
            )
        };
        return Judged::new(Met, value, text, evidence);
    }
    let missing: Vec<String> = priorities
        .iter()
        .filter(|(key, _)| !reached.contains(*key))
        .map(|(_, label)| format!("'{label}'"))
        .collect();
    let mut text = if n == 1 {
        format!(
            "The one priority group named at registration, {}, did not take part in talking things through.",
            listed(&missing)
        )
    } else {
        format!(
            "{} priority groups named at registration took part in talking things through. Not yet: {}.",
            capitalised(&of(k, n)),
            listed(&missing)
        )
    };
    let only_views: Vec<String> = priorities
        .iter()
        .filter(|(key, _)| consulted.contains(*key) && !reached.contains(*key))
        .map(|(_, label)| format!("'{label}'"))
        .collect();
    if !only_views.is_empty() {
        text.push_str(&format!(" Only asked for views: {}.", listed(&only_views)));
    }
    Judged::new(NotMet, value, text, evidence)
}

pub fn breadth(f: &Facts, p: &Parameters) -> Judged {
    let deliberators: Vec<&Person> = f.deliberators().collect();
    let evidence = f.joins(deliberators.iter().copied());
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    if deliberators.is_empty() {
        return Judged::new(
            NotMet,
            "nobody talked things through",
            "Nobody with lived experience has talked things through yet.",
            evidence,
        );
    }
    let groups: BTreeSet<String> = deliberators
        .iter()
        .flat_map(|person| person.groups().into_iter().flatten())
        .map(|g| group_key(g))
        .filter(|key| !f.served.contains(key))
        .collect();
    let any_known = deliberators
        .iter()
        .any(|person| person.groups().is_some_and(|g| !g.is_empty()));
    if !any_known {
        return Judged::new(
            NotRecorded,
            "groups not known",
            "The groups of the people who talked things through are not known.",
            evidence,
        );
    }
    let (k, min) = (groups.len(), p.min_groups as usize);
    let met = k >= min;
    let apart = if f.served.is_empty() {
        ""
    } else {
        ", not counting the groups the project is for"
    };
    let mut text = format!(
        "The people with lived experience who talked things through come from {}{apart}.",
        match k {
            0 => "no other group".to_string(),
            k => count_of(k, "group", "different groups"),
        }
    );
    if !met {
        text.push_str(&format!(" At least {} are needed.", number(min)));
    }
    Judged::new(
        if met { Met } else { NotMet },
        count_of(k, "group", "groups"),
        text,
        evidence,
    )
}

pub fn no_single_group_dominates(f: &Facts, p: &Parameters) -> Judged {
    let deliberators: Vec<&Person> = f.deliberators().collect();
    let evidence = f.joins(deliberators.iter().copied());
    if deliberators.is_empty() {
        return Judged::new(
            NotApplicable,
            "nobody talked things through",
            "Nobody with lived experience has talked things through yet.",
            evidence,
        );
    }
    // Dimension → value key → (people, a label to show); each person once per value.
    let mut dimensions: BTreeMap<&str, BTreeMap<String, (usize, String)>> = BTreeMap::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for person in &deliberators {
        let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
        for label in person.groups().into_iter().flatten() {
            if f.served.contains(&group_key(label)) {
                continue;
            }
            let Some((dimension, value)) = dimension_of(label) else {
                continue;
            };
            let key = group_key(value);
            if !seen.insert((dimension, key.clone())) {
                continue;
            }
            if !seen.iter().any(|(d, k)| *d == dimension && *k != key) {
                *totals.entry(dimension).or_default() += 1;
            }
            dimensions
                .entry(dimension)
                .or_default()
                .entry(key)
                .or_insert((0, value.to_string()))
                .0 += 1;
        }
    }
    if dimensions.is_empty() {
        return Judged::new(
            NotRecorded,
            "no dimension recorded",
            "No group of the people who talked things through names a dimension, such as 'ethnicity: Somali'.",
            evidence,
        );
    }
    let judged: Vec<(&str, usize)> = totals
        .iter()
        .filter(|(_, total)| **total >= SMALL_COUNT)
        .map(|(d, t)| (*d, *t))
        .collect();
    if judged.is_empty() {
        return Judged::new(
            NotApplicable,
            "too few people to judge",
            "Fewer than five people have a group in each dimension, too few to judge without singling people out.",
            evidence,
        );
    }
    let share = p.max_group_share;
    let mut dominated = Vec::new();
    for (dimension, total) in &judged {
        let largest = dimensions[dimension]
            .values()
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        if let Some((count, label)) = largest {
            if 100 * *count as u64 > share * *total as u64 {
                dominated.push(format!(
                    "in {dimension}, '{label}' is more than {share}% of the {} people",
                    number(*total)
                ));
            }
        }
    }
    let names: Vec<String> = judged.iter().map(|(d, _)| d.to_string()).collect();
    let apart = if f.served.is_empty() {
        ""
    } else {
        " The groups the project is for are not counted."
    };
    if dominated.is_empty() {
        return Judged::new(
            Met,
            format!("judged by {}", listed(&names)),
            format!(
                "No single group is more than {share}% of the people who talked things through, by {}.{apart}",
                listed(&names)
            ),
            evidence,
        );
    }
    Judged::new(
        NotMet,
        format!(
            "dominated in {}",
            count_of(dominated.len(), "dimension", "dimensions")
        ),
        format!("One group dominates: {}.{apart}", listed(&dominated)),
        evidence,
    )
}

pub fn adjustments_made(f: &Facts) -> Judged {
    let recorded: Vec<_> = f
        .activities
        .iter()
        .filter(|a| a.held.adjustments_requested.is_some())
        .collect();
    let evidence: Vec<u64> = recorded.iter().map(|a| a.seq).collect();
    if recorded.is_empty() {
        return Judged::new(
            NotRecorded,
            "not recorded",
            "It is not on record whether people asked for changes to help them take part.",
            evidence,
        );
    }
    let asked: i64 = recorded
        .iter()
        .filter_map(|a| a.held.adjustments_requested)
        .sum();
    let made: i64 = recorded
        .iter()
        .map(|a| a.held.adjustments_provided.unwrap_or(0))
        .sum();
    if asked == 0 {
        return Judged::new(
            NotApplicable,
            "none asked for",
            "Nobody asked for an adjustment.",
            evidence,
        );
    }
    let (asked, made) = (asked as usize, made.min(asked) as usize);
    if made == asked {
        return Judged::new(
            Met,
            "all made",
            "Every adjustment people asked for was made.",
            evidence,
        );
    }
    let made_words = match made {
        0 => "None of the adjustments people asked for were made.".to_string(),
        m if m < SMALL_COUNT || asked - m < SMALL_COUNT => {
            "Some of the adjustments people asked for were not made.".to_string()
        }
        m => format!(
            "{} of the {} adjustments people asked for were made.",
            capitalised(&number(m)),
            number(asked)
        ),
    };
    Judged::new(NotMet, "not all made", made_words, evidence)
}

pub fn ways_to_take_part(f: &Facts) -> Judged {
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    let with_ple: Vec<_> = f
        .activities
        .iter()
        .filter(|a| a.everyone().any(|w| f.is_ple(w)))
        .filter(|a| a.held.mode.is_some() || a.held.locality.is_some())
        .collect();
    let evidence: Vec<u64> = with_ple.iter().map(|a| a.seq).collect();
    if with_ple.is_empty() {
        return Judged::new(
            NotRecorded,
            "not recorded",
            "No activity that people with lived experience took part in records how or where it was held.",
            evidence,
        );
    }
    let modes: BTreeSet<ActivityMode> = with_ple.iter().filter_map(|a| a.held.mode).collect();
    let places: BTreeSet<String> = with_ple
        .iter()
        .filter_map(|a| a.held.locality.as_deref())
        .map(group_key)
        .collect();
    let ways: Vec<String> = modes.iter().map(|m| mode(*m).to_string()).collect();
    if modes.contains(&ActivityMode::Hybrid) || modes.len() >= 2 {
        return Judged::new(
            Met,
            listed(&ways),
            format!(
                "People could take part in more than one way: {}.",
                listed(&ways)
            ),
            evidence,
        );
    }
    if places.len() >= 2 {
        return Judged::new(
            Met,
            count_of(places.len(), "place", "places"),
            format!(
                "Activities were held in {}.",
                count_of(places.len(), "place", "different places")
            ),
            evidence,
        );
    }
    let how = match ways.first() {
        Some(way) => format!(" ({way})"),
        None => String::new(),
    };
    Judged::new(
        NotMet,
        "one way only",
        format!("Every activity was held the same way{how} and in one place at most."),
        evidence,
    )
}
