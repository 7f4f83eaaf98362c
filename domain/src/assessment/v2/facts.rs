//! The active entries of a stream (recorded by the cut-off, not withdrawn by a correction recorded
//! by then), indexed for version 2's indicators: who took part in which stage and how (informed,
//! consulted, or talking things through), who had a say in which decision, which rewards count, and
//! which answers reached the people who made a contribution.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::events::*;
use crate::recorded::RecordedEvent;
use crate::rubric::{InvolvementMode, Parameters};
use crate::validate::group_key;

const STAGES: usize = Stage::ALL.len();

/// One participant id, as mentioned anywhere in the active entries.
pub struct Person<'a> {
    /// The latest active join, if they joined.
    pub joined: Option<&'a ParticipantJoined>,
    pub joined_at: u64,
    /// A person with lived experience (by kind or by the flag).
    pub ple: bool,
    /// A person with lived experience who is not a member of staff: their say is power shared.
    pub voice: bool,
    /// Staff of kind professional or provider, without lived experience.
    pub professional: bool,
    /// Their latest active leaving, with its coded reason.
    pub left: Option<(u64, Option<LeavingReason>)>,
    /// Entries (with their dates) in which they talked things through, by stage.
    pub deliberated: [Vec<(u64, NaiveDate)>; STAGES],
    /// Entries in which they gave views (consult activities, contributions), by stage.
    pub consulted: [Vec<u64>; STAGES],
    /// Entries of inform activities they attended, and whether any was not training.
    pub informed: Vec<u64>,
    pub informed_beyond_training: bool,
}

impl Person<'_> {
    pub fn groups(&self) -> Option<&[String]> {
        self.joined
            .and_then(|j| j.groups.clear().map(Vec::as_slice))
    }

    pub fn kind(&self) -> Option<ParticipantKind> {
        self.joined.map(|j| j.kind)
    }

    pub fn has_deliberated(&self) -> bool {
        self.deliberated.iter().any(|e| !e.is_empty())
    }

    pub fn stages_deliberated(&self) -> usize {
        self.deliberated.iter().filter(|e| !e.is_empty()).count()
    }

    pub fn has_been_consulted(&self) -> bool {
        self.consulted.iter().any(|e| !e.is_empty())
    }
}

pub struct Activity<'a> {
    pub seq: u64,
    pub held: &'a ActivityHeld,
    pub mode: InvolvementMode,
    pub facilitators: Vec<u32>,
    pub attendees: Vec<u32>,
    pub led_by_ple: bool,
}

impl Activity<'_> {
    pub fn everyone(&self) -> impl Iterator<Item = u32> + '_ {
        self.facilitators.iter().chain(&self.attendees).copied()
    }
}

pub struct Reward<'a> {
    pub seq: u64,
    pub given: &'a RewardGiven,
    pub who: u32,
    /// The activity it names, if that was recorded before it.
    pub activity: Option<usize>,
}

pub struct Contribution<'a> {
    pub seq: u64,
    pub made: &'a ContributionMade,
    pub who: u32,
    pub response: Option<(u64, Response)>,
    /// The first feedback that reached the person.
    pub fed_back: Option<u64>,
}

pub struct Decision<'a> {
    pub seq: u64,
    pub made: &'a DecisionMade,
    /// Not marked routine.
    pub key: bool,
    /// The people who had a say: consensus and lived-experience-led participants, or voters.
    pub say: Vec<u32>,
    /// Someone with an independent voice had a say.
    pub shared: bool,
    pub ratifies: Option<usize>,
    pub departs_from: Option<usize>,
    /// When people were told about it: (entry, day).
    pub told: Vec<(u64, NaiveDate)>,
}

impl Decision<'_> {
    pub fn told_in_time(&self) -> bool {
        self.told
            .iter()
            .any(|(_, day)| *day <= self.made.occurred_on)
    }

    /// A pause, stop, closure or change of scope made without the people involved and not
    /// explained to them on or before its day.
    pub fn unilateral_change(&self) -> bool {
        self.key && self.made.effect.is_some() && !self.shared && !self.told_in_time()
    }
}

