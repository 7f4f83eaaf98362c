//! Field rules: lengths, character sets, amounts, dates and list shapes. They need no project state,
//! so they are checked first and all reported together.

use chrono::{Days, NaiveDate};

use crate::error::FieldError;
use crate::events::*;

pub const MAX_ID_CHARS: usize = 64;
pub const MAX_GROUP_CHARS: usize = 60;
pub const MAX_GROUPS: usize = 10;
pub const MAX_PRIORITY_GROUPS: usize = 20;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_SUMMARY_CHARS: usize = 500;
pub const MAX_EXPLANATION_CHARS: usize = 1000;
pub const MAX_LONG_TEXT_CHARS: usize = 2000;
pub const MAX_LIST_LEN: usize = 500;
/// £1,000,000: far above any single reward, low enough to catch a pounds/pence mix-up of large sums.
pub const MAX_AMOUNT_PENCE: i64 = 100_000_000;
/// £1,000 an hour: far above any rate paid for taking part.
pub const MAX_RATE_PENCE_PER_HOUR: i64 = 100_000;
/// A day: no single activity runs longer.
pub const MAX_DURATION_MINUTES: i64 = 24 * 60;
/// A place name, as a group label.
pub const MAX_LOCALITY_CHARS: usize = MAX_GROUP_CHARS;

/// Collects every field error of one request.
#[derive(Default)]
pub struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// A client-chosen identifier: 1–64 characters from `A–Z a–z 0–9 _ -`.
    pub fn id(&mut self, path: &str, value: &str) {
        if value.is_empty() || value.chars().count() > MAX_ID_CHARS {
            self.fail(path, format!("must be 1 to {MAX_ID_CHARS} characters long"));
        } else if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.fail(
                path,
                "may contain only letters A-Z and a-z, digits, '_' and '-'",
            );
        }
    }

    /// A list of identifiers, each valid and none repeated.
    pub fn ids(&mut self, path: &str, values: &[String]) {
        if values.len() > MAX_LIST_LEN {
            self.fail(path, format!("must list at most {MAX_LIST_LEN} ids"));
            return;
        }
        for (i, value) in values.iter().enumerate() {
            let item = format!("{path}/{i}");
            self.id(&item, value);
            if values[..i].contains(value) {
                self.fail(&item, format!("'{value}' is listed more than once"));
            }
        }
    }

    /// A short single-line text such as a title: not blank, and [`text_problem`] finds nothing.
    pub fn line(&mut self, path: &str, value: &str, max: usize) {
        self.text_with(path, value, max, false);
    }

    /// A free text that may run over several lines: not blank, and [`text_problem`] finds
    /// nothing but line breaks and tabs.
    pub fn text(&mut self, path: &str, value: &str, max: usize) {
        self.text_with(path, value, max, true);
    }

    fn text_with(&mut self, path: &str, value: &str, max: usize, multiline: bool) {
        let chars = value.chars().count();
        if value.trim().is_empty() {
            self.fail(path, "must not be blank");
        } else if chars > max {
            self.fail(
                path,
                format!("must be at most {max} characters long (it is {chars})"),
            );
        } else if let Some(problem) = text_problem(value, multiline) {
            self.fail(path, problem);
        }
    }

    /// Group labels: each a short line, at most `max` of them, none repeated (ignoring case).
    pub fn groups(&mut self, path: &str, values: &[String], max: usize) {
        if values.len() > max {
            self.fail(path, format!("must list at most {max} groups"));
            return;
        }
        for (i, value) in values.iter().enumerate() {
            let item = format!("{path}/{i}");
            self.line(&item, value, MAX_GROUP_CHARS);
            let key = group_key(value);
            if values[..i].iter().any(|earlier| group_key(earlier) == key) {
                self.fail(
                    &item,
                    format!("'{}' is listed more than once", value.trim()),
                );
            }
        }
    }

    pub fn not_empty<T>(&mut self, path: &str, values: &[T], what: &str) {
        if values.is_empty() {
            self.fail(path, format!("must name at least one {what}"));
        }
    }

    /// A date of something that has happened: not after tomorrow (allowing for time zones).
    pub fn not_future(&mut self, path: &str, date: NaiveDate, today: NaiveDate) {
        if let Some(latest) = today.checked_add_days(Days::new(1)) {
            if date > latest {
                self.fail(
                    path,
                    format!("must not be after {latest} (it is {date}): record facts once they have happened"),
                );
            }
        }
    }

    /// A date no earlier than [`earliest_date`]: the lower bound of `started_on` and of every
    /// fact's `occurred_on`.
    pub fn not_before_earliest(&mut self, path: &str, date: NaiveDate) {
        let earliest = earliest_date();
        if date < earliest {
            self.fail(
                path,
                format!("must not be before {earliest} (it is {date}): check the year"),
            );
        }
    }
}

