//! What an assessment says: the answer, its criteria and indicators, as served and sealed (the
//! JSON follows the field order declared here), and why an assessment cannot be computed.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::digest::Digest;
use crate::events::LadderRung;
use crate::rubric::RubricReference;

/// Which entries an assessment is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Everything recorded so far.
    Latest,
    /// Entries 1 to n.
    AtSequence(u64),
    /// Entries recorded at or before this instant: what was known then.
    AsOf(DateTime<Utc>),
    /// What had happened by the end of the day `by`, by the dates the facts themselves give
    /// (`occurred_on`, a registration's `started_on`), as known at `known_at` (the entries
    /// recorded by then) or, without it, as known now. History entered late counts on the day
    /// it happened. Corrections, erasures and seals are about the record, not the project: every
    /// one known counts, whatever its date, so a correction made today moves what it withdraws.
    HappenedBy {
        by: NaiveDate,
        known_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("nothing had been recorded for this project by then")]
    NothingRecorded,
    #[error("the project has {last} entries; there is no entry {requested}")]
    SequenceBeyondEnd { requested: u64, last: u64 },
    #[error("the project started on {started_on}, after {by}: nothing had happened by then")]
    NotStartedBy {
        by: NaiveDate,
        started_on: NaiveDate,
    },
    #[error("the rubric names an indicator this engine does not know: {0}")]
    UnknownIndicator(String),
    #[error("the rubric has no words for what is missing when '{indicator}' is {state}")]
    MissingWording { indicator: String, state: String },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Met,
    PartlyMet,
    NotMet,
    /// None of the criterion's indicators could be judged (version 2 on).
    InsufficientEvidence,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Met => "met",
            Rating::PartlyMet => "partly_met",
            Rating::NotMet => "not_met",
            Rating::InsufficientEvidence => "insufficient_evidence",
        }
    }
}

/// What the evidence says about one indicator (version 2 on).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    Met,
    NotMet,
    /// Nothing to judge yet: no failure reviewed, no reward due.
    NotApplicable,
    /// The facts needed were never recorded.
    NotRecorded,
    /// Withheld from this reader: it would tell something about the groups of fewer than five
    /// people (see [`super::Disclosure`]).
    NotShown,
}

impl EvidenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceState::Met => "met",
            EvidenceState::NotMet => "not_met",
            EvidenceState::NotApplicable => "not_applicable",
            EvidenceState::NotRecorded => "not_recorded",
            EvidenceState::NotShown => "not_shown",
        }
    }

    /// Met or not met: the indicator could be judged.
    pub fn is_judged(self) -> bool {
        matches!(self, EvidenceState::Met | EvidenceState::NotMet)
    }
}

/// Where the project stands on the ladder of participation, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    /// `null` when nobody with lived experience has taken part.
    pub rung: Option<LadderRung>,
    pub reasons: Vec<String>,
}

/// Something a panel must see first, with the entries behind it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// `declared_above_evidence` or `unilateral_change`.
    pub key: String,
    pub message: String,
    pub evidence: Vec<u64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorResult {
    pub key: String,
    pub met: bool,
    pub value: String,
    pub explanation: String,
    pub evidence: Vec<u64>,
    /// Version 2 on: met, not met, not applicable or not recorded; in any version, `not_shown`
    /// when withheld from a reader who may not see personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<EvidenceState>,
    /// Version 2 on, unless met: what to record or do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_evidence: Option<String>,
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
    /// Version 2 on: why the rating was capped at not met, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overall {
    pub met: u32,
    pub partly_met: u32,
    pub not_met: u32,
    pub summary: String,
    /// Version 2 on: criteria none of whose indicators could be judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insufficient_evidence: Option<u32>,
    /// Version 2 on: the assessment in one plain sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Ladder>,
    /// What the project said it was at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_level: Option<LadderRung>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<Flag>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub project_id: Uuid,
    pub rubric: RubricReference,
    pub as_of: String,
    /// Asked by when things happened: the day, by the facts' own dates (see
    /// [`Cutoff::HappenedBy`]); absent when the answer counts every fact recorded by `as_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    pub at_sequence: u64,
    pub stream_digest: Digest,
    pub engine: String,
    /// How many participants' personal data had been erased when this was computed: their
    /// groups count as unknown.
    pub participants_erased: u32,
    pub criteria: Vec<CriterionResult>,
    pub overall: Overall,
    /// Version 2 on, once someone has answered through an invitation: what the people involved
    /// say, beside the rating from the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people_say: Option<super::PeopleSay>,
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