pub struct Review<'a> {
    pub seq: u64,
    pub reviewed: &'a OutcomeReviewed,
    pub with_ple: bool,
    pub by_ple: bool,
}

pub struct Facts<'a> {
    pub registration: &'a ProjectRegistered,
    pub registered_at: u64,
    pub people: Vec<Person<'a>>,
    pub stages: BTreeMap<Stage, u64>,
    pub activities: Vec<Activity<'a>>,
    pub rewards: Vec<Reward<'a>>,
    pub roles: Vec<(u64, &'a RoleTaken, u32)>,
    pub contributions: Vec<Contribution<'a>>,
    /// Whether any feedback was recorded at all.
    pub feedback_recorded: bool,
    pub decisions: Vec<Decision<'a>>,
    pub reviews: Vec<Review<'a>>,
    pub closed: bool,
    /// The group keys of the groups the project exists for.
    pub served: BTreeSet<String>,
}

#[derive(Default)]
struct Names<'a> {
    index: HashMap<&'a str, u32>,
    people: Vec<Person<'a>>,
}

impl<'a> Names<'a> {
    fn of(&mut self, id: &'a str) -> u32 {
        let people = &mut self.people;
        *self.index.entry(id).or_insert_with(|| {
            people.push(Person {
                joined: None,
                joined_at: 0,
                ple: false,
                voice: false,
                professional: false,
                left: None,
                deliberated: Default::default(),
                consulted: Default::default(),
                informed: Vec::new(),
                informed_beyond_training: false,
            });
            (people.len() - 1) as u32
        })
    }

    fn all(&mut self, ids: &'a [String]) -> Vec<u32> {
        ids.iter().map(|id| self.of(id)).collect()
    }
}

/// How an activity involves people: led when a person with lived experience runs it,
/// otherwise as the rubric maps its kind (unknown kinds: consulted).
pub fn mode_of(kind: ActivityKind, led_by_ple: bool, p: &Parameters) -> InvolvementMode {
    if led_by_ple {
        return InvolvementMode::Lead;
    }
    p.activity_modes
        .as_ref()
        .and_then(|modes| modes.get(&kind).copied())
        .unwrap_or(InvolvementMode::Consult)
}

