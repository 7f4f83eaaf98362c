//! What a project's forms offer to choose from: the people taking part, its contributions,
//! decisions, activities, stages and entries, as the trail holds them now (withdrawn entries
//! left out). The API still checks every choice when the form is sent.

use std::collections::BTreeSet;

use coprod_domain::{Fact, ProjectEvent, RecordedEvent, Stage};
use cqrs_es::DomainEvent;

use super::catalogue::{CONTRIBUTION_KINDS, PARTICIPANT_KINDS};
use crate::store::views::withdrawn;
use crate::web::forms::{Choices, Options};
use crate::web::words;

#[derive(Debug, Default)]
pub struct ProjectChoices {
    people: Options,
    unanswered: Options,
    contributions: Options,
    decisions: Options,
    activities: Options,
    next_stage: Options,
    open_stages: Options,
    entries: Options,
    /// Every id used for an activity, contribution, decision or outcome (withdrawn or not).
    used_ids: BTreeSet<String>,
    pub closed: bool,
}

/// The words of `value` in a form's list of choices, lower-cased to follow a name.
fn choice_words(choices: &[(&str, &str)], value: &str) -> String {
    choices
        .iter()
        .find(|(key, _)| *key == value)
        .map(|(_, words)| {
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .unwrap_or_else(|| value.replace('_', " "))
}

fn key_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl ProjectChoices {
    pub fn of(events: &[RecordedEvent]) -> Self {
        let withdrawn = withdrawn(events);
        let mut choices = ProjectChoices::default();
        let mut gone: BTreeSet<&str> = BTreeSet::new();
        let mut answered: BTreeSet<&str> = BTreeSet::new();
        let mut started: Vec<Stage> = Vec::new();
        let mut completed: Vec<Stage> = Vec::new();
        for entry in events {
            match &entry.event {
                ProjectEvent::ActivityHeld(e) => choices.used_ids.insert(e.activity_id.clone()),
                ProjectEvent::ContributionMade(e) => {
                    choices.used_ids.insert(e.contribution_id.clone())
                }
                ProjectEvent::DecisionMade(e) => choices.used_ids.insert(e.decision_id.clone()),
                ProjectEvent::OutcomeReviewed(e) => choices.used_ids.insert(e.outcome_id.clone()),
                ProjectEvent::ParticipantErased(e) => gone.insert(&e.participant_id),
                _ => false,
            };
            if withdrawn.contains(&entry.sequence) {
                continue;
            }
            let on = words::date(entry.event.occurred_on());
            match &entry.event {
                ProjectEvent::ParticipantJoined(e) => choices.people.push((
                    e.participant_id.clone(),
                    format!(
                        "{} ({})",
                        e.participant_id,
                        choice_words(PARTICIPANT_KINDS, &key_of(&e.kind))
                    ),
                )),
                ProjectEvent::ParticipantLeft(e) => {
                    gone.insert(&e.participant_id);
                }
                ProjectEvent::StageStarted(e) => started.push(e.stage),
                ProjectEvent::StageCompleted(e) => completed.push(e.stage),
                ProjectEvent::ActivityHeld(e) => choices.activities.push((
                    e.activity_id.clone(),
                    format!("{}: {}, {on}", e.activity_id, e.title),
                )),
                ProjectEvent::ContributionMade(e) => choices.contributions.push((
                    e.contribution_id.clone(),
                    format!(
                        "{}: {} from {}, {on}",
                        e.contribution_id,
                        choice_words(CONTRIBUTION_KINDS, &key_of(&e.kind)),
                        e.participant_id
                    ),
                )),
                ProjectEvent::ContributionResponded(e) => {
                    answered.insert(&e.contribution_id);
                }
                ProjectEvent::DecisionMade(e) => choices.decisions.push((
                    e.decision_id.clone(),
                    format!("{}: {}", e.decision_id, e.subject),
                )),
                ProjectEvent::ProjectClosed(_) => choices.closed = true,
                _ => {}
            }
            let event_type = entry.event.event_type();
            if Fact::TYPES.contains(&event_type.as_str()) && event_type != "correction_recorded" {
                choices.entries.push((
                    entry.sequence.to_string(),
                    format!(
                        "Entry {}: {}, {on}",
                        entry.sequence,
                        words::entry_type(&event_type)
                    ),
                ));
            }
        }
        choices.people.retain(|(id, _)| !gone.contains(id.as_str()));
        choices.unanswered = choices
            .contributions
            .iter()
            .filter(|(id, _)| !answered.contains(id.as_str()))
            .cloned()
            .collect();
        let stage = |s: Stage| (s.as_str().to_string(), words::stage(s.as_str()).to_string());
        choices.next_stage = Stage::ALL
            .into_iter()
            .find(|s| !started.contains(s))
            .map(stage)
            .into_iter()
            .collect();
        choices.open_stages = started
            .into_iter()
            .filter(|s| !completed.contains(s))
            .map(stage)
            .collect();
        // The newest entries first: a correction is most often of something just recorded.
        choices.entries.reverse();
        choices
    }

    pub fn options(&self, choices: Choices) -> &Options {
        match choices {
            Choices::People => &self.people,
            Choices::Unanswered => &self.unanswered,
            Choices::Contributions => &self.contributions,
            Choices::Decisions => &self.decisions,
            Choices::Activities => &self.activities,
            Choices::NextStage => &self.next_stage,
            Choices::OpenStages => &self.open_stages,
            Choices::Entries => &self.entries,
        }
    }

    /// The people taking part, for a vote.
    pub fn people(&self) -> &Options {
        &self.people
    }

    /// A reference not yet used in the project: `{prefix}-{n}`.
    pub fn unused_id(&self, prefix: &str) -> String {
        (1..)
            .map(|n| format!("{prefix}-{n}"))
            .find(|id| !self.used_ids.contains(id))
            .unwrap_or_else(|| prefix.to_string())
    }
}
