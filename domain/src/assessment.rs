//! The rubric engine: replays a project's entries, as recorded up to a cut-off, into an assessment
//! against the six-point co-production test (shared/RUBRIC.md).
//!
//! A pure function of (entries, rubric, cut-off): the same question gives byte-identical JSON.
//! Everything it builds is ordered (B-tree maps, sorted lists), shares are compared in integers
//! (`100·a ≥ p·b`) and percentages are rounded down.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::digest::Digest;
use crate::events::*;
use crate::recorded::{format_instant, RecordedEvent};
use crate::rubric::{Parameters, PublishedRubric};
use crate::validate::group_key;

/// The engine's name and version, as every assessment states it.
pub const ENGINE: &str = concat!("coprod ", env!("CARGO_PKG_VERSION"));

/// How many participant ids an explanation lists before it says "and N more".
const MAX_NAMED: usize = 10;

/// Which entries an assessment is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Everything recorded so far.
    Latest,
    /// Entries 1 to n.
    AtSequence(u64),
    /// Entries recorded at or before this instant: what was known then.
    AsOf(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("nothing had been recorded for this project by then")]
    NothingRecorded,
    #[error("the project has {last} entries; there is no entry {requested}")]
    SequenceBeyondEnd { requested: u64, last: u64 },
    #[error("the rubric names an indicator this engine does not know: {0}")]
    UnknownIndicator(String),
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Met,
    PartlyMet,
    NotMet,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Met => "met",
            Rating::PartlyMet => "partly_met",
            Rating::NotMet => "not_met",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricReference {
    pub id: String,
    pub version: u32,
    pub digest: Digest,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorResult {
    pub key: String,
    pub met: bool,
    pub value: String,
    pub explanation: String,
    pub evidence: Vec<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub key: String,
    pub title: String,
    pub rating: Rating,
    pub score: u32,
    pub summary: String,
    pub indicators: Vec<IndicatorResult>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overall {
    pub met: u32,
    pub partly_met: u32,
    pub not_met: u32,
    pub summary: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub project_id: Uuid,
    pub rubric: RubricReference,
    pub as_of: String,
    pub at_sequence: u64,
    pub stream_digest: Digest,
    pub engine: String,
    /// How many participants' personal data had been erased when this was computed: their
    /// groups count as unknown.
    pub participants_erased: u32,
    pub criteria: Vec<CriterionResult>,
    pub overall: Overall,
}

impl Assessment {
    /// Criterion key → rating, for lists and views.
    pub fn scorecard(&self) -> BTreeMap<String, Rating> {
        self.criteria
            .iter()
            .map(|c| (c.key.clone(), c.rating))
            .collect()
    }

    /// The body every reader gets for this assessment (compact JSON; field order as declared).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an assessment holds only strings, integers and lists")
    }
}

/// Replays `entries` (in any order) up to `cutoff` into an assessment under `rubric`.
pub fn assess(
    entries: &[RecordedEvent],
    rubric: &PublishedRubric,
    cutoff: Cutoff,
) -> Result<Assessment, AssessError> {
    let mut ordered: Vec<&RecordedEvent> = entries.iter().collect();
    ordered.sort_by_key(|e| e.sequence);
    let last_sequence = ordered.last().map_or(0, |e| e.sequence);
    let known: Vec<&RecordedEvent> = match cutoff {
        Cutoff::Latest => ordered,
        Cutoff::AtSequence(n) => {
            if n > last_sequence {
                return Err(AssessError::SequenceBeyondEnd {
                    requested: n,
                    last: last_sequence,
                });
            }
            ordered
                .into_iter()
                .take_while(|e| e.sequence <= n)
                .collect()
        }
        Cutoff::AsOf(instant) => ordered
            .into_iter()
            .take_while(|e| e.recorded_at <= instant)
            .collect(),
    };
    let (Some(first), Some(last)) = (known.first(), known.last()) else {
        return Err(AssessError::NothingRecorded);
    };
    let ProjectEvent::ProjectRegistered(registration) = &first.event else {
        return Err(AssessError::NothingRecorded);
    };
    let as_of = match cutoff {
        Cutoff::AsOf(instant) => format_instant(instant),
        Cutoff::Latest | Cutoff::AtSequence(_) => format_instant(last.recorded_at),
    };

    let facts = ActiveFacts::gather(registration, first.sequence, &known);
    let p = &rubric.rubric.parameters;
    let mut criteria = Vec::new();
    for criterion in &rubric.rubric.criteria {
        let indicators = criterion
            .indicators
            .iter()
            .map(|indicator| facts.indicator(&indicator.key, p))
            .collect::<Result<Vec<_>, _>>()?;
        criteria.push(rate(&criterion.key, &criterion.title, indicators));
    }
    let overall = overall(&criteria);
    Ok(Assessment {
        project_id: registration.project_id,
        rubric: RubricReference {
            id: rubric.rubric.id.clone(),
            version: rubric.rubric.version,
            digest: rubric.digest,
        },
        as_of,
        at_sequence: last.sequence,
        stream_digest: last.digest,
        engine: ENGINE.to_string(),
        participants_erased: facts.participants_erased(),
        criteria,
        overall,
    })
}

fn rate(key: &str, title: &str, indicators: Vec<IndicatorResult>) -> CriterionResult {
    let total = indicators.len() as u32;
    let met = indicators.iter().filter(|i| i.met).count() as u32;
    let rating = match met {
        0 => Rating::NotMet,
        m if m == total => Rating::Met,
        _ => Rating::PartlyMet,
    };
    let score = (100 * met).checked_div(total).unwrap_or(0);
    let unmet: Vec<String> = indicators
        .iter()
        .filter(|i| !i.met)
        .map(|i| plain(&i.key))
        .collect();
    let summary = match rating {
        Rating::Met => format!("Met: all {total} indicators are met."),
        Rating::NotMet => format!("Not met: none of the {total} indicators is met."),
        Rating::PartlyMet => format!(
            "Partly met: {met} of {total} indicators are met. Not yet met: {}.",
            unmet.join(", ")
        ),
    };
    CriterionResult {
        key: key.to_string(),
        title: title.to_string(),
        rating,
        score,
        summary,
        indicators,
    }
}

fn overall(criteria: &[CriterionResult]) -> Overall {
    let count = |rating| criteria.iter().filter(|c| c.rating == rating).count() as u32;
    let (met, partly_met, not_met) = (
        count(Rating::Met),
        count(Rating::PartlyMet),
        count(Rating::NotMet),
    );
    let titles = |rating| -> Vec<String> {
        criteria
            .iter()
            .filter(|c| c.rating == rating)
            .map(|c| c.title.clone())
            .collect()
    };
    let mut summary = format!(
        "The project meets {met} of the {} points in full, {partly_met} in part and {not_met} not at all.",
        criteria.len()
    );
    let missing = titles(Rating::NotMet);
    if !missing.is_empty() {
        summary.push_str(&format!(" Not met: {}.", missing.join(", ")));
    }
    Overall {
        met,
        partly_met,
        not_met,
        summary,
    }
}

/// `from_the_start` → "from the start".
fn plain(key: &str) -> String {
    key.replace('_', " ")
}

/// ⌊100·a ÷ b⌋, or 0 when b is 0.
fn percent(a: usize, b: usize) -> u64 {
    (100 * a as u64).checked_div(b as u64).unwrap_or(0)
}

/// "a of b is at least p %", compared in integers.
fn at_least(a: usize, b: usize, p: u64) -> bool {
    b > 0 && 100 * a as u64 >= p * b as u64
}

/// Lists ids for an explanation, at most [`MAX_NAMED`] of them.
fn name_some<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.into_iter().collect();
    let shown: Vec<String> = ids
        .iter()
        .take(MAX_NAMED)
        .map(|id| format!("'{id}'"))
        .collect();
    let mut text = shown.join(", ");
    if ids.len() > MAX_NAMED {
        text.push_str(&format!(" and {} more", ids.len() - MAX_NAMED));
    }
    text
}