impl<'a> Facts<'a> {
    pub fn gather(
        registration: &'a ProjectRegistered,
        registered_at: u64,
        known: &[&'a RecordedEvent],
        p: &Parameters,
    ) -> Self {
        let withdrawn: BTreeSet<u64> = known
            .iter()
            .filter_map(|e| match &e.event {
                ProjectEvent::CorrectionRecorded(c) => Some(c.corrects_sequence),
                _ => None,
            })
            .collect();
        let mut names = Names::default();
        let mut stages = BTreeMap::new();
        let mut activities: Vec<Activity<'a>> = Vec::new();
        let mut activity_ids: HashMap<&'a str, usize> = HashMap::new();
        let mut rewards = Vec::new();
        let mut roles = Vec::new();
        let mut contributions: Vec<Contribution<'a>> = Vec::new();
        let mut contribution_ids: HashMap<&'a str, usize> = HashMap::new();
        let mut feedback_recorded = false;
        let mut decisions: Vec<Decision<'a>> = Vec::new();
        let mut decision_ids: HashMap<&'a str, usize> = HashMap::new();
        let mut reviews = Vec::new();
        let mut closed = false;
        for entry in known.iter().filter(|e| !withdrawn.contains(&e.sequence)) {
            let seq = entry.sequence;
            match &entry.event {
                ProjectEvent::ParticipantJoined(e) => {
                    let who = names.of(&e.participant_id) as usize;
                    names.people[who].joined = Some(e);
                    names.people[who].joined_at = seq;
                }
                ProjectEvent::ParticipantLeft(e) => {
                    let who = names.of(&e.participant_id) as usize;
                    names.people[who].left = Some((seq, e.reason_code));
                }
                ProjectEvent::StageStarted(e) => {
                    stages.insert(e.stage, seq);
                }
                ProjectEvent::ActivityHeld(e) => {
                    activity_ids.insert(&e.activity_id, activities.len());
                    activities.push(Activity {
                        seq,
                        held: e,
                        mode: InvolvementMode::Consult,
                        facilitators: names.all(&e.facilitators),
                        attendees: names.all(&e.attendees),
                        led_by_ple: false,
                    });
                }
                ProjectEvent::RewardGiven(e) => rewards.push(Reward {
                    seq,
                    given: e,
                    who: names.of(&e.participant_id),
                    activity: e
                        .activity_id
                        .as_deref()
                        .and_then(|id| activity_ids.get(id).copied()),
                }),
                ProjectEvent::RoleTaken(e) => roles.push((seq, e, names.of(&e.participant_id))),
                ProjectEvent::ContributionMade(e) => {
                    contribution_ids.insert(&e.contribution_id, contributions.len());
                    contributions.push(Contribution {
                        seq,
                        made: e,
                        who: names.of(&e.participant_id),
                        response: None,
                        fed_back: None,
                    });
                }
                ProjectEvent::ContributionResponded(e) => {
                    if let Some(&i) = contribution_ids.get(e.contribution_id.as_str()) {
                        contributions[i].response = Some((seq, e.response));
                    }
                }
                ProjectEvent::FeedbackGiven(e) => {
                    feedback_recorded = true;
                    if e.method.reaches_the_person() {
                        for id in &e.contribution_ids {
                            if let Some(&i) = contribution_ids.get(id.as_str()) {
                                contributions[i].fed_back.get_or_insert(seq);
                            }
                        }
                    }
                }
                ProjectEvent::DecisionMade(e) => {
                    let earlier = |id: &Option<String>| {
                        id.as_deref().and_then(|id| decision_ids.get(id).copied())
                    };
                    let (ratifies, departs_from) = (earlier(&e.ratifies), earlier(&e.departs_from));
                    let say = match e.method {
                        DecisionMethod::Consensus | DecisionMethod::LivedExperienceLed => {
                            names.all(&e.participants)
                        }
                        DecisionMethod::Vote => e
                            .votes
                            .iter()
                            .flat_map(|v| v.in_favour.iter().chain(&v.against).chain(&v.abstain))
                            .map(|id| names.of(id))
                            .collect(),
                        DecisionMethod::ProfessionalOnly | DecisionMethod::Delegated => {
                            names.all(&e.participants);
                            Vec::new()
                        }
                    };
                    decision_ids.insert(&e.decision_id, decisions.len());
                    decisions.push(Decision {
                        seq,
                        made: e,
                        key: e.importance != Some(DecisionImportance::Routine),
                        say,
                        shared: false,
                        ratifies,
                        departs_from,
                        told: Vec::new(),
                    });
                }
                ProjectEvent::PeopleTold(e) => {
                    if let Some(&i) = decision_ids.get(e.decision_id.as_str()) {
                        decisions[i].told.push((seq, e.occurred_on));
                    }
                }
                ProjectEvent::OutcomeReviewed(e) => reviews.push((seq, e)),
                ProjectEvent::ProjectClosed(_) => closed = true,
                ProjectEvent::ProjectRegistered(_)
                | ProjectEvent::StageCompleted(_)
                | ProjectEvent::CorrectionRecorded(_)
                | ProjectEvent::AssessmentSealed(_)
                | ProjectEvent::ParticipantErased(_)
                // What people say is set beside the record, not counted in it (see `voice`).
                | ProjectEvent::ParticipantAnswered(_) => {}
            }
        }
        let Names { index, mut people } = names;
        for person in &mut people {
            let Some(joined) = person.joined else {
                continue;
            };
            let flagged = joined.lived_experience == Some(true);
            person.ple = joined.kind.is_lived_experience() || flagged;
            person.voice = joined.kind.is_lived_experience()
                || (flagged
                    && matches!(
                        joined.kind,
                        ParticipantKind::Provider | ParticipantKind::CommunityOrganisation
                    ));
            person.professional = joined.kind.is_professional() && !flagged;
        }
        for a in &mut activities {
            a.led_by_ple = a.facilitators.iter().any(|w| people[*w as usize].ple);
            a.mode = mode_of(a.held.kind, a.led_by_ple, p);
            let stage = a.held.stage.index();
            for who in a.facilitators.iter().chain(&a.attendees) {
                let person = &mut people[*who as usize];
                match a.mode {
                    InvolvementMode::Lead | InvolvementMode::Deliberate => {
                        person.deliberated[stage].push((a.seq, a.held.occurred_on))
                    }
                    InvolvementMode::Consult => person.consulted[stage].push(a.seq),
                    InvolvementMode::Inform => {
                        person.informed.push(a.seq);
                        if a.held.kind != ActivityKind::Training {
                            person.informed_beyond_training = true;
                        }
                    }
                }
            }
        }
        for d in &mut decisions {
            d.shared = d.say.iter().any(|w| people[*w as usize].voice);
            for who in &d.say {
                people[*who as usize].deliberated[d.made.stage.index()]
                    .push((d.seq, d.made.occurred_on));
            }
        }
        for c in &contributions {
            people[c.who as usize].consulted[c.made.stage.index()].push(c.seq);
        }
        let reviews = reviews
            .into_iter()
            .map(|(seq, r)| {
                let is_ple = |ids: &[String]| {
                    ids.iter().any(|id| {
                        index
                            .get(id.as_str())
                            .is_some_and(|w| people[*w as usize].ple)
                    })
                };
                let by_ple = is_ple(&r.reviewed_by);
                Review {
                    seq,
                    reviewed: r,
                    with_ple: by_ple || is_ple(&r.accountable),
                    by_ple,
                }
            })
            .collect();
        let served = registration
            .serves
            .iter()
            .flatten()
            .map(|g| group_key(g))
            .collect();
        Facts {
            registration,
            registered_at,
            people,
            stages,
            activities,
            rewards,
            roles,
            contributions,
            feedback_recorded,
            decisions,
            reviews,
            closed,
            served,
        }
    }

    pub fn person(&self, who: u32) -> &Person<'a> {
        &self.people[who as usize]
    }