/// Whether `c` embeds, overrides or isolates the direction of the text around it (U+202A–U+202E,
/// U+2066–U+2069): shown in a report, such a character makes text read otherwise than it is
/// stored. The marks U+200E and U+200F, which only hint a direction, are allowed: right-to-left
/// names need them.
pub fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The one rule for the characters of every free text a person records (titles, service areas,
/// group labels, places, reasons, summaries and other long texts): no control character (NUL,
/// escape, delete, C1 controls…) and no direction control ([`is_direction_control`]); only a
/// text that may run over several lines (`multiline`) may hold line breaks (`\n`, `\r`) and
/// tabs. What is wrong with `value`, if anything. Identifiers have a stricter rule of their own
/// (`A–Z a–z 0–9 _ -`).
pub fn text_problem(value: &str, multiline: bool) -> Option<&'static str> {
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(is_direction_control) {
        Some(
            "must not contain characters that override the direction of text \
             (U+202A to U+202E, U+2066 to U+2069)",
        )
    } else if value.chars().any(|c| c.is_control() && !allowed_control(c)) {
        Some(if multiline {
            "must not contain control characters other than line breaks and tabs"
        } else {
            "must be a single line without control characters"
        })
    } else {
        None
    }
}

/// The earliest date any recorded date may be: no project Coprod keeps started, and nothing in
/// one happened, before 1 January 2000; an earlier date is a slip of the keyboard (`0025` for
/// `2025`, `0001-01-01` for "unknown").
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// How group labels are compared: trimmed and case-insensitively.
pub fn group_key(label: &str) -> String {
    label.trim().to_lowercase()
}

pub fn check_registration(r: &ProjectRegistered, today: NaiveDate) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.line("/title", &r.title, MAX_TITLE_CHARS);
    c.id("/organisation", &r.organisation);
    if let Some(name) = &r.organisation_name {
        c.line("/organisation_name", name, MAX_TITLE_CHARS);
    }
    c.line("/service_area", &r.service_area, MAX_TITLE_CHARS);
    if let Some(description) = &r.description {
        c.text("/description", description, MAX_LONG_TEXT_CHARS);
    }
    c.groups("/priority_groups", &r.priority_groups, MAX_PRIORITY_GROUPS);
    if let Some(serves) = &r.serves {
        c.groups("/serves", serves, MAX_PRIORITY_GROUPS);
    }
    c.not_future("/started_on", r.started_on, today);
    c.not_before_earliest("/started_on", r.started_on);
    c.errors
}

/// Personal fields arrive in clear; only the server encrypts them.
const POSTED_IN_CLEAR: &str =
    "must be given as plain values: the server encrypts personal data itself";

/// The field rules of an erasure request.
pub fn check_erasure(e: &ParticipantErased) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.id("/participant_id", &e.participant_id);
    c.text("/reason", &e.reason, MAX_EXPLANATION_CHARS);
    c.line("/legal_basis", &e.legal_basis, MAX_TITLE_CHARS);
    c.errors
}

/// The field rules of a participant's answer.
pub fn check_answer(e: &ParticipantAnswered) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.id("/participant_id", &e.participant_id);
    match e.answer.clear() {
        Some(view) => {
            if let Some(comment) = &view.comment {
                c.text("/answer/comment", comment, MAX_LONG_TEXT_CHARS);
            }
        }
        None => c.fail("/answer", POSTED_IN_CLEAR),
    }
    c.errors
}

