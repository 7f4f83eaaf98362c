//! The `Project` aggregate: decides whether each fact may be recorded.
//!
//! Its state is a fold over the *active* entries (those no correction has withdrawn), kept compact:
//! each entry is remembered only by the effect it has on what may be recorded next. A correction
//! marks its target withdrawn and the state is folded again from the remaining effects, so that,
//! for example, a withdrawn response lets the contribution be answered again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::commands::{CommandContext, ProjectCommand};
use crate::error::{CorrectionRefusal, ProjectError};
use crate::events::*;
use crate::validate::{check_fact, check_registration};

/// What one entry means for the rules, without its free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Effect {
    Registered,
    /// A sealed assessment: evidence, never withdrawn, blocking nothing.
    Sealed,
    Joined {
        participant: String,
    },
    Left {
        participant: String,
    },
    StageStarted {
        stage: Stage,
        /// The day it started (absent in effects kept before the dates were checked).
        #[serde(default)]
        on: Option<NaiveDate>,
    },
    StageCompleted {
        stage: Stage,
    },
    Activity {
        activity: String,
    },
    Contribution {
        contribution: String,
    },
    Response {
        contribution: String,
    },
    Decision {
        decision: String,
    },
    Outcome {
        outcome: String,
    },
    Correction {
        target: u64,
    },
    Closed,
    /// A participant's personal data was erased: never withdrawn; nothing may name them again.
    Erased {
        participant: String,
    },
    /// A participant's own answer: theirs, so never withdrawn by an officer's correction.
    Answered,
    /// Rewards and roles: facts that nothing later depends on.
    Other,
}

impl From<&ProjectEvent> for Effect {
    fn from(event: &ProjectEvent) -> Self {
        match event {
            ProjectEvent::ProjectRegistered(_) => Effect::Registered,
            ProjectEvent::ParticipantJoined(e) => Effect::Joined {
                participant: e.participant_id.clone(),
            },
            ProjectEvent::ParticipantLeft(e) => Effect::Left {
                participant: e.participant_id.clone(),
            },
            ProjectEvent::StageStarted(e) => Effect::StageStarted {
                stage: e.stage,
                on: Some(e.occurred_on),
            },
            ProjectEvent::StageCompleted(e) => Effect::StageCompleted { stage: e.stage },
            ProjectEvent::ActivityHeld(e) => Effect::Activity {
                activity: e.activity_id.clone(),
            },
            ProjectEvent::ContributionMade(e) => Effect::Contribution {
                contribution: e.contribution_id.clone(),
            },
            ProjectEvent::ContributionResponded(e) => Effect::Response {
                contribution: e.contribution_id.clone(),
            },
            ProjectEvent::DecisionMade(e) => Effect::Decision {
                decision: e.decision_id.clone(),
            },
            ProjectEvent::OutcomeReviewed(e) => Effect::Outcome {
                outcome: e.outcome_id.clone(),
            },
            ProjectEvent::CorrectionRecorded(e) => Effect::Correction {
                target: e.corrects_sequence,
            },
            ProjectEvent::ProjectClosed(_) => Effect::Closed,
            ProjectEvent::AssessmentSealed(_) => Effect::Sealed,
            ProjectEvent::ParticipantErased(e) => Effect::Erased {
                participant: e.participant_id.clone(),
            },
            ProjectEvent::ParticipantAnswered(_) => Effect::Answered,
            ProjectEvent::RewardGiven(_)
            | ProjectEvent::RoleTaken(_)
            | ProjectEvent::PeopleTold(_)
            | ProjectEvent::FeedbackGiven(_) => Effect::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StageState {
    started: bool,
    completed: bool,
    /// The day the start still standing says it started.
    #[serde(default)]
    started_on: Option<NaiveDate>,
}

/// What the active entries add up to: the facts later entries may refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ActiveState {
    /// Participant id → whether they have left.
    participants: BTreeMap<String, bool>,
    /// Participants whose personal data was erased.
    erased: BTreeSet<String>,
    activities: BTreeSet<String>,
    /// Contribution id → whether it has a response.
    contributions: BTreeMap<String, bool>,
    decisions: BTreeSet<String>,
    outcomes: BTreeSet<String>,
    stages: [StageState; 4],
    closed: bool,
}

impl ActiveState {
    fn fold(&mut self, effect: &Effect) {
        match effect {
            Effect::Joined { participant } => {
                self.participants.insert(participant.clone(), false);
            }
            Effect::Left { participant } => {
                if let Some(left) = self.participants.get_mut(participant) {
                    *left = true;
                }
            }
            Effect::StageStarted { stage, on } => {
                if let Some(previous) = stage.previous() {
                    self.stages[previous.index()].completed = true;
                }
                let state = &mut self.stages[stage.index()];
                state.started = true;
                state.started_on = *on;
            }
            Effect::StageCompleted { stage } => {
                // A completion counts only for a start still active: one whose start a
                // correction withdrew must not close the stage when it starts again.
                let state = &mut self.stages[stage.index()];
                if state.started {
                    state.completed = true;
                }
            }
            Effect::Activity { activity } => {
                self.activities.insert(activity.clone());
            }
            Effect::Contribution { contribution } => {
                self.contributions.insert(contribution.clone(), false);
            }
            Effect::Response { contribution } => {
                if let Some(answered) = self.contributions.get_mut(contribution) {
                    *answered = true;
                }
            }
            Effect::Decision { decision } => {
                self.decisions.insert(decision.clone());
            }
            Effect::Outcome { outcome } => {
                self.outcomes.insert(outcome.clone());
            }
            Effect::Closed => self.closed = true,
            Effect::Erased { participant } => {
                self.erased.insert(participant.clone());
            }
            Effect::Registered
            | Effect::Correction { .. }
            | Effect::Sealed
            | Effect::Answered
            | Effect::Other => {}
        }
    }

    /// The stage that may start next, if any.
    fn next_stage(&self) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|stage| !self.stages[stage.index()].started)
    }
}