    pub fn is_ple(&self, who: u32) -> bool {
        self.person(who).ple
    }

    /// People with lived experience who talked things through.
    pub fn deliberators(&self) -> impl Iterator<Item = &Person<'a>> {
        self.people.iter().filter(|p| p.ple && p.has_deliberated())
    }

    /// The join entries of people, for evidence.
    pub fn joins<'b>(&'b self, people: impl Iterator<Item = &'b Person<'a>>) -> Vec<u64>
    where
        'a: 'b,
    {
        people
            .filter(|p| p.joined.is_some())
            .map(|p| p.joined_at)
            .collect()
    }

    /// Whether anyone with lived experience took part in any way.
    pub fn anyone_took_part(&self) -> bool {
        self.people.iter().any(|p| {
            p.ple && (p.has_deliberated() || p.has_been_consulted() || !p.informed.is_empty())
        })
    }

    /// The decisions that pause, stop, close or change the project without the people involved.
    pub fn unilateral_changes(&self) -> impl Iterator<Item = &Decision<'a>> {
        self.decisions.iter().filter(|d| d.unilateral_change())
    }

    /// Participants whose personal data could not be read.
    pub fn participants_erased(&self) -> u32 {
        self.people
            .iter()
            .filter(|p| p.joined.is_some_and(|j| j.groups.clear().is_none()))
            .count() as u32
    }
}