/// The field rules of one fact; paths are relative to the fact itself.
pub fn check_fact(fact: &Fact, today: NaiveDate) -> Vec<FieldError> {
    let mut c = Checker::default();
    match fact {
        Fact::ParticipantJoined(e) => {
            c.id("/participant_id", &e.participant_id);
            match e.groups.clear() {
                Some(groups) => c.groups("/groups", groups, MAX_GROUPS),
                None => c.fail("/groups", POSTED_IN_CLEAR),
            }
            if e.lived_experience == Some(false) && e.kind.is_lived_experience() {
                c.fail(
                    "/lived_experience",
                    "contradicts the kind: people who use services and carers have lived experience",
                );
            }
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::ParticipantLeft(e) => {
            c.id("/participant_id", &e.participant_id);
            if let Some(reason) = &e.reason {
                c.text("/reason", reason, MAX_EXPLANATION_CHARS);
            }
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::StageStarted(e) => c.not_future("/occurred_on", e.occurred_on, today),
        Fact::StageCompleted(e) => c.not_future("/occurred_on", e.occurred_on, today),
        Fact::ActivityHeld(e) => {
            c.id("/activity_id", &e.activity_id);
            c.line("/title", &e.title, MAX_TITLE_CHARS);
            c.ids("/facilitators", &e.facilitators);
            c.ids("/attendees", &e.attendees);
            if e.facilitators.is_empty() && e.attendees.is_empty() {
                c.fail(
                    "/attendees",
                    "an activity needs at least one facilitator or attendee",
                );
            }
            check_access(&mut c, e);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::RewardGiven(e) => {
            c.id("/participant_id", &e.participant_id);
            match e.amount_pence {
                None if e.kind.requires_amount() && !amount_may_be_absent(e) => c.fail(
                    "/amount_pence",
                    "is required for payments, vouchers, charity donations and expenses",
                ),
                Some(amount) if !(0..=MAX_AMOUNT_PENCE).contains(&amount) => c.fail(
                    "/amount_pence",
                    format!("must be a whole number of pence from 0 to {MAX_AMOUNT_PENCE}"),
                ),
                _ => {}
            }
            if let Some(activity_id) = &e.activity_id {
                c.id("/activity_id", activity_id);
            }
            check_reward_terms(&mut c, e);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::RoleTaken(e) => {
            c.id("/participant_id", &e.participant_id);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::ContributionMade(e) => {
            c.id("/contribution_id", &e.contribution_id);
            c.id("/participant_id", &e.participant_id);
            match e.summary.clear() {
                Some(summary) => c.text("/summary", summary, MAX_SUMMARY_CHARS),
                None => c.fail("/summary", POSTED_IN_CLEAR),
            }
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::ContributionResponded(e) => {
            c.id("/contribution_id", &e.contribution_id);
            c.text("/explanation", &e.explanation, MAX_EXPLANATION_CHARS);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::DecisionMade(e) => {
            c.id("/decision_id", &e.decision_id);
            c.line("/subject", &e.subject, MAX_TITLE_CHARS);
            c.ids("/participants", &e.participants);
            c.not_empty("/participants", &e.participants, "participant");
            check_votes(&mut c, e);
            c.ids("/influenced_by", &e.influenced_by);
            c.text("/outcome", &e.outcome, MAX_EXPLANATION_CHARS);
            check_decision_terms(&mut c, e);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::OutcomeReviewed(e) => {
            c.id("/outcome_id", &e.outcome_id);
            c.text("/description", &e.description, MAX_LONG_TEXT_CHARS);
            c.ids("/accountable", &e.accountable);
            c.not_empty("/accountable", &e.accountable, "accountable participant");
            c.ids("/reviewed_by", &e.reviewed_by);
            c.not_empty("/reviewed_by", &e.reviewed_by, "reviewer");
            if let Some(actions) = &e.actions {
                c.text("/actions", actions, MAX_LONG_TEXT_CHARS);
            }
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::CorrectionRecorded(e) => {
            if e.corrects_sequence == 0 {
                c.fail("/corrects_sequence", "sequences start at 1");
            }
            c.text("/reason", &e.reason, MAX_EXPLANATION_CHARS);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::ProjectClosed(e) => {
            c.text("/summary", &e.summary, MAX_LONG_TEXT_CHARS);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::PeopleTold(e) => {
            c.id("/decision_id", &e.decision_id);
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::FeedbackGiven(e) => {
            c.ids("/contribution_ids", &e.contribution_ids);
            c.not_empty("/contribution_ids", &e.contribution_ids, "contribution");
            c.not_future("/occurred_on", e.occurred_on, today);
        }
    }
    // Against the project's own dates (its start, its stages): `aggregate::check_fact_dates`.
    c.not_before_earliest("/occurred_on", fact.occurred_on());
    c.errors
}

/// A whole number from `min` to `max`, if given.
fn in_range(c: &mut Checker, path: &str, value: Option<i64>, min: i64, max: i64, what: &str) {
    if let Some(value) = value {
        if !(min..=max).contains(&value) {
            c.fail(
                path,
                format!("must be a whole number of {what} from {min} to {max}"),
            );
        }
    }
}

/// How and where an activity was held, and the adjustments asked for and made.
fn check_access(c: &mut Checker, e: &ActivityHeld) {
    if let Some(locality) = &e.locality {
        c.line("/locality", locality, MAX_LOCALITY_CHARS);
    }
    in_range(
        c,
        "/duration_minutes",
        e.duration_minutes,
        1,
        MAX_DURATION_MINUTES,
        "minutes",
    );
    let most = MAX_LIST_LEN as i64;
    in_range(
        c,
        "/adjustments_requested",
        e.adjustments_requested,
        0,
        most,
        "adjustments",
    );
    in_range(
        c,
        "/adjustments_provided",
        e.adjustments_provided,
        0,
        most,
        "adjustments",
    );
    match (e.adjustments_requested, e.adjustments_provided) {
        (None, Some(_)) => c.fail(
            "/adjustments_provided",
            "may be given only with adjustments_requested",
        ),
        (Some(requested), Some(provided)) if provided > requested && requested >= 0 => c.fail(
            "/adjustments_provided",
            "must not be more than the adjustments requested",
        ),
        _ => {}
    }
}

/// The terms of a reward: its rate, an unknown amount, a reward turned down, support, and
/// whether it was paid the way the person chose.
fn check_reward_terms(c: &mut Checker, e: &RewardGiven) {
    in_range(
        c,
        "/rate_pence_per_hour",
        e.rate_pence_per_hour,
        0,
        MAX_RATE_PENCE_PER_HOUR,
        "pence",
    );
    let money = e.kind.is_money();
    if e.amount_unknown == Some(true) {
        if !money {
            c.fail(
                "/amount_unknown",
                "may be given only for payments, vouchers and charity donations",
            );
        } else if e.amount_pence.is_some() {
            c.fail(
                "/amount_unknown",
                "cannot be true when amount_pence is given",
            );
        }
    }
    if e.declined.is_some() && !money {
        c.fail(
            "/declined",
            "may be given only for payments, vouchers and charity donations",
        );
    }
    if e.as_preferred.is_some() && !money {
        c.fail(
            "/as_preferred",
            "may be given only for payments, vouchers and charity donations",
        );
    }
    if e.support.is_some() && e.kind != RewardKind::Expenses {
        c.fail("/support", "may be given only with the kind 'expenses'");
    }
}

/// Whether a money reward may leave out its amount: when it was turned down, or the amount is
/// not known.
fn amount_may_be_absent(e: &RewardGiven) -> bool {
    e.declined.is_some() || e.amount_unknown == Some(true)
}

/// A decision's importance and effect, and the recommendation it ratifies or departs from.
fn check_decision_terms(c: &mut Checker, e: &DecisionMade) {
    if e.effect.is_some() && e.importance == Some(DecisionImportance::Routine) {
        c.fail(
            "/effect",
            "a decision that pauses, stops, closes or changes the scope of a project is a key decision, not routine",
        );
    }
    if let Some(ratifies) = &e.ratifies {
        c.id("/ratifies", ratifies);
    }
    if let Some(departs_from) = &e.departs_from {
        c.id("/departs_from", departs_from);
        if e.ratifies.is_some() {
            c.fail(
                "/departs_from",
                "a decision cannot both ratify and depart from a recommendation",
            );
        }
    }
    match (&e.departs_from, &e.departure_reason) {
        (Some(_), None) => c.fail(
            "/departure_reason",
            "is required when a decision departs from a recommendation",
        ),
        (None, Some(_)) => c.fail(
            "/departs_from",
            "must name the recommendation a departure_reason explains",
        ),
        (Some(_), Some(reason)) => c.text("/departure_reason", reason, MAX_EXPLANATION_CHARS),
        (None, None) => {}
    }
}

/// Votes are given exactly when the method is `vote`; every voter is a participant, once.
fn check_votes(c: &mut Checker, e: &DecisionMade) {
    match (&e.votes, e.method) {
        (None, DecisionMethod::Vote) => c.fail("/votes", "is required when the method is 'vote'"),
        (Some(_), method) if method != DecisionMethod::Vote => {
            c.fail("/votes", "may be given only when the method is 'vote'")
        }
        (Some(votes), _) => {
            let lists = [
                ("for", &votes.in_favour),
                ("against", &votes.against),
                ("abstain", &votes.abstain),
            ];
            // Voters in the lists before this one; repeats within one list are the ids check's.
            let mut seen: Vec<&String> = Vec::new();
            for (name, voters) in lists {
                let path = format!("/votes/{name}");
                c.ids(&path, voters);
                let earlier = seen.len();
                for (i, voter) in voters.iter().enumerate() {
                    let item = format!("{path}/{i}");
                    if !e.participants.contains(voter) {
                        c.fail(
                            &item,
                            format!("'{voter}' voted but is not among the participants"),
                        );
                    } else if seen[..earlier].contains(&voter) {
                        c.fail(&item, format!("'{voter}' has voted more than once"));
                    }
                }
                seen.extend(voters);
            }
            if seen.is_empty() {
                c.fail("/votes", "a vote needs at least one vote cast");
            }
        }
        (None, _) => {}
    }
}