/// A co-production project: one aggregate, one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    project_id: Option<Uuid>,
    organisation: String,
    /// The day the project started, as registered.
    #[serde(default)]
    started_on: Option<NaiveDate>,
    /// Entry `n` (1-based sequence) is `effects[n - 1]`.
    effects: Vec<Effect>,
    withdrawn: BTreeSet<u64>,
    state: ActiveState,
}

impl Project {
    pub fn is_registered(&self) -> bool {
        self.project_id.is_some()
    }

    pub fn project_id(&self) -> Option<Uuid> {
        self.project_id
    }

    pub fn organisation(&self) -> &str {
        &self.organisation
    }

    /// Whether `participant` has joined (by an entry still standing), whether or not they have
    /// left since.
    pub fn has_joined(&self, participant: &str) -> bool {
        self.state.participants.contains_key(participant)
    }

    /// Whether `participant` may answer through an invitation (and so be invited): they have
    /// joined, by an entry still standing, and their personal data is not erased.
    pub fn may_answer(&self, participant: &str) -> Result<(), ProjectError> {
        self.joined("/participant_id", participant)
    }

    /// The sequence number of the last entry (0 before registration).
    pub fn sequence(&self) -> u64 {
        self.effects.len() as u64
    }

    pub fn is_closed(&self) -> bool {
        self.state.closed
    }

    /// Checks `fact` as recording it now would, and on success applies it, so that the next fact
    /// is checked against a project that holds it: how a planned batch is tried fact by fact,
    /// every refusal found rather than the first (an import's dry run). Recording still goes
    /// through [`ProjectCommand::Record`].
    pub fn try_fact(&mut self, fact: Fact, today: NaiveDate) -> Result<(), ProjectError> {
        if !self.is_registered() {
            return Err(ProjectError::ProjectNotFound);
        }
        self.check_fact(&fact, today)?;
        self.apply(fact.into());
        Ok(())
    }

