//! Plain-English words for the values the pages show, and the marks that say a rating in words
//! and shape as well as colour.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use coprod_domain::assessment::{EvidenceState, IndicatorResult, Rating};
use coprod_domain::recorded::parse_instant;
use coprod_domain::rubric;
use coprod_domain::LadderRung;
use maud::{html, Markup};

use coprod_domain::assessment::SMALL_COUNT;

use crate::app::caller::{organisation_slug, ALL_ORGANISATIONS};
use crate::store::AccessRole;

pub fn role(role: AccessRole) -> &'static str {
    match role {
        AccessRole::Recorder => "recorder",
        AccessRole::Assurance => "assurance officer",
        AccessRole::Panel => "scrutiny panel",
        AccessRole::Admin => "administrator",
    }
}

pub fn organisation(organisation: &str) -> String {
    if organisation == ALL_ORGANISATIONS {
        "all organisations".into()
    } else {
        organisation.to_string()
    }
}

/// An organisation as people know it, beside its slug: "Oxfordshire County Council
/// (oxfordshire)", or the slug alone when no registration names it.
pub fn organisation_named(organisation: &str, names: &BTreeMap<String, String>) -> String {
    match names.get(&organisation_slug(organisation)) {
        Some(name) if organisation != ALL_ORGANISATIONS => format!("{name} ({organisation})"),
        _ => self::organisation(organisation),
    }
}

pub fn rating(rating: Rating) -> &'static str {
    match rating {
        Rating::Met => "Met",
        Rating::PartlyMet => "Partly met",
        Rating::NotMet => "Not met",
        Rating::InsufficientEvidence => "Cannot be judged yet",
    }
}

/// A rating as a tag: the word, a symbol (so that it never rests on colour), and a colour.
pub fn rating_tag(rating: Rating) -> Markup {
    let (class, symbol) = match rating {
        Rating::Met => ("govuk-tag--green", "✓"),
        Rating::PartlyMet => ("govuk-tag--yellow", "◐"),
        Rating::NotMet => ("govuk-tag--red", "✗"),
        Rating::InsufficientEvidence => ("govuk-tag--grey", "?"),
    };
    html! {
        strong class={ "govuk-tag app-rating " (class) } {
            span aria-hidden="true" { (symbol) " " } (self::rating(rating))
        }
    }
}

/// An indicator's result as a tag.
pub fn met_tag(met: bool) -> Markup {
    html! {
        @if met {
            strong class="govuk-tag govuk-tag--green app-rating" { span aria-hidden="true" { "✓ " } "Met" }
        } @else {
            strong class="govuk-tag govuk-tag--red app-rating" { span aria-hidden="true" { "✗ " } "Not met" }
        }
    }
}

/// What the evidence says of an indicator, in words (version 2 on).
pub fn evidence_state(state: EvidenceState) -> &'static str {
    match state {
        EvidenceState::Met => "Met",
        EvidenceState::NotMet => "Not met",
        EvidenceState::NotApplicable => "Does not apply yet",
        EvidenceState::NotRecorded => "Not recorded",
        EvidenceState::NotShown => "Not shown",
    }
}

/// An indicator's result as a tag: its state from version 2 on (word, symbol and colour), met
/// or not met under version 1.
pub fn indicator_tag(indicator: &IndicatorResult) -> Markup {
    let Some(state) = indicator.state else {
        return met_tag(indicator.met);
    };
    let (class, symbol) = match state {
        EvidenceState::Met => ("govuk-tag--green", "✓"),
        EvidenceState::NotMet => ("govuk-tag--red", "✗"),
        EvidenceState::NotApplicable => ("govuk-tag--grey", "–"),
        EvidenceState::NotRecorded => ("govuk-tag--yellow", "?"),
        EvidenceState::NotShown => ("govuk-tag--grey", "–"),
    };
    html! {
        strong class={ "govuk-tag app-rating " (class) } {
            span aria-hidden="true" { (symbol) " " } (evidence_state(state))
        }
    }
}

/// A rung of the ladder of participation as the published rubric names it ("Co-production").
pub fn rung(rung: LadderRung) -> String {
    rubric::latest()
        .rubric
        .ladder
        .iter()
        .flatten()
        .find(|step| step.rung == rung)
        .map(|step| step.title.clone())
        .unwrap_or_else(|| {
            let key = serde_json::to_value(rung)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            field(&key)
        })
}

/// A rating from the views' scorecard (`"met"`, `"partly_met"`, `"not_met"`).
pub fn rating_from_key(key: &str) -> Option<Rating> {
    match key {
        "met" => Some(Rating::Met),
        "partly_met" => Some(Rating::PartlyMet),
        "not_met" => Some(Rating::NotMet),
        "insufficient_evidence" => Some(Rating::InsufficientEvidence),
        _ => None,
    }
}

/// `1 March 2025`.
pub fn date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// A `YYYY-MM-DD` text as `1 March 2025` (or as it is, if it is not a date).
pub fn date_text(text: &str) -> String {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(date)
        .unwrap_or_else(|_| text.to_string())
}

