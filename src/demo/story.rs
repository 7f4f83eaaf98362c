//! A demo story as data: a project's registration, who records it, and its steps in the order
//! they happened, each on a day of the story. The stories are JSON files in `stories/`, compiled
//! into the binary; their facts are exactly the bodies a client would post, with two
//! conveniences the loader resolves: a fact without `occurred_on` happened on its step's day,
//! and a fact may be named (`"entry": "name"`) so that a later correction can withdraw it by
//! that name (`"corrects": "name"`) rather than by a sequence number counted by hand.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::store::AccessRole;

/// The stories, in the order the demo lists them: (a) co-produced from the start, (b)
/// consultation dressed up as co-production, (c) better after a panel's review, (d) a closure
/// decided by officers.
const STORY_FILES: [(&str, &str); 4] = [
    (
        "carers-strategy",
        include_str!("stories/carers-strategy.json"),
    ),
    (
        "home-care-redesign",
        include_str!("stories/home-care-redesign.json"),
    ),
    (
        "clearer-letters",
        include_str!("stories/clearer-letters.json"),
    ),
    (
        "day-centre-closure",
        include_str!("stories/day-centre-closure.json"),
    ),
];

/// One project's story.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Story {
    /// The file it comes from, for messages (not in the file itself).
    #[serde(skip)]
    pub name: &'static str,
    /// One of the demo's ids (see [`super::DEMO_ID_PREFIX`]).
    pub project_id: Uuid,
    /// The label of the recorder token its facts are recorded with (shown as `recorded_by`).
    pub recorder: String,
    /// The body of `POST /api/v1/projects`, without `project_id`; recorded on `started_on`.
    pub registration: Map<String, Value>,
    pub steps: Vec<Step>,
}

/// Something done on one day of the story.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub on: NaiveDate,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Facts recorded together (all or none), by the story's recorder.
    Record(Vec<Map<String, Value>>),
    /// An assessment sealed by someone other than the recorder.
    Seal(Seal),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// The body of `POST /api/v1/projects/{id}/assessments`.
    pub request: Map<String, Value>,
    pub by: Sealer,
}

/// Who seals: a role that may seal, and the label stored as `requested_by`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealer {
    pub role: AccessRole,
    pub label: String,
}

/// A story that cannot be told: a mistake in the demo's own data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the demo story '{story}' cannot be read: {why}")]
pub struct StoryError {
    pub story: &'static str,
    pub why: String,
}

impl Story {
    /// The day the project started, when its registration is recorded.
    pub fn started_on(&self) -> Result<NaiveDate, StoryError> {
        self.registration
            .get("started_on")
            .and_then(Value::as_str)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| self.error("the registration has no started_on date".into()))
    }

    /// The organisation whose project it is.
    pub fn organisation(&self) -> Result<&str, StoryError> {
        self.registration
            .get("organisation")
            .and_then(Value::as_str)
            .ok_or_else(|| self.error("the registration names no organisation".into()))
    }

    /// How many entries the whole story records: its registration, every fact and every seal.
    pub fn entries(&self) -> u64 {
        let steps: usize = self
            .steps
            .iter()
            .map(|step| match &step.action {
                Action::Record(facts) => facts.len(),
                Action::Seal(_) => 1,
            })
            .sum();
        1 + steps as u64
    }

    fn error(&self, why: String) -> StoryError {
        StoryError {
            story: self.name,
            why,
        }
    }

    /// Checks what the loader relies on: an id in the demo's namespace, steps in the order of
    /// their days (none before the project started), facts that are objects with a `type`, and
    /// entry names given once and corrected only after they were given.
    fn check(&self) -> Result<(), StoryError> {
        if !super::is_demo_project(self.project_id) {
            return Err(self.error(format!(
                "its id {} is not in the demo's namespace",
                self.project_id
            )));
        }
        let mut day = self.started_on()?;
        self.organisation()?;
        let mut names = std::collections::BTreeSet::new();
        for step in &self.steps {
            if step.on < day {
                return Err(self.error(format!("the step on {} comes after {day}", step.on)));
            }
            day = step.on;
            let Action::Record(facts) = &step.action else {
                continue;
            };
            for fact in facts {
                if !fact.get("type").is_some_and(Value::is_string) {
                    return Err(self.error(format!("a fact on {} has no type", step.on)));
                }
                if let Some(name) = fact.get("corrects") {
                    let known = name.as_str().is_some_and(|name| names.contains(name));
                    if !known {
                        return Err(self.error(format!(
                            "the correction on {} names {name}, which no earlier fact is called",
                            step.on
                        )));
                    }
                }
                if let Some(name) = fact.get("entry") {
                    let Some(name) = name.as_str() else {
                        return Err(self.error(format!("an entry name on {} is not text", step.on)));
                    };
                    if !names.insert(name.to_string()) {
                        return Err(self.error(format!("the entry name '{name}' is used twice")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The demo's stories, read and checked.
pub fn stories() -> Result<Vec<Story>, StoryError> {
    STORY_FILES
        .iter()
        .map(|(name, text)| {
            let mut story: Story = serde_json::from_str(text).map_err(|e| StoryError {
                story: name,
                why: e.to_string(),
            })?;
            story.name = name;
            story.check()?;
            Ok(story)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_story_reads_and_keeps_its_own_rules() {
        let stories = stories().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stories.len(), 4);
        let mut ids: Vec<Uuid> = stories.iter().map(|s| s.project_id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 4, "every story has its own project id");
        for story in &stories {
            assert!(
                story.entries() > 20,
                "{} is told in more than a few entries",
                story.name
            );
            assert!(
                story
                    .steps
                    .iter()
                    .any(|s| matches!(s.action, Action::Seal(_))),
                "{} has a sealed assessment",
                story.name
            );
        }
    }
}
