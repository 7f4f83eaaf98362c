//! The rubrics as data. Each version is one JSON file compiled into the program; its digest is
//! SHA-256 of its canonical JSON. A new version never changes an old one, so any assessment can be
//! replayed under the rubric it named.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::{canonical_json, Digest};
use crate::events::{ActivityKind, LadderRung};

/// The rubric used when a request names none.
pub const DEFAULT_RUBRIC_ID: &str = "oxfordshire-six-point";

/// Every rubric version shipped, as (file name, JSON text). Append new versions; never edit one.
const SOURCES: &[(&str, &str)] = &[
    (
        "oxfordshire-six-point-v1.json",
        include_str!("../rubrics/oxfordshire-six-point-v1.json"),
    ),
    (
        "oxfordshire-six-point-v2.json",
        include_str!("../rubrics/oxfordshire-six-point-v2.json"),
    ),
];

/// How an activity involves people, lowest first (version 2 on): told, asked for their views,
/// talking things through, or led by people with lived experience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvolvementMode {
    Inform,
    Consult,
    Deliberate,
    Lead,
}

/// The thresholds docs/rubric.md names, as whole numbers (per cents and days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    pub sustained_share: u64,
    pub shared_facilitation_share: u64,
    pub reward_share: u64,
    pub reward_days: u64,
    pub min_groups: u64,
    pub max_group_share: u64,
    pub response_share: u64,
    pub parity_tolerance: u64,
    pub shared_decision_share: u64,
    /// Version 2 on: the least hourly rate that counts as a reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rate_pence_per_hour: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_coverage_share: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_avoidable_leaving_share: Option<u64>,
    /// Version 2 on: how each kind of activity involves people (unlisted kinds: consulted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_modes: Option<BTreeMap<ActivityKind, InvolvementMode>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorDefinition {
    pub key: String,
    pub title: String,
    pub rule: String,
    /// Version 2 on: when each evidence state arises, by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<BTreeMap<String, String>>,
    /// Version 2 on: the words an assessment gives for what is missing, by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_evidence: Option<BTreeMap<String, String>>,
    /// Version 2 on: the parameters the rule uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<Vec<String>>,
}

/// One rung of the ladder of participation, as published (version 2 on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderStep {
    pub rung: LadderRung,
    pub title: String,
    pub meaning: String,
    /// What in the facts places a project on this rung.
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionDefinition {
    pub key: String,
    pub title: String,
    pub aim: String,
    pub indicators: Vec<IndicatorDefinition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub source: String,
    pub parameters: Parameters,
    pub criteria: Vec<CriterionDefinition>,
    /// Version 2 on: the rungs of the ladder, lowest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Vec<LadderStep>>,
}

/// Which rubric an assessment or a seal was computed under: its id, version and digest.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricReference {
    pub id: String,
    pub version: u32,
    pub digest: Digest,
}

/// A rubric with the facts derived from its file.
#[derive(Debug)]
pub struct PublishedRubric {
    pub rubric: Rubric,
    /// SHA-256 of the canonical JSON of the file.
    pub digest: Digest,
    /// The file as data, for `GET /rubrics/{id}@{version}`.
    pub definition: Value,
}

impl PublishedRubric {
    /// `id@version`, as requests name it.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.rubric.id, self.rubric.version)
    }
}

fn load(file: &str, text: &str) -> PublishedRubric {
    // A malformed rubric file is a build defect caught by the tests, never a runtime input.
    let definition: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("rubric file {file} is not JSON: {e}"));
    let rubric: Rubric = serde_json::from_value(definition.clone())
        .unwrap_or_else(|e| panic!("rubric file {file} does not describe a rubric: {e}"));
    let digest = Digest::of_bytes(canonical_json(&definition).as_bytes());
    PublishedRubric {
        rubric,
        digest,
        definition,
    }
}

/// Every rubric version shipped, oldest first.
pub fn all() -> &'static [PublishedRubric] {
    static RUBRICS: OnceLock<Vec<PublishedRubric>> = OnceLock::new();
    RUBRICS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(file, text)| load(file, text))
            .collect()
    })
}

/// One version of one rubric.
pub fn find(id: &str, version: u32) -> Option<&'static PublishedRubric> {
    all()
        .iter()
        .find(|r| r.rubric.id == id && r.rubric.version == version)
}

/// The newest version of a rubric.
pub fn latest_of(id: &str) -> Option<&'static PublishedRubric> {
    all()
        .iter()
        .filter(|r| r.rubric.id == id)
        .max_by_key(|r| r.rubric.version)
}

/// The newest version of the default rubric.
pub fn latest() -> &'static PublishedRubric {
    latest_of(DEFAULT_RUBRIC_ID).expect("the default rubric is compiled in")
}

/// Reads `id@version` or a bare `id` (its latest version).
pub fn parse_reference(reference: &str) -> Option<&'static PublishedRubric> {
    match reference.split_once('@') {
        Some((id, version)) => find(id, version.parse().ok()?),
        None => latest_of(reference),
    }
}