/// An instant, `1 March 2025 at 09:30:15 UTC`, in a `time` element holding the stored value.
pub fn instant(stored: &str) -> Markup {
    let shown = parse_instant(stored)
        .map(instant_words)
        .unwrap_or_else(|| stored.to_string());
    html! { time datetime=(stored) { (shown) } }
}

pub fn instant_words(instant: DateTime<Utc>) -> String {
    instant.format("%-d %B %Y at %H:%M:%S UTC").to_string()
}

pub fn stage(key: &str) -> &str {
    match key {
        "commission" => "Commission (deciding what is needed)",
        "design" => "Design",
        "deliver" => "Deliver",
        "assess" => "Assess",
        other => other,
    }
}

pub fn status(key: &str) -> &str {
    match key {
        "open" => "Open",
        "closed" => "Closed",
        other => other,
    }
}

pub fn participant_kind(key: &str) -> &str {
    match key {
        "lived_experience" => "People with lived experience",
        "carer" => "Carers",
        "professional" => "Professionals",
        "provider" => "Providers",
        "community_organisation" => "Community organisations",
        "elected_member" => "Elected members",
        other => other,
    }
}

pub use coprod_domain::words::{count, noun};

/// An amount in pence as money: `£30.00`, `£2,500.00`.
pub fn money(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    let pounds = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}£{grouped}.{:02}", pence % 100)
}

/// A stored key (`lived_experience`) in words, using the words this module has for its field.
pub fn stored_key(field_key: &str, value: &str) -> String {
    match field_key {
        "kind" | "group" | "groups" | "participant_kind" if participant_kind(value) != value => {
            participant_kind(value).to_string()
        }
        "stage" => stage(value).to_string(),
        "status" => status(value).to_string(),
        _ if participant_kind(value) != value => participant_kind(value).to_string(),
        _ => field(value),
    }
}

/// A count of people as shown to people: counts below [`SMALL_COUNT`] are never shown (see
/// `docs/privacy.md`).
pub fn people_count(count: u64) -> String {
    if count < SMALL_COUNT as u64 {
        format!("fewer than {SMALL_COUNT}")
    } else {
        count.to_string()
    }
}

pub fn entry_type(key: &str) -> &str {
    match key {
        "project_registered" => "Project registered",
        "participant_joined" => "Someone joined",
        "participant_left" => "Someone left",
        "stage_started" => "Stage started",
        "stage_completed" => "Stage completed",
        "activity_held" => "Activity held",
        "reward_given" => "Reward given",
        "role_taken" => "Role taken",
        "contribution_made" => "Contribution made",
        "contribution_responded" => "Response to a contribution",
        "decision_made" => "Decision made",
        "outcome_reviewed" => "Outcome reviewed",
        "correction_recorded" => "Correction",
        "project_closed" => "Project closed",
        "assessment_sealed" => "Assessment sealed",
        "participant_erased" => "Personal data erased",
        "participant_answered" => "A participant said what they think",
        "people_told" => "People told of a decision",
        "feedback_given" => "Answers given back",
        other => other,
    }
}

/// A field name of an entry, in words (`participant_id` → `Participant id`).
pub fn field(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// "Entry" or "Entries", before a list of entry numbers.
pub fn entries_phrase(n: usize) -> &'static str {
    noun(n, "Entry", "Entries")
}

/// An answer on the five-point scale, as people read it.
pub fn agreement(answer: coprod_domain::Agreement) -> &'static str {
    match answer {
        coprod_domain::Agreement::StronglyDisagree => "Strongly disagree",
        coprod_domain::Agreement::Disagree => "Disagree",
        coprod_domain::Agreement::NeitherAgreeNorDisagree => "Neither agree nor disagree",
        coprod_domain::Agreement::Agree => "Agree",
        coprod_domain::Agreement::StronglyAgree => "Strongly agree",
    }
}

/// An accessible format, as people read it.
pub fn accessible_format(format: coprod_domain::AccessibleFormat) -> &'static str {
    match format {
        coprod_domain::AccessibleFormat::EasyRead => "Easy Read",
        coprod_domain::AccessibleFormat::LargePrint => "Large print",
        coprod_domain::AccessibleFormat::Audio => "Audio",
        coprod_domain::AccessibleFormat::BritishSignLanguage => "British Sign Language (BSL)",
        coprod_domain::AccessibleFormat::Braille => "Braille",
        coprod_domain::AccessibleFormat::Other => "Something else",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
            "1 March 2025"
        );
        assert_eq!(people_count(4), "fewer than 5");
        assert_eq!(money(3000), "£30.00");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(2, "group", "groups"), "2 groups");
        assert_eq!(money(250_000), "£2,500.00");
        assert_eq!(money(5), "£0.05");
        assert_eq!(people_count(5), "5");
        assert_eq!(field("participant_id"), "Participant id");
        assert_eq!(date_text("2025-01-06"), "6 January 2025");
        assert_eq!(rung(LadderRung::CoProduction), "Co-production");
        assert_eq!(rung(LadderRung::Consultation), "Consultation");
        assert_eq!(rating(Rating::InsufficientEvidence), "Cannot be judged yet");
        assert_eq!(
            evidence_state(EvidenceState::NotApplicable),
            "Does not apply yet"
        );
    }
}