/// Counts of people below this are never shown (DESIGN rule 8).
pub const SMALL_COUNT: usize = 5;

/// A count of people as it may be shown: "fewer than 5" below [`SMALL_COUNT`].
fn people_count(n: usize) -> String {
    if n < SMALL_COUNT {
        "fewer than 5".to_string()
    } else {
        n.to_string()
    }
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_string()
    } else {
        format!("{n} people")
    }
}

fn stage_names(stages: &[Stage]) -> String {
    let names: Vec<String> = stages.iter().map(|s| format!("'{}'", s.as_str())).collect();
    names.join(", ")
}

fn indicator(
    key: &str,
    met: bool,
    value: String,
    explanation: String,
    evidence: impl IntoIterator<Item = u64>,
) -> IndicatorResult {
    let evidence = ascending_once(evidence.into_iter().collect());
    IndicatorResult {
        key: key.to_string(),
        met,
        value,
        explanation,
        evidence,
    }
}

/// Maps of ids, looked up, never iterated into output. The standard hasher keeps crafted ids
/// from slowing an assessment down.
type IdMap<K, V> = HashMap<K, V>;

/// The entries in ascending order, each once. Long lists of entries from a dense range (the
/// usual case: most entries of a busy project) go through a bit set instead of a sort.
fn ascending_once(mut evidence: Vec<u64>) -> Vec<u64> {
    if evidence.len() >= 256 {
        let max = evidence.iter().copied().max().unwrap_or(0);
        if max / 64 <= 4 * evidence.len() as u64 {
            let mut bits = vec![0u64; (max / 64 + 1) as usize];
            for seq in &evidence {
                bits[(seq / 64) as usize] |= 1 << (seq % 64);
            }
            evidence.clear();
            for (i, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    evidence.push(i as u64 * 64 + u64::from(word.trailing_zeros()));
                    word &= word - 1;
                }
            }
            return evidence;
        }
    }
    evidence.sort_unstable();
    evidence.dedup();
    evidence
}

struct Person<'a> {
    joined_at: u64,
    kind: ParticipantKind,
    /// `None` when their personal data is erased (or could not be opened): groups unknown.
    groups: Option<&'a [String]>,
}

