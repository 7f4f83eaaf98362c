//! What an assessment says: the answer, its criteria and indicators, as served and sealed (the
//! JSON follows the field order declared here), and why an assessment cannot be computed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::digest::Digest;
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
