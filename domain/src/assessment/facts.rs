//! The facts an assessment is computed from: the active entries (recorded by the cut-off, not
//! withdrawn by a correction recorded by then), gathered in one pass and indexed by participant
//! for the criteria.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Disclosure;
use crate::events::*;
use crate::recorded::RecordedEvent;

/// Maps of ids, looked up, never iterated into output. The standard hasher keeps crafted ids
/// from slowing an assessment down.
pub(super) type IdMap<K, V> = HashMap<K, V>;

pub(super) struct Person<'a> {
    pub(super) joined_at: u64,
    pub(super) kind: ParticipantKind,
    /// `None` when their personal data is erased (or could not be opened): groups unknown.
    pub(super) groups: Option<&'a [String]>,
}

/// One participant id, as mentioned anywhere in the active entries, under its dense index.
pub(super) struct Participant<'a> {
    pub(super) id: &'a str,
    /// As joined (the latest active join), or `None` if never joined.
    pub(super) person: Option<Person<'a>>,
    pub(super) ple: bool,
    pub(super) professional: bool,
    /// The entries that show them taking part, by stage (index = `Stage::index`).
    pub(super) taking_part: [Vec<u64>; Stage::ALL.len()],
    pub(super) took_part: bool,
}

/// An active activity, with its facilitators and attendees as participant indices.
pub(super) struct Activity<'a> {
    pub(super) seq: u64,
    pub(super) held: &'a ActivityHeld,
    pub(super) facilitators: Vec<u32>,
    pub(super) attendees: Vec<u32>,
    pub(super) facilitated_by_ple: bool,
}

pub(super) struct Contribution<'a> {
    pub(super) seq: u64,
    pub(super) made: &'a ContributionMade,
    pub(super) who: u32,
    /// The response that answers it: its entry and whether it adopted or adapted.
    pub(super) response: Option<(u64, bool)>,
}