    fn check_register(
        &self,
        registration: &ProjectRegistered,
        context: &CommandContext,
    ) -> Result<(), ProjectError> {
        if self.is_registered() {
            return Err(ProjectError::DuplicateId {
                path: "/project_id".into(),
                id: registration.project_id.to_string(),
            });
        }
        let errors = check_registration(registration, context.today());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ProjectError::ValidationFailed(errors))
        }
    }

    /// Whether `fact` may be recorded now; paths are relative to the fact.
    fn check_fact(&self, fact: &Fact, today: NaiveDate) -> Result<(), ProjectError> {
        let errors = check_fact(fact, today);
        if !errors.is_empty() {
            return Err(ProjectError::ValidationFailed(errors));
        }
        self.check_fact_dates(fact)?;
        if self.state.closed && !matches!(fact, Fact::CorrectionRecorded(_)) {
            return Err(ProjectError::ProjectClosed {
                path: "/type".into(),
            });
        }
        let s = &self.state;
        match fact {
            Fact::ParticipantJoined(e) => {
                self.not_erased("/participant_id", &e.participant_id)?;
                self.unused(&s.participants, "/participant_id", &e.participant_id)
            }
            Fact::ParticipantLeft(e) => self.present("/participant_id", &e.participant_id),
            Fact::StageStarted(e) => {
                let expected = s.next_stage();
                if expected == Some(e.stage) {
                    Ok(())
                } else {
                    Err(ProjectError::StageOutOfOrder {
                        path: "/stage".into(),
                        stage: e.stage,
                        expected,
                    })
                }
            }
            Fact::StageCompleted(e) => {
                self.stage_started("/stage", e.stage)?;
                if s.stages[e.stage.index()].completed {
                    return Err(ProjectError::StageAlreadyCompleted {
                        path: "/stage".into(),
                        stage: e.stage,
                    });
                }
                Ok(())
            }
            Fact::ActivityHeld(e) => {
                self.unused_in(&s.activities, "/activity_id", &e.activity_id)?;
                self.stage_started("/stage", e.stage)?;
                self.all_present("/facilitators", &e.facilitators)?;
                self.all_present("/attendees", &e.attendees)
            }
            Fact::RewardGiven(e) => {
                self.joined("/participant_id", &e.participant_id)?;
                match &e.activity_id {
                    Some(activity) if !s.activities.contains(activity) => {
                        Err(ProjectError::UnknownActivity {
                            path: "/activity_id".into(),
                            activity_id: activity.clone(),
                        })
                    }
                    _ => Ok(()),
                }
            }
            Fact::RoleTaken(e) => self.joined("/participant_id", &e.participant_id),
            Fact::ContributionMade(e) => {
                self.unused(&s.contributions, "/contribution_id", &e.contribution_id)?;
                self.present("/participant_id", &e.participant_id)?;
                self.stage_started("/stage", e.stage)
            }
            Fact::ContributionResponded(e) => match s.contributions.get(&e.contribution_id) {
                None => Err(ProjectError::UnknownContribution {
                    path: "/contribution_id".into(),
                    contribution_id: e.contribution_id.clone(),
                }),
                Some(true) => Err(ProjectError::AlreadyResponded {
                    path: "/contribution_id".into(),
                    contribution_id: e.contribution_id.clone(),
                }),
                Some(false) => Ok(()),
            },
            Fact::DecisionMade(e) => {
                self.unused_in(&s.decisions, "/decision_id", &e.decision_id)?;
                self.stage_started("/stage", e.stage)?;
                self.all_present("/participants", &e.participants)?;
                for (i, contribution) in e.influenced_by.iter().enumerate() {
                    if !s.contributions.contains_key(contribution) {
                        return Err(ProjectError::UnknownContribution {
                            path: format!("/influenced_by/{i}"),
                            contribution_id: contribution.clone(),
                        });
                    }
                }
                if let Some(ratified) = &e.ratifies {
                    self.decision_known("/ratifies", ratified)?;
                }
                if let Some(departed) = &e.departs_from {
                    self.decision_known("/departs_from", departed)?;
                }
                Ok(())
            }
            Fact::PeopleTold(e) => self.decision_known("/decision_id", &e.decision_id),
            Fact::FeedbackGiven(e) => {
                for (i, contribution) in e.contribution_ids.iter().enumerate() {
                    if !s.contributions.contains_key(contribution) {
                        return Err(ProjectError::UnknownContribution {
                            path: format!("/contribution_ids/{i}"),
                            contribution_id: contribution.clone(),
                        });
                    }
                }
                Ok(())
            }
            Fact::OutcomeReviewed(e) => {
                self.unused_in(&s.outcomes, "/outcome_id", &e.outcome_id)?;
                self.all_joined("/accountable", &e.accountable)?;
                self.all_joined("/reviewed_by", &e.reviewed_by)
            }
            Fact::CorrectionRecorded(e) => self.check_correction(e.corrects_sequence),
            Fact::ProjectClosed(_) => Ok(()),
        }
    }

    /// A fact's date against the project's own: nothing happens in a project before it started,
    /// a stage does not start before the stage before it started, and a stage does not end
    /// before it started. (Other facts may be dated before their stage started: recorders fill
    /// in what happened earlier once a stage is under way.) A refusal names `/occurred_on`.
    fn check_fact_dates(&self, fact: &Fact) -> Result<(), ProjectError> {
        let on = fact.occurred_on();
        let refuse = |message: String| {
            Err(ProjectError::ValidationFailed(vec![
                crate::error::FieldError::new("/occurred_on", message),
            ]))
        };
        if let Some(started) = self.started_on.filter(|started| on < *started) {
            return refuse(format!(
                "must not be before the project started ({started}; it is {on})"
            ));
        }
        let stage_start = |stage: Stage| {
            let state = self.state.stages[stage.index()];
            state.started_on.filter(|_| state.started)
        };
        match fact {
            Fact::StageStarted(e) => {
                let previous = e.stage.previous();
                if let Some((previous, started)) =
                    previous.and_then(|p| stage_start(p).map(|started| (p, started)))
                {
                    if on < started {
                        return refuse(format!(
                            "must not be before the stage before it, '{}', started ({started}; it is {on})",
                            previous.as_str()
                        ));
                    }
                }
            }
            Fact::StageCompleted(e) => {
                if let Some(started) = stage_start(e.stage).filter(|started| on < *started) {
                    return refuse(format!(
                        "must not be before the stage started ({started}; it is {on})"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A seal names an entry already recorded and says what it is for; closure does not stop it.
    fn check_seal(&self, seal: &AssessmentSealed) -> Result<(), ProjectError> {
        if !self.is_registered() {
            return Err(ProjectError::ProjectNotFound);
        }
        let mut c = crate::validate::Checker::default();
        c.line("/purpose", &seal.purpose, crate::validate::MAX_TITLE_CHARS);
        if !(1..=self.sequence()).contains(&seal.at_sequence) {
            c.errors.push(crate::error::FieldError::new(
                "/at_sequence",
                format!("must name an entry from 1 to {}", self.sequence()),
            ));
        }
        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(ProjectError::ValidationFailed(c.errors))
        }
    }

    fn check_correction(&self, target: u64) -> Result<(), ProjectError> {
        let path = || "/corrects_sequence".to_string();
        let effect = target
            .checked_sub(1)
            .and_then(|i| self.effects.get(i as usize))
            .ok_or(ProjectError::UnknownEntry {
                path: path(),
                sequence: target,
            })?;
        let refuse = |why| ProjectError::CorrectionNotAllowed {
            path: path(),
            sequence: target,
            why,
        };
        match effect {
            Effect::Registered => return Err(refuse(CorrectionRefusal::Registration)),
            Effect::Correction { .. } => return Err(refuse(CorrectionRefusal::Correction)),
            Effect::Sealed => return Err(refuse(CorrectionRefusal::Seal)),
            Effect::Erased { .. } => return Err(refuse(CorrectionRefusal::Erasure)),
            Effect::Answered => return Err(refuse(CorrectionRefusal::ParticipantAnswer)),
            _ => {}
        }
        if self.withdrawn.contains(&target) {
            return Err(ProjectError::AlreadyWithdrawn {
                path: path(),
                sequence: target,
            });
        }
        if let Effect::StageStarted { stage, .. } = effect {
            let later_started = Stage::ALL[stage.index() + 1..]
                .iter()
                .any(|later| self.state.stages[later.index()].started);
            if later_started {
                return Err(refuse(CorrectionRefusal::LaterStageStarted));
            }
        }
        Ok(())
    }

    /// A decision recorded by an entry still standing.
    fn decision_known(&self, path: &str, decision: &str) -> Result<(), ProjectError> {
        if self.state.decisions.contains(decision) {
            Ok(())
        } else {
            Err(ProjectError::UnknownDecision {
                path: path.into(),
                decision_id: decision.into(),
            })
        }
    }

    fn stage_started(&self, path: &str, stage: Stage) -> Result<(), ProjectError> {
        if self.state.stages[stage.index()].started {
            Ok(())
        } else {
            Err(ProjectError::StageNotStarted {
                path: path.into(),
                stage,
            })
        }
    }

    fn unused<V>(
        &self,
        ids: &BTreeMap<String, V>,
        path: &str,
        id: &str,
    ) -> Result<(), ProjectError> {
        if ids.contains_key(id) {
            Err(duplicate(path, id))
        } else {
            Ok(())
        }
    }

    fn unused_in(&self, ids: &BTreeSet<String>, path: &str, id: &str) -> Result<(), ProjectError> {
        if ids.contains(id) {
            Err(duplicate(path, id))
        } else {
            Ok(())
        }
    }

    /// Nothing new may name a participant whose personal data was erased.
    fn not_erased(&self, path: &str, participant: &str) -> Result<(), ProjectError> {
        if self.state.erased.contains(participant) {
            return Err(ProjectError::ParticipantErased {
                path: path.into(),
                participant_id: participant.into(),
            });
        }
        Ok(())
    }

    /// An erasure names someone who joined (even if that joining was withdrawn since: its entry,
    /// and so their data, is still in the log) and whose data is not erased yet.
    fn check_erasure(&self, erasure: &ParticipantErased) -> Result<(), ProjectError> {
        if !self.is_registered() {
            return Err(ProjectError::ProjectNotFound);
        }
        let errors = crate::validate::check_erasure(erasure);
        if !errors.is_empty() {
            return Err(ProjectError::ValidationFailed(errors));
        }
        let participant = &erasure.participant_id;
        if self.state.erased.contains(participant) {
            return Err(ProjectError::AlreadyErased {
                participant_id: participant.clone(),
            });
        }
        let ever_joined = self
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::Joined { participant: p } if p == participant));
        if !ever_joined {
            return Err(ProjectError::UnknownParticipant {
                path: "/participant_id".into(),
                participant_id: participant.clone(),
            });
        }
        Ok(())
    }

    /// A participant's answer through an invitation: they joined (they may have left since, or
    /// the project may be closed: their view still counts) and their data is not erased.
    fn check_answer(&self, answer: &ParticipantAnswered) -> Result<(), ProjectError> {
        if !self.is_registered() {
            return Err(ProjectError::ProjectNotFound);
        }
        let errors = crate::validate::check_answer(answer);
        if !errors.is_empty() {
            return Err(ProjectError::ValidationFailed(errors));
        }
        self.joined("/participant_id", &answer.participant_id)
    }

    /// The participant has joined (they may have left since).
    fn joined(&self, path: &str, participant: &str) -> Result<(), ProjectError> {
        self.not_erased(path, participant)?;
        match self.state.participants.get(participant) {
            Some(_) => Ok(()),
            None => Err(ProjectError::UnknownParticipant {
                path: path.into(),
                participant_id: participant.into(),
            }),
        }
    }

    /// The participant has joined and not left: they can take part.
    fn present(&self, path: &str, participant: &str) -> Result<(), ProjectError> {
        self.joined(path, participant)?;
        if self.state.participants.get(participant) == Some(&true) {
            return Err(ProjectError::ParticipantHasLeft {
                path: path.into(),
                participant_id: participant.into(),
            });
        }
        Ok(())
    }

    fn all_present(&self, path: &str, participants: &[String]) -> Result<(), ProjectError> {
        participants
            .iter()
            .enumerate()
            .try_for_each(|(i, p)| self.present(&format!("{path}/{i}"), p))
    }

    fn all_joined(&self, path: &str, participants: &[String]) -> Result<(), ProjectError> {
        participants
            .iter()
            .enumerate()
            .try_for_each(|(i, p)| self.joined(&format!("{path}/{i}"), p))
    }
}

fn duplicate(path: &str, id: &str) -> ProjectError {
    ProjectError::DuplicateId {
        path: path.into(),
        id: id.into(),
    }
}

impl Aggregate for Project {
    const TYPE: &'static str = "project";
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
    type Services = ();

    /// On a refusal the events already written to the sink have been applied to `self`; like
    /// cqrs-es itself, callers must then discard this aggregate instance.
    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ProjectCommand::Register {
                registration,
                context,
            } => {
                self.check_register(&registration, &context)?;
                sink.write(ProjectEvent::ProjectRegistered(registration), self)
                    .await;
                Ok(())
            }
            ProjectCommand::Record {
                facts,
                batch,
                expected_sequence,
                context,
            } => {
                if !self.is_registered() {
                    return Err(ProjectError::ProjectNotFound);
                }
                if let Some(expected) = expected_sequence {
                    if expected != self.sequence() {
                        return Err(ProjectError::SequenceMismatch {
                            expected,
                            actual: self.sequence(),
                        });
                    }
                }
                if facts.is_empty() {
                    return Err(ProjectError::ValidationFailed(vec![
                        crate::error::FieldError::new("/events", "must list at least one event"),
                    ]));
                }
                let today = context.today();
                for (i, fact) in facts.into_iter().enumerate() {
                    self.check_fact(&fact, today).map_err(|error| {
                        if batch {
                            error.within(&format!("/events/{i}"))
                        } else {
                            error
                        }
                    })?;
                    sink.write(fact.into(), self).await;
                }
                Ok(())
            }
            ProjectCommand::Seal { seal, context: _ } => {
                self.check_seal(&seal)?;
                sink.write(ProjectEvent::AssessmentSealed(seal), self).await;
                Ok(())
            }
            ProjectCommand::Answer { answer, context: _ } => {
                self.check_answer(&answer)?;
                sink.write(ProjectEvent::ParticipantAnswered(answer), self)
                    .await;
                Ok(())
            }
            ProjectCommand::Erase {
                erasure,
                context: _,
            } => {
                self.check_erasure(&erasure)?;
                sink.write(ProjectEvent::ParticipantErased(erasure), self)
                    .await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        let effect = Effect::from(&event);
        match &event {
            ProjectEvent::ProjectRegistered(e) => {
                self.project_id = Some(e.project_id);
                self.organisation = e.organisation.clone();
                self.started_on = Some(e.started_on);
            }
            ProjectEvent::CorrectionRecorded(e) => {
                self.withdrawn.insert(e.corrects_sequence);
            }
            _ => {}
        }
        let refold = matches!(effect, Effect::Correction { .. });
        self.effects.push(effect);
        if refold {
            self.state = ActiveState::default();
            for (i, effect) in self.effects.iter().enumerate() {
                if !self.withdrawn.contains(&(i as u64 + 1)) {
                    self.state.fold(effect);
                }
            }
        } else if let Some(effect) = self.effects.last() {
            self.state.fold(effect);
        }
    }
}
