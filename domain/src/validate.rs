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

    /// A short single-line text such as a title: not blank, no control characters.
    pub fn line(&mut self, path: &str, value: &str, max: usize) {
        self.text_with(path, value, max, false);
    }

    /// A free text that may run over several lines: not blank, no other control characters.
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
        } else if value
            .chars()
            .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
        {
            let what = if multiline {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must be a single line without control characters"
            };
            self.fail(path, what);
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
}

/// How group labels are compared: trimmed and case-insensitively.
pub fn group_key(label: &str) -> String {
    label.trim().to_lowercase()
}

pub fn check_registration(r: &ProjectRegistered, today: NaiveDate) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.line("/title", &r.title, MAX_TITLE_CHARS);
    c.id("/organisation", &r.organisation);
    c.line("/service_area", &r.service_area, MAX_TITLE_CHARS);
    if let Some(description) = &r.description {
        c.text("/description", description, MAX_LONG_TEXT_CHARS);
    }
    c.groups("/priority_groups", &r.priority_groups, MAX_PRIORITY_GROUPS);
    c.not_future("/started_on", r.started_on, today);
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
            c.not_future("/occurred_on", e.occurred_on, today);
        }
        Fact::RewardGiven(e) => {
            c.id("/participant_id", &e.participant_id);
            match e.amount_pence {
                None if e.kind.requires_amount() => c.fail(
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
    }
    c.errors
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