/// The active entries (recorded by the cut-off, not withdrawn by a correction recorded by then),
/// indexed for the indicators.
pub(super) struct ActiveFacts<'a> {
    /// Who the assessment is for: what it may say about people.
    pub(super) disclosure: Disclosure,
    pub(super) registration: &'a ProjectRegistered,
    pub(super) registered_at: u64,
    /// Everyone mentioned, by dense index (in order of first mention).
    pub(super) participants: Vec<Participant<'a>>,
    /// Indices of the people with lived experience who took part, in id order.
    pub(super) ple_took_part: Vec<u32>,
    pub(super) stages_reached: BTreeMap<Stage, u64>,
    pub(super) activities: Vec<Activity<'a>>,
    pub(super) rewards: Vec<(u64, &'a RewardGiven, u32)>,
    pub(super) roles: Vec<(u64, &'a RoleTaken, u32)>,
    pub(super) contributions: Vec<Contribution<'a>>,
    /// Each decision with whether a person with lived experience took part in it.
    pub(super) decisions: Vec<(u64, &'a DecisionMade, bool)>,
    /// Each review with whether a person with lived experience is accountable or reviewed it,
    /// and whether one reviewed it.
    pub(super) reviews: Vec<(u64, &'a OutcomeReviewed, bool, bool)>,
}

#[derive(Default)]
struct Interner<'a> {
    index: IdMap<&'a str, u32>,
    participants: Vec<Participant<'a>>,
}

impl<'a> Interner<'a> {
    fn intern(&mut self, id: &'a str) -> u32 {
        let participants = &mut self.participants;
        *self.index.entry(id).or_insert_with(|| {
            participants.push(Participant {
                id,
                person: None,
                ple: false,
                professional: false,
                taking_part: Default::default(),
                took_part: false,
            });
            (participants.len() - 1) as u32
        })
    }
}

impl<'a> ActiveFacts<'a> {
    pub(super) fn gather(
        registration: &'a ProjectRegistered,
        registered_at: u64,
        known: &[&'a RecordedEvent],
        disclosure: Disclosure,
    ) -> Self {
        let mut withdrawn: BTreeSet<u64> = BTreeSet::new();
        let mut made = 0;
        for e in known {
            match &e.event {
                ProjectEvent::CorrectionRecorded(c) => {
                    withdrawn.insert(c.corrects_sequence);
                }
                ProjectEvent::ContributionMade(_) => made += 1,
                _ => {}
            }
        }
        let mut names = Interner::default();
        let mut stages_reached = BTreeMap::new();
        let mut activities = Vec::new();
        let mut rewards = Vec::new();
        let mut roles = Vec::new();
        let mut contributions = Vec::new();
        let mut decisions = Vec::new();
        let mut reviews = Vec::new();
        // Contribution id → the response that answers it (the latest recorded).
        let mut responses: IdMap<&'a str, (u64, &'a ContributionResponded)> =
            IdMap::with_capacity_and_hasher(made, Default::default());
        // The ids of the active contributions recorded so far in the replay.
        let mut recorded_contributions: IdMap<&'a str, ()> =
            IdMap::with_capacity_and_hasher(made, Default::default());
        for entry in known.iter().filter(|e| !withdrawn.contains(&e.sequence)) {
            let seq = entry.sequence;
            match &entry.event {
                ProjectEvent::ParticipantJoined(e) => {
                    let who = names.intern(&e.participant_id);
                    names.participants[who as usize].person = Some(Person {
                        joined_at: seq,
                        kind: e.kind,
                        groups: e.groups.clear().map(Vec::as_slice),
                    });
                }
                ProjectEvent::StageStarted(e) => {
                    stages_reached.insert(e.stage, seq);
                }
                ProjectEvent::ActivityHeld(e) => {
                    let facilitators = e
                        .facilitators
                        .iter()
                        .map(|w| names.intern(w))
                        .collect::<Vec<_>>();
                    let attendees = e.attendees.iter().map(|w| names.intern(w)).collect();
                    activities.push(Activity {
                        seq,
                        held: e,
                        facilitators,
                        attendees,
                        facilitated_by_ple: false,
                    });
                }
                ProjectEvent::RewardGiven(e) => {
                    rewards.push((seq, e, names.intern(&e.participant_id)));
                }
                ProjectEvent::RoleTaken(e) => roles.push((seq, e, names.intern(&e.participant_id))),
                ProjectEvent::ContributionMade(e) => {
                    recorded_contributions.insert(&e.contribution_id, ());
                    contributions.push((seq, e, names.intern(&e.participant_id)));
                }
                ProjectEvent::ContributionResponded(e) => {
                    // A response answers the active contribution recorded before it, never one
                    // recorded later under the id of a contribution since withdrawn.
                    if recorded_contributions.contains_key(e.contribution_id.as_str()) {
                        responses.insert(&e.contribution_id, (seq, e));
                    }
                }
                ProjectEvent::DecisionMade(e) => decisions.push((seq, e)),
                ProjectEvent::OutcomeReviewed(e) => reviews.push((seq, e)),
                ProjectEvent::ProjectRegistered(_)
                | ProjectEvent::ParticipantLeft(_)
                | ProjectEvent::StageCompleted(_)
                | ProjectEvent::CorrectionRecorded(_)
                | ProjectEvent::ProjectClosed(_)
                | ProjectEvent::AssessmentSealed(_)
                | ProjectEvent::ParticipantErased(_)
                // Facts version 1 does not use.
                | ProjectEvent::ParticipantAnswered(_)
                | ProjectEvent::PeopleTold(_)
                | ProjectEvent::FeedbackGiven(_) => {}
            }
        }
        // (A response counts only while the contribution it answers is active: every id in
        // `responses` is one of an active contribution, as only active entries are replayed.)
        let decisions: Vec<(u64, &'a DecisionMade, Vec<u32>)> = decisions
            .into_iter()
            .map(|(seq, d)| {
                let who = d.participants.iter().map(|w| names.intern(w)).collect();
                (seq, d, who)
            })
            .collect();
        let reviews: Vec<(u64, &'a OutcomeReviewed, Vec<u32>, Vec<u32>)> = reviews
            .into_iter()
            .map(|(seq, r)| {
                let accountable = r.accountable.iter().map(|w| names.intern(w)).collect();
                let reviewed_by = r.reviewed_by.iter().map(|w| names.intern(w)).collect();
                (seq, r, accountable, reviewed_by)
            })
            .collect();

        let mut participants = names.participants;
        for p in &mut participants {
            let kind = p.person.as_ref().map(|person| person.kind);
            p.ple = kind.is_some_and(ParticipantKind::is_lived_experience);
            p.professional = kind.is_some_and(ParticipantKind::is_professional);
        }
        let is_ple = |w: &u32| participants[*w as usize].ple;

        for a in &mut activities {
            a.facilitated_by_ple = a.facilitators.iter().any(is_ple);
        }
        let reviews: Vec<(u64, &'a OutcomeReviewed, bool, bool)> = reviews
            .into_iter()
            .map(|(seq, r, accountable, reviewed_by)| {
                let by_ple = reviewed_by.iter().any(is_ple);
                (seq, r, by_ple || accountable.iter().any(is_ple), by_ple)
            })
            .collect();
        let contributions: Vec<Contribution<'a>> = contributions
            .into_iter()
            .map(|(seq, made, who)| Contribution {
                seq,
                made,
                who,
                response: responses
                    .get(made.contribution_id.as_str())
                    .map(|(rseq, r)| (*rseq, r.response.is_adoption())),
            })
            .collect();

        // Who took part in which stage, and the entries that show it.
        let mut note = |who: u32, stage: Stage, seq: u64| {
            let p = &mut participants[who as usize];
            p.took_part = true;
            p.taking_part[stage.index()].push(seq);
        };
        for a in &activities {
            for who in a.facilitators.iter().chain(&a.attendees) {
                note(*who, a.held.stage, a.seq);
            }
        }
        for (seq, d, who) in &decisions {
            for w in who {
                note(*w, d.stage, *seq);
            }
        }
        for c in &contributions {
            note(c.who, c.made.stage, c.seq);
        }
        let is_ple = |w: &u32| participants[*w as usize].ple;
        let decisions: Vec<(u64, &'a DecisionMade, bool)> = decisions
            .into_iter()
            .map(|(seq, d, who)| (seq, d, who.iter().any(is_ple)))
            .collect();
        let mut ple_took_part: Vec<u32> = (0..participants.len() as u32)
            .filter(|w| {
                let p = &participants[*w as usize];
                p.took_part && p.ple
            })
            .collect();
        ple_took_part.sort_unstable_by_key(|w| participants[*w as usize].id);

        ActiveFacts {
            disclosure,
            registration,
            registered_at,
            participants,
            ple_took_part,
            stages_reached,
            activities,
            rewards,
            roles,
            contributions,
            decisions,
            reviews,
        }
    }

    pub(super) fn participant(&self, who: u32) -> &Participant<'a> {
        &self.participants[who as usize]
    }

    pub(super) fn is_ple(&self, who: u32) -> bool {
        self.participant(who).ple
    }

    pub(super) fn is_professional(&self, who: u32) -> bool {
        self.participant(who).professional
    }

    /// The join entries of these people (who must have joined).
    pub(super) fn joins_of(
        &self,
        who: impl IntoIterator<Item = u32>,
    ) -> impl Iterator<Item = u64> + '_ {
        who.into_iter()
            .filter_map(|w| self.participant(w).person.as_ref().map(|p| p.joined_at))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// PLE who took part in any stage → the entries that show it, by stage.
    pub(super) fn ple_taking_part(
        &self,
    ) -> impl Iterator<Item = (u32, &[Vec<u64>; Stage::ALL.len()])> + '_ {
        self.ple_took_part
            .iter()
            .map(|w| (*w, &self.participant(*w).taking_part))
    }

    /// Everyone who joined whose groups cannot be read: their data was erased.
    pub(super) fn participants_erased(&self) -> u32 {
        let unreadable = self
            .participants
            .iter()
            .filter_map(|p| p.person.as_ref())
            .filter(|person| person.groups.is_none())
            .count();
        unreadable as u32
    }
}
