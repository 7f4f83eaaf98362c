//! Plain English for version 2's texts: numbers one to ten in words, "none" rather than "0 of",
//! plurals without "(s)", and counts of people below five never shown (DESIGN rule 8).

use crate::assessment::SMALL_COUNT;
use crate::events::{ActivityMode, DecisionEffect, LadderRung, Stage};
use crate::words::noun;

/// A number as a reader says it: one to ten in words, larger numbers in figures.
pub fn number(n: usize) -> String {
    const WORDS: [&str; 11] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |word| (*word).to_string())
}

/// The same text with its first letter in capitals.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "one stage", "three stages".
pub fn count_of(n: usize, singular: &str, plural: &str) -> String {
    format!("{} {}", number(n), noun(n, singular, plural))
}

/// "none of the four", "all three", "two of the four" (for things, not people).
pub fn of(k: usize, n: usize) -> String {
    match (k, n) {
        (0, _) => format!("none of the {}", number(n)),
        (k, n) if k == n && n == 1 => "the one".to_string(),
        (k, n) if k == n && n == 2 => "both".to_string(),
        (k, n) if k == n => format!("all {}", number(n)),
        (k, n) => format!("{} of the {}", number(k), number(n)),
    }
}

/// A short value: "none of 4", "all 3", "2 of 4" as words.
pub fn value_of(k: usize, n: usize, noun: &str) -> String {
    match (k, n) {
        (0, 1) => format!("not the one {noun}"),
        (1, 1) => format!("the one {noun}"),
        (0, n) => format!("none of {} {noun}", number(n)),
        (k, n) => format!("{} of {} {noun}", number(k), number(n)),
    }
}

/// A share of things that stand for people (people, their sessions, their payments), never
/// giving away a count below five: "six of the eight people", "fewer than five of the eight
/// sessions", "all but fewer than five of the 12 people", "some of the fewer than five people".
pub fn hidden_of(k: usize, n: usize, things: &str) -> String {
    let small = |c: usize| c > 0 && c < SMALL_COUNT;
    if n == 0 {
        return format!("none of the {things}");
    }
    if n < SMALL_COUNT {
        return match k {
            0 => format!("none of the fewer than five {things}"),
            k if k == n => format!("all of the fewer than five {things}"),
            _ => format!("some of the fewer than five {things}"),
        };
    }
    match k {
        0 => format!("none of the {} {things}", number(n)),
        k if k == n => format!("all {} {things}", number(n)),
        k if small(k) => format!("fewer than five of the {} {things}", number(n)),
        k if small(n - k) => format!("all but fewer than five of the {} {things}", number(n)),
        k => format!("{} of the {} {things}", number(k), number(n)),
    }
}

/// "was" or "were" after [`hidden_of`]: singular only when exactly one is shown.
pub fn was_or_were(k: usize, n: usize) -> &'static str {
    if k == 1 && n == 1 {
        "was"
    } else {
        "were"
    }
}

/// [`hidden_of`] for people.
pub fn people_of(k: usize, n: usize) -> String {
    hidden_of(k, n, "people")
}

/// A short value for a share of things that stand for people: "6 of 8 people" in words, hidden
/// below five.
pub fn hidden_value(k: usize, n: usize, things: &str) -> String {
    hidden_of(k, n, things)
        .replace(" of the ", " of ")
        .replace("all of ", "all ")
}

/// [`hidden_value`] for people.
pub fn people_value(k: usize, n: usize) -> String {
    hidden_value(k, n, "people")
}

/// "a, b and c".
pub fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// ⌊100·a ÷ b⌋, or 0 when b is 0.
pub fn percent(a: usize, b: usize) -> u64 {
    (100 * a as u64).checked_div(b as u64).unwrap_or(0)
}

/// "a of b is at least p %", compared in integers.
pub fn at_least(a: usize, b: usize, p: u64) -> bool {
    b > 0 && 100 * a as u64 >= p * b as u64
}

/// Pence as pounds: "£12.21".
pub fn money(pence: i64) -> String {
    format!("£{}.{:02}", pence / 100, pence % 100)
}

pub fn stage(stage: Stage) -> &'static str {
    stage.as_str()
}

/// "the design stage", "the design and deliver stages".
pub fn stages(list: &[Stage]) -> String {
    let names: Vec<String> = list.iter().map(|s| stage(*s).to_string()).collect();
    match list.len() {
        1 => format!("the {} stage", names[0]),
        _ => format!("the {} stages", listed(&names)),
    }
}

pub fn rung(rung: LadderRung) -> &'static str {
    match rung {
        LadderRung::Coercion => "coercion",
        LadderRung::Educating => "educating",
        LadderRung::Informing => "informing",
        LadderRung::Consultation => "consultation",
        LadderRung::Engagement => "engagement",
        LadderRung::CoDesign => "co-design",
        LadderRung::CoProduction => "co-production",
    }
}

pub fn mode(mode: ActivityMode) -> &'static str {
    match mode {
        ActivityMode::InPerson => "in person",
        ActivityMode::Online => "online",
        ActivityMode::Hybrid => "hybrid",
        ActivityMode::Phone => "by phone",
        ActivityMode::Written => "in writing",
    }
}

/// What a decision did to the project, as a past participle: "paused".
pub fn effect(effect: DecisionEffect) -> &'static str {
    match effect {
        DecisionEffect::Pause => "paused",
        DecisionEffect::Stop => "stopped",
        DecisionEffect::Close => "closed",
        DecisionEffect::ScopeChange => "changed",
    }
}