/// One participant id, as mentioned anywhere in the active entries, under its dense index.
struct Participant<'a> {
    id: &'a str,
    /// As joined (the latest active join), or `None` if never joined.
    person: Option<Person<'a>>,
    ple: bool,
    professional: bool,
    /// The entries that show them taking part, by stage (index = `Stage::index`).
    taking_part: [Vec<u64>; Stage::ALL.len()],
    took_part: bool,
}

/// An active activity, with its facilitators and attendees as participant indices.
struct Activity<'a> {
    seq: u64,
    held: &'a ActivityHeld,
    facilitators: Vec<u32>,
    attendees: Vec<u32>,
    facilitated_by_ple: bool,
}

struct Contribution<'a> {
    seq: u64,
    made: &'a ContributionMade,
    who: u32,
    /// The response that answers it: its entry and whether it adopted or adapted.
    response: Option<(u64, bool)>,
}

/// The active entries (recorded by the cut-off, not withdrawn by a correction recorded by then),
/// indexed for the indicators.
struct ActiveFacts<'a> {
    registration: &'a ProjectRegistered,
    registered_at: u64,
    /// Everyone mentioned, by dense index (in order of first mention).
    participants: Vec<Participant<'a>>,
    /// Indices of the people with lived experience who took part, in id order.
    ple_took_part: Vec<u32>,
    stages_reached: BTreeMap<Stage, u64>,
    activities: Vec<Activity<'a>>,
    rewards: Vec<(u64, &'a RewardGiven, u32)>,
    roles: Vec<(u64, &'a RoleTaken, u32)>,
    contributions: Vec<Contribution<'a>>,
    /// Each decision with whether a person with lived experience took part in it.
    decisions: Vec<(u64, &'a DecisionMade, bool)>,
    /// Each review with whether a person with lived experience is accountable or reviewed it,
    /// and whether one reviewed it.
    reviews: Vec<(u64, &'a OutcomeReviewed, bool, bool)>,
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
    fn gather(
        registration: &'a ProjectRegistered,
        registered_at: u64,
        known: &[&'a RecordedEvent],
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
                | ProjectEvent::ParticipantErased(_) => {}
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

    fn participant(&self, who: u32) -> &Participant<'a> {
        &self.participants[who as usize]
    }

    fn is_ple(&self, who: u32) -> bool {
        self.participant(who).ple
    }

    fn is_professional(&self, who: u32) -> bool {
        self.participant(who).professional
    }

    /// The join entries of these people (who must have joined).
    fn joins_of(&self, who: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u64> + '_ {
        who.into_iter()
            .filter_map(|w| self.participant(w).person.as_ref().map(|p| p.joined_at))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// PLE who took part in any stage → the entries that show it, by stage.
    fn ple_taking_part(&self) -> impl Iterator<Item = (u32, &[Vec<u64>; Stage::ALL.len()])> + '_ {
        self.ple_took_part
            .iter()
            .map(|w| (*w, &self.participant(*w).taking_part))
    }

    fn indicator(&self, key: &str, p: &Parameters) -> Result<IndicatorResult, AssessError> {
        Ok(match key {
            "from_the_start" => self.involved_from_the_start(),
            "every_stage" => self.every_stage(),
            "sustained" => self.sustained(p),
            "lived_experience_in_professional_roles" => self.professional_roles(),
            "shared_facilitation" => self.shared_facilitation(p),
            "learning_both_ways" => self.learning_both_ways(),
            "rewarded_beyond_expenses" => self.rewarded_beyond_expenses(p),
            "development" => self.development(),
            "timely" => self.timely(p),
            "priority_groups_reached" => self.priority_groups_reached(),
            "breadth" => self.breadth(p),
            "no_single_group_dominates" => self.no_single_group_dominates(p),
            "contributions_answered" => self.contributions_answered(p),
            "parity" => self.parity(p),
            "influence" => self.influence(),
            "shared_decisions" => self.shared_decisions(p),
            "accountability_shared" => self.accountability_shared(),
            "failures_owned" => self.failures_owned(),
            other => return Err(AssessError::UnknownIndicator(other.to_string())),
        })
    }

    // 1. Whole life involvement

    fn involved_from_the_start(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut who = Vec::new();
        for (person, stages) in self.ple_taking_part() {
            let seqs = &stages[Stage::Commission.index()];
            if !seqs.is_empty() {
                who.push(person);
                evidence.extend(seqs);
            }
        }
        evidence.extend(self.joins_of(who.iter().copied()));
        evidence.extend(self.stages_reached.get(&Stage::Commission));
        let met = !who.is_empty();
        let value = format!(
            "{} with lived experience in 'commission'",
            people(who.len())
        );
        let explanation = if met {
            format!(
                "People with lived experience were involved from the start: {} took part in the 'commission' stage, where the project decides what is needed.",
                people(who.len())
            )
        } else {
            "Nobody with lived experience took part in the 'commission' stage, where the project decides what is needed.".to_string()
        };
        indicator("from_the_start", met, value, explanation, evidence)
    }

    fn every_stage(&self) -> IndicatorResult {
        let reached: Vec<Stage> = self.stages_reached.keys().copied().collect();
        let mut evidence: Vec<u64> = self.stages_reached.values().copied().collect();
        let mut involved = BTreeSet::new();
        for (_, stages) in self.ple_taking_part() {
            for stage in Stage::ALL {
                let seqs = &stages[stage.index()];
                if !seqs.is_empty() && self.stages_reached.contains_key(&stage) {
                    involved.insert(stage);
                    evidence.extend(seqs);
                }
            }
        }
        let missing: Vec<Stage> = reached
            .iter()
            .copied()
            .filter(|s| !involved.contains(s))
            .collect();
        let (k, n) = (involved.len(), reached.len());
        let met = n > 0 && missing.is_empty();
        let value = format!("{k} of {n} stages");
        let explanation = if n == 0 {
            "No stage of the project has started yet, so involvement in every stage cannot be shown.".to_string()
        } else if met {
            match n {
                1 => "People with lived experience took part in the one stage reached so far."
                    .to_string(),
                _ => format!(
                    "People with lived experience took part in all {n} stages reached so far."
                ),
            }
        } else {
            format!(
                "People with lived experience took part in {k} of {n} stages. Nobody with lived experience took part in {} {}.",
                if missing.len() == 1 { "the" } else { "these stages:" },
                if missing.len() == 1 {
                    format!("{} stage", stage_names(&missing))
                } else {
                    stage_names(&missing)
                }
            )
        };
        indicator("every_stage", met, value, explanation, evidence)
    }

    fn sustained(&self, p: &Parameters) -> IndicatorResult {
        let mut evidence: Vec<u64> = self.stages_reached.values().copied().collect();
        let mut sustained = 0;
        for (_, stages) in self.ple_taking_part() {
            if stages.iter().filter(|seqs| !seqs.is_empty()).count() >= 2 {
                sustained += 1;
                evidence.extend(stages.iter().flatten());
            }
        }
        let total = self.ple_took_part.len();
        let reached = self.stages_reached.len();
        let share = p.sustained_share;
        let met = reached >= 2 && at_least(sustained, total, share);
        let value = format!(
            "{sustained} of {total} people ({}%)",
            percent(sustained, total)
        );
        let explanation = if reached < 2 {
            format!("Only {reached} stage(s) reached so far; involvement can be sustained only across at least two stages.")
        } else if total == 0 {
            "Nobody with lived experience has taken part in any stage yet.".to_string()
        } else if met {
            format!(
                "{} of the {total} people with lived experience who took part stayed involved across two or more stages ({}%).",
                sustained,
                percent(sustained, total)
            )
        } else {
            format!(
                "Only {sustained} of the {total} people with lived experience who took part stayed involved across two or more stages ({}%); at least {share}% is needed.",
                percent(sustained, total)
            )
        };
        indicator("sustained", met, value, explanation, evidence)
    }

    // 2. Blurred boundaries

    fn professional_roles(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut roles = BTreeSet::new();
        let mut who = BTreeSet::new();
        let mut taken = 0;
        for (seq, r, w) in &self.roles {
            if r.role.is_professional_role() && self.is_ple(*w) {
                taken += 1;
                evidence.push(*seq);
                roles.insert(role_name(r.role));
                who.insert(*w);
            }
        }
        evidence.extend(self.joins_of(who.iter().copied()));
        let met = !roles.is_empty();
        let roles: Vec<&str> = roles.into_iter().collect();
        let value = format!("{taken} role(s) taken by {}", people(who.len()));
        let explanation = if met {
            format!(
                "People with lived experience took on roles usually held by professionals: {}.",
                roles.join(", ")
            )
        } else {
            "No person with lived experience has taken a role usually held by professionals, such as co-chair, co-facilitator, co-trainer, co-researcher, quality assurer or member of a recruitment panel.".to_string()
        };
        indicator(
            "lived_experience_in_professional_roles",
            met,
            value,
            explanation,
            evidence,
        )
    }

    fn shared_facilitation(&self, p: &Parameters) -> IndicatorResult {
        let facilitated: Vec<&Activity<'a>> = self
            .activities
            .iter()
            .filter(|a| !a.facilitators.is_empty())
            .collect();
        let with_ple = facilitated.iter().filter(|a| a.facilitated_by_ple).count();
        let total = facilitated.len();
        let share = p.shared_facilitation_share;
        let met = at_least(with_ple, total, share);
        let evidence: Vec<u64> = facilitated.iter().map(|a| a.seq).collect();
        let value = format!(
            "{with_ple} of {total} activities ({}%)",
            percent(with_ple, total)
        );
        let explanation = if total == 0 {
            "No activity with a facilitator has been recorded yet.".to_string()
        } else if met {
            format!(
                "People with lived experience helped to facilitate {with_ple} of the {total} activities that had facilitators ({}%).",
                percent(with_ple, total)
            )
        } else {
            format!(
                "People with lived experience helped to facilitate only {with_ple} of the {total} activities that had facilitators ({}%); at least {share}% is needed.",
                percent(with_ple, total)
            )
        };
        indicator("shared_facilitation", met, value, explanation, evidence)
    }

    fn learning_both_ways(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut learners = BTreeSet::new();
        for (seq, r, w) in &self.roles {
            if r.role == Role::Learner && self.is_professional(*w) {
                evidence.push(*seq);
                learners.insert(*w);
            }
        }
        for a in &self.activities {
            if a.held.kind == ActivityKind::Training && a.facilitated_by_ple {
                let mut trained = a
                    .attendees
                    .iter()
                    .copied()
                    .filter(|w| self.is_professional(*w))
                    .peekable();
                if trained.peek().is_some() {
                    evidence.push(a.seq);
                    learners.extend(trained);
                }
            }
        }
        let met = !learners.is_empty();
        let value = format!("{} professional(s) learning", learners.len());
        let explanation = if met {
            format!(
                "{} learned from people with lived experience, as a learner or at training they facilitated.",
                match learners.len() {
                    1 => "1 professional".to_string(),
                    n => format!("{n} professionals"),
                }
            )
        } else {
            "No professional has been recorded learning from people with lived experience: none took the 'learner' role or attended training facilitated by a person with lived experience.".to_string()
        };
        indicator("learning_both_ways", met, value, explanation, evidence)
    }

    // 3. Reciprocal reward

    fn rewarded_beyond_expenses(&self, p: &Parameters) -> IndicatorResult {
        let mut evidence = Vec::new();
        // Flags by participant index, and how many are set.
        let mut took_part = vec![false; self.participants.len()];
        let mut n = 0;
        for a in &self.activities {
            for who in a.facilitators.iter().chain(&a.attendees) {
                if self.is_ple(*who) {
                    let seen = &mut took_part[*who as usize];
                    n += usize::from(!*seen);
                    *seen = true;
                    evidence.push(a.seq);
                }
            }
        }
        let mut rewarded = vec![false; self.participants.len()];
        let mut k = 0;
        for (seq, r, w) in &self.rewards {
            let counts = match r.kind {
                RewardKind::Expenses => false,
                kind if kind.is_money() => r.amount_pence.unwrap_or(0) > 0,
                _ => true,
            };
            if counts && took_part[*w as usize] {
                let seen = &mut rewarded[*w as usize];
                k += usize::from(!*seen);
                *seen = true;
                evidence.push(*seq);
            }
        }
        let share = p.reward_share;
        let met = at_least(k, n, share);
        let value = format!("{k} of {n} people ({}%)", percent(k, n));
        let not_rewarded = || {
            let mut ids: Vec<&str> = (0..self.participants.len())
                .filter(|w| took_part[*w] && !rewarded[*w])
                .map(|w| self.participants[w].id)
                .collect();
            ids.sort_unstable();
            ids
        };
        let explanation = if n == 0 {
            "No person with lived experience has attended or facilitated an activity yet."
                .to_string()
        } else if met {
            format!(
                "{k} of the {n} people with lived experience who took part in activities received a reward beyond expenses ({}%).",
                percent(k, n)
            )
        } else {
            format!(
                "Only {k} of the {n} people with lived experience who took part in activities received a reward beyond expenses ({}%); at least {share}% is needed. Not rewarded beyond expenses: {}.",
                percent(k, n),
                name_some(not_rewarded())
            )
        };
        indicator(
            "rewarded_beyond_expenses",
            met,
            value,
            explanation,
            evidence,
        )
    }

    fn development(&self) -> IndicatorResult {
        let mut evidence = Vec::new();
        let mut who = BTreeSet::new();
        for (seq, r, w) in &self.rewards {
            if matches!(r.kind, RewardKind::Learning | RewardKind::Opportunity) && self.is_ple(*w) {
                evidence.push(*seq);
                who.insert(*w);
            }
        }
        let met = !who.is_empty();
        let value = format!("{} developed", people(who.len()));
        let explanation = if met {
            format!(
                "{} with lived experience received learning or a new opportunity through the project.",
                people(who.len())
            )
        } else {
            "No person with lived experience has received a 'learning' or 'opportunity' reward."
                .to_string()
        };
        indicator("development", met, value, explanation, evidence)
    }

    fn timely(&self, p: &Parameters) -> IndicatorResult {
        // The latest activity under each id, as in a map collected in entry order.
        let activities: IdMap<&str, (u64, NaiveDate)> = self
            .activities
            .iter()
            .map(|a| (a.held.activity_id.as_str(), (a.seq, a.held.occurred_on)))
            .collect();
        let mut evidence = Vec::new();
        let mut named = 0;
        let mut untimely = Vec::new();
        for (seq, r, _) in &self.rewards {
            // Only the activity recorded before the reward (see `influence`).
            let Some((activity_seq, held_on)) = r
                .activity_id
                .as_deref()
                .and_then(|id| activities.get(id))
                .filter(|(activity_seq, _)| activity_seq < seq)
            else {
                continue;
            };
            named += 1;
            evidence.push(*seq);
            evidence.push(*activity_seq);
            let deadline = held_on.checked_add_days(Days::new(p.reward_days));
            let on_time = r.occurred_on >= *held_on && deadline.is_some_and(|d| r.occurred_on <= d);
            if !on_time {
                untimely.push(*seq);
            }
        }
        let on_time = named - untimely.len();
        let met = named > 0 && untimely.is_empty();
        let value = format!("{on_time} of {named} rewards on time");
        let days = p.reward_days;
        let explanation = if named == 0 {
            "No reward has been linked to the activity it was for, so timeliness cannot be shown."
                .to_string()
        } else if met {
            format!(
                "All {named} rewards linked to an activity were given within {days} days of it."
            )
        } else {
            format!(
                "{} of {named} rewards linked to an activity were not given within {days} days of it ({}).",
                untimely.len(),
                entry_list(&untimely)
            )
        };
        indicator("timely", met, value, explanation, evidence)
    }

    /// Everyone who joined whose groups cannot be read: their data was erased.
    fn participants_erased(&self) -> u32 {
        let unreadable = self
            .participants
            .iter()
            .filter_map(|p| p.person.as_ref())
            .filter(|person| person.groups.is_none())
            .count();
        unreadable as u32
    }

    // 4. Diverse group involvement

    /// The people with lived experience who took part, with their join entries.
    /// In id order: which label of a group is shown must not depend on any map's order.
    fn ple_who_took_part(&self) -> Vec<(&'a str, &Person<'a>)> {
        self.ple_took_part
            .iter()
            .filter_map(|w| {
                let p = self.participant(*w);
                p.person.as_ref().map(|person| (p.id, person))
            })
            .collect()
    }

    fn priority_groups_reached(&self) -> IndicatorResult {
        let priorities: BTreeMap<String, &str> = self
            .registration
            .priority_groups
            .iter()
            .map(|g| (group_key(g), g.trim()))
            .collect();
        let mut evidence = vec![self.registered_at];
        let mut reached = BTreeSet::new();
        for p in self.participants.iter().filter(|p| p.took_part) {
            let Some(person) = &p.person else {
                continue;
            };
            let counts = person.kind.is_lived_experience()
                || person.kind == ParticipantKind::CommunityOrganisation;
            if !counts {
                continue;
            }
            for group in person.groups.into_iter().flatten() {
                let key = group_key(group);
                if priorities.contains_key(&key) {
                    reached.insert(key);
                    evidence.push(person.joined_at);
                }
            }
        }
        let (k, n) = (reached.len(), priorities.len());
        let met = n > 0 && k == n;
        let value = format!("{k} of {n} groups");
        let missing: Vec<String> = priorities
            .iter()
            .filter(|(key, _)| !reached.contains(*key))
            .map(|(_, label)| format!("'{label}'"))
            .collect();
        let explanation = if n == 0 {
            "No priority groups were named when the project was registered, so reaching them cannot be shown.".to_string()
        } else if met {
            format!("All {n} priority groups named at registration took part.")
        } else {
            format!(
                "{k} of the {n} priority groups named at registration took part. Not yet reached: {}.",
                missing.join(", ")
            )
        };
        indicator("priority_groups_reached", met, value, explanation, evidence)
    }

    fn breadth(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.ple_who_took_part();
        let groups: BTreeSet<String> = ple
            .iter()
            .flat_map(|(_, person)| person.groups.into_iter().flatten().map(|g| group_key(g)))
            .collect();
        let evidence: Vec<u64> = ple.iter().map(|(_, person)| person.joined_at).collect();
        let (k, min) = (groups.len(), p.min_groups);
        let met = k as u64 >= min;
        let value = format!("{k} groups");
        let explanation = if met {
            format!(
                "The people with lived experience who took part come from {k} different groups."
            )
        } else {
            format!(
                "The people with lived experience who took part come from {k} different group(s); at least {min} are needed."
            )
        };
        indicator("breadth", met, value, explanation, evidence)
    }

    fn no_single_group_dominates(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.ple_who_took_part();
        // Shares are of the people whose groups are known: an erased participant's group is
        // unknown, not "unspecified".
        let known: Vec<&[String]> = ple.iter().filter_map(|(_, person)| person.groups).collect();
        let unknown = ple.len() - known.len();
        let mut by_primary: BTreeMap<String, (usize, &str)> = BTreeMap::new();
        for groups in &known {
            let label = groups.first().map_or("unspecified", |g| g.trim());
            by_primary.entry(group_key(label)).or_insert((0, label)).0 += 1;
        }
        // The largest group; ties go to the first in key order, so the answer is stable.
        let largest = by_primary
            .values()
            .fold(None::<(usize, &str)>, |best, &(count, label)| match best {
                Some((best_count, _)) if best_count >= count => best,
                _ => Some((count, label)),
            });
        let total = known.len();
        let share = p.max_group_share;
        let (count, label) = largest.unwrap_or((0, "none"));
        let met = total > 0 && 100 * count as u64 <= share * total as u64;
        let evidence: Vec<u64> = ple.iter().map(|(_, person)| person.joined_at).collect();
        // Counts of people below 5 are never shown, nor a share that would give them away.
        let shown = if count < SMALL_COUNT {
            None
        } else {
            Some(percent(count, total))
        };
        let value = match shown {
            Some(pct) => format!("largest group {count} of {total} people ({pct}%)"),
            None if total < SMALL_COUNT => "fewer than 5 people in all".to_string(),
            None => format!("largest group fewer than 5 of {total} people"),
        };
        let of_them = match shown {
            Some(pct) => format!(
                "is {count} of the {total} people with lived experience who took part ({pct}%)"
            ),
            None if total < SMALL_COUNT => {
                "is the largest group of the fewer than 5 people with lived experience who took part"
                    .to_string()
            }
            None => format!(
                "is fewer than 5 of the {total} people with lived experience who took part"
            ),
        };
        let mut explanation = if total == 0 && unknown == 0 {
            "Nobody with lived experience has taken part yet.".to_string()
        } else if total == 0 {
            "The groups of the people with lived experience who took part are not known."
                .to_string()
        } else if met {
            format!("No single group dominates: the largest, '{label}', {of_them}.")
        } else {
            format!(
                "One group dominates: '{label}' {of_them}; no group should be more than {share}%."
            )
        };
        if unknown > 0 {
            explanation.push_str(&format!(
                " The groups of {} whose personal data was erased are unknown and not counted.",
                people_count(unknown)
            ));
        }
        indicator(
            "no_single_group_dominates",
            met,
            value,
            explanation,
            evidence,
        )
    }

    // 5. Equal valuation of assets

    /// Contributions by people of one side, with whether each was answered and adopted.
    fn contribution_rates(&self, side: fn(ParticipantKind) -> bool) -> ContributionRates {
        let mut rates = ContributionRates::default();
        for c in &self.contributions {
            let kind = self.participant(c.who).person.as_ref().map(|p| p.kind);
            if !kind.is_some_and(side) {
                continue;
            }
            rates.made += 1;
            rates.evidence.push(c.seq);
            if let Some((response_seq, adopted)) = c.response {
                rates.answered += 1;
                rates.evidence.push(response_seq);
                if adopted {
                    rates.adopted += 1;
                }
            } else {
                rates.unanswered.push(c.seq);
            }
        }
        rates
    }

    fn contributions_answered(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.contribution_rates(ParticipantKind::is_lived_experience);
        let share = p.response_share;
        let met = at_least(ple.answered, ple.made, share);
        let value = format!(
            "{} of {} contributions ({}%)",
            ple.answered,
            ple.made,
            ple.response_rate()
        );
        let explanation = if ple.made == 0 {
            "People with lived experience have not made any contribution yet.".to_string()
        } else if met {
            format!(
                "{} of the {} contributions from people with lived experience have had a response ({}%).",
                ple.answered,
                ple.made,
                ple.response_rate()
            )
        } else {
            format!(
                "Only {} of the {} contributions from people with lived experience have had a response ({}%); at least {share}% should be answered. Still waiting for a response: {}.",
                ple.answered,
                ple.made,
                ple.response_rate(),
                entry_list(&ple.unanswered)
            )
        };
        indicator(
            "contributions_answered",
            met,
            value,
            explanation,
            ple.evidence,
        )
    }

    fn parity(&self, p: &Parameters) -> IndicatorResult {
        let ple = self.contribution_rates(ParticipantKind::is_lived_experience);
        let pro = self.contribution_rates(ParticipantKind::is_professional);
        let tolerance = p.parity_tolerance;
        let keeps_up = |ours: u64, theirs: u64| ours + tolerance >= theirs;
        let responses_fair = keeps_up(ple.response_rate(), pro.response_rate());
        let adoption_fair = keeps_up(ple.adoption_rate(), pro.adoption_rate());
        let both = ple.made > 0 && pro.made > 0;
        let met = both && responses_fair && adoption_fair;
        let value = format!(
            "responded {}% vs {}%, adopted {}% vs {}%",
            ple.response_rate(),
            pro.response_rate(),
            ple.adoption_rate(),
            pro.adoption_rate()
        );
        let mut evidence = ple.evidence.clone();
        evidence.extend(&pro.evidence);
        let explanation = if !both {
            "Parity needs contributions from both people with lived experience and professionals to compare, and there are not yet both.".to_string()
        } else {
            let mut text = format!(
                "Contributions from people with lived experience had a response {}% of the time and were adopted or adapted {}% of the time; for professionals the figures are {}% and {}%.",
                ple.response_rate(),
                ple.adoption_rate(),
                pro.response_rate(),
                pro.adoption_rate()
            );
            if met {
                text.push_str(&format!(" Both are within {tolerance} points."));
            } else {
                let mut gaps = Vec::new();
                if !responses_fair {
                    gaps.push("answered");
                }
                if !adoption_fair {
                    gaps.push("adopted");
                }
                text.push_str(&format!(
                    " Contributions from people with lived experience are {} less often, by more than {tolerance} points.",
                    gaps.join(" and ")
                ));
            }
            text
        };
        indicator("parity", met, value, explanation, evidence)
    }

    fn influence(&self) -> IndicatorResult {
        // The latest under each id, as in a map collected in entry order.
        let ple_contributions: IdMap<&str, u64> = self
            .contributions
            .iter()
            .filter(|c| self.is_ple(c.who))
            .map(|c| (c.made.contribution_id.as_str(), c.seq))
            .collect();
        let mut evidence = Vec::new();
        let mut decisions = 0;
        for (seq, d, _) in &self.decisions {
            let influences: Vec<u64> = d
                .influenced_by
                .iter()
                // Only the contribution recorded before the decision: an id withdrawn and recorded
                // again later names another contribution.
                .filter_map(|c| ple_contributions.get(c.as_str()).copied())
                .filter(|contribution_seq| contribution_seq < seq)
                .collect();
            if !influences.is_empty() {
                decisions += 1;
                evidence.push(*seq);
                evidence.extend(influences);
            }
        }
        let met = decisions > 0;
        let value = format!("{decisions} of {} decisions", self.decisions.len());
        let explanation = if met {
            format!(
                "{decisions} of the {} decisions were shaped by contributions from people with lived experience.",
                self.decisions.len()
            )
        } else {
            "No decision has been recorded as influenced by a contribution from a person with lived experience.".to_string()
        };
        indicator("influence", met, value, explanation, evidence)
    }

    // 6. Shared responsibility

    fn shared_decisions(&self, p: &Parameters) -> IndicatorResult {
        let total = self.decisions.len();
        let not_shared: Vec<u64> = self
            .decisions
            .iter()
            .filter(|(_, d, with_ple)| !(d.method.is_shared() && *with_ple))
            .map(|(seq, _, _)| *seq)
            .collect();
        let shared = total - not_shared.len();
        let share = p.shared_decision_share;
        let met = at_least(shared, total, share);
        let evidence: Vec<u64> = self.decisions.iter().map(|(seq, _, _)| *seq).collect();
        let value = format!(
            "{shared} of {total} decisions ({}%)",
            percent(shared, total)
        );
        let explanation = if total == 0 {
            "No decision has been recorded yet.".to_string()
        } else if met {
            format!(
                "{shared} of the {total} decisions were made together with people with lived experience, by consensus, vote or led by them ({}%).",
                percent(shared, total)
            )
        } else {
            format!(
                "Only {shared} of the {total} decisions were made together with people with lived experience ({}%); at least {share}% should be made by consensus, vote or led by them, with them taking part. Not shared: {}.",
                percent(shared, total),
                entry_list(&not_shared)
            )
        };
        indicator("shared_decisions", met, value, explanation, evidence)
    }

    fn accountability_shared(&self) -> IndicatorResult {
        let total = self.reviews.len();
        let without: Vec<u64> = self
            .reviews
            .iter()
            .filter(|(_, _, with_ple, _)| !*with_ple)
            .map(|(seq, _, _, _)| *seq)
            .collect();
        let with = total - without.len();
        let met = total > 0 && without.is_empty();
        let evidence: Vec<u64> = self.reviews.iter().map(|(seq, _, _, _)| *seq).collect();
        let value = format!("{with} of {total} reviews");
        let explanation = if total == 0 {
            "No review of outcomes has been recorded yet.".to_string()
        } else if met {
            format!("All {total} outcome reviews name a person with lived experience as accountable or as a reviewer.")
        } else {
            format!(
                "{} of {total} outcome reviews name nobody with lived experience as accountable or as a reviewer ({}).",
                without.len(),
                entry_list(&without)
            )
        };
        indicator("accountability_shared", met, value, explanation, evidence)
    }

    fn failures_owned(&self) -> IndicatorResult {
        let setbacks: Vec<&(u64, &OutcomeReviewed, bool, bool)> = self
            .reviews
            .iter()
            .filter(|(_, r, _, _)| r.kind != OutcomeKind::Success)
            .collect();
        let owned = setbacks.iter().filter(|(_, _, _, by_ple)| *by_ple).count();
        let met = owned > 0;
        let evidence: Vec<u64> = setbacks.iter().map(|(seq, _, _, _)| *seq).collect();
        let value = format!("{owned} of {} shortfall or failure reviews", setbacks.len());
        let explanation = if setbacks.is_empty() {
            "No shortfall or failure has been reviewed yet; owning failures means reviewing them together.".to_string()
        } else if met {
            format!(
                "People with lived experience helped to review {owned} of the {} shortfalls or failures.",
                setbacks.len()
            )
        } else {
            format!(
                "None of the {} shortfall or failure reviews had a person with lived experience among the reviewers.",
                setbacks.len()
            )
        };
        indicator("failures_owned", met, value, explanation, evidence)
    }
}

#[derive(Default)]
struct ContributionRates {
    made: usize,
    answered: usize,
    /// The contributions still waiting for a response.
    unanswered: Vec<u64>,
    adopted: usize,
    evidence: Vec<u64>,
}

impl ContributionRates {
    fn response_rate(&self) -> u64 {
        percent(self.answered, self.made)
    }

    /// Adopted or adapted, of those answered.
    fn adoption_rate(&self) -> u64 {
        percent(self.adopted, self.answered)
    }
}

/// "entry 4" or "entries 4, 9, 12", for explanations that point at the trail.
fn entry_list(sequences: &[u64]) -> String {
    let numbers: Vec<String> = sequences.iter().map(u64::to_string).collect();
    match numbers.len() {
        1 => format!("entry {}", numbers[0]),
        _ => format!("entries {}", numbers.join(", ")),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::CoChair => "co-chair",
        Role::CoFacilitator => "co-facilitator",
        Role::CoTrainer => "co-trainer",
        Role::CoResearcher => "co-researcher",
        Role::QualityAssurer => "quality assurer",
        Role::RecruitmentPanel => "recruitment panel",
        Role::PeerSupporter => "peer supporter",
        Role::Learner => "learner",
    }
}
