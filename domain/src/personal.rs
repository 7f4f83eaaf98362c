//! Fields that describe a person (DESIGN rule 8): a participant's `groups` and what they
//! contributed (`summary`). The server stores them encrypted under a key of that participant's
//! own, so that destroying the key erases them without rewriting the log (crypto-shredding).
//!
//! The domain only carries them: a client posts them in clear, the server seals them before the
//! entry is hashed and stored, and opens them again, where it still can, when it reads.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::events::ProjectEvent;
use crate::recorded::RecordedEvent;

/// How an encrypted field is stored: the cipher, a fresh nonce and the ciphertext (with its
/// authentication tag), both in standard base64.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedValue {
    pub cipher: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// A personal field: readable, sealed (as stored, not opened here) or erased (its key is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal<T> {
    /// As the client posted it, or as the server decrypted it.
    Clear(T),
    /// As stored: encrypted under the participant's key.
    Sealed(SealedValue),
    /// Its key was destroyed when the participant's data was erased: it can never be read again.
    Erased,
}

/// What a personal field holds in place of its value once erased, wherever it is shown.
pub const ERASED: &str = "erased";

impl<T> Personal<T> {
    /// The value, if it can be read.
    pub fn clear(&self) -> Option<&T> {
        match self {
            Personal::Clear(value) => Some(value),
            Personal::Sealed(_) | Personal::Erased => None,
        }
    }

    pub fn is_clear(&self) -> bool {
        matches!(self, Personal::Clear(_))
    }
}

impl<T: Serialize> Personal<T> {
    /// The field as shown to a reader allowed to see it: its value, `"erased"`, or
    /// `"unreadable"` (sealed, and it could not be opened).
    pub fn shown(&self) -> serde_json::Value {
        match self {
            Personal::Clear(value) => serde_json::to_value(value).unwrap_or_default(),
            Personal::Erased => ERASED.into(),
            Personal::Sealed(_) => "unreadable".into(),
        }
    }
}

/// The personal field of an entry as shown (see [`Personal::shown`]), with its name.
pub fn shown_field(event: &ProjectEvent) -> Option<(&'static str, serde_json::Value)> {
    match event {
        ProjectEvent::ParticipantJoined(e) => Some(("groups", e.groups.shown())),
        ProjectEvent::ContributionMade(e) => Some(("summary", e.summary.shown())),
        _ => None,
    }
}

impl<T> From<T> for Personal<T> {
    fn from(value: T) -> Self {
        Personal::Clear(value)
    }
}

impl From<&str> for Personal<String> {
    fn from(value: &str) -> Self {
        Personal::Clear(value.to_string())
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Clear(value) => value.serialize(serializer),
            Personal::Sealed(sealed) => sealed.serialize(serializer),
            Personal::Erased => serializer.serialize_str(ERASED),
        }
    }
}

/// Reads the value itself, or a sealed object (`{"cipher", "nonce", "ciphertext"}`); never
/// "erased", which is only ever shown, not stored.
impl<'de, T: DeserializeOwned> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.is_object() {
            return serde_json::from_value(value)
                .map(Personal::Sealed)
                .map_err(D::Error::custom);
        }
        serde_json::from_value(value)
            .map(Personal::Clear)
            .map_err(D::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl<T: utoipa::PartialSchema> utoipa::PartialSchema for Personal<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        // Clients post and read the value itself; the stored form is described in docs/privacy.md.
        T::schema()
    }
}

#[cfg(feature = "openapi")]
impl<T: utoipa::PartialSchema> utoipa::ToSchema for Personal<T> {}

/// The personal field of each event type that has one; its owner is the entry's `participant_id`.
pub fn personal_field(event_type: &str) -> Option<&'static str> {
    match event_type {
        "participant_joined" => Some("groups"),
        "contribution_made" => Some("summary"),
        _ => None,
    }
}

/// The participant a personal field of this entry belongs to, if the entry has one.
pub fn owner(event: &ProjectEvent) -> Option<&str> {
    match event {
        ProjectEvent::ParticipantJoined(e) => Some(&e.participant_id),
        ProjectEvent::ContributionMade(e) => Some(&e.participant_id),
        _ => None,
    }
}

/// Whether any personal field of this entry is sealed (not opened yet).
pub fn is_sealed(event: &ProjectEvent) -> bool {
    match event {
        ProjectEvent::ParticipantJoined(e) => matches!(e.groups, Personal::Sealed(_)),
        ProjectEvent::ContributionMade(e) => matches!(e.summary, Personal::Sealed(_)),
        _ => false,
    }
}

/// Whether every personal field of this entry can be read.
pub fn is_clear(event: &ProjectEvent) -> bool {
    match event {
        ProjectEvent::ParticipantJoined(e) => e.groups.is_clear(),
        ProjectEvent::ContributionMade(e) => e.summary.is_clear(),
        _ => true,
    }
}

/// Marks every personal field of `participant` in `events` as erased.
pub fn forget(events: &mut [RecordedEvent], participant: &str) {
    for entry in events {
        if owner(&entry.event) != Some(participant) {
            continue;
        }
        match &mut entry.event {
            ProjectEvent::ParticipantJoined(e) => e.groups = Personal::Erased,
            ProjectEvent::ContributionMade(e) => e.summary = Personal::Erased,
            _ => {}
        }
    }
}

/// The participants whose data an entry of `events` records as erased, with that entry.
pub fn erasures(events: &[RecordedEvent]) -> Vec<(&str, u64)> {
    events
        .iter()
        .filter_map(|entry| match &entry.event {
            ProjectEvent::ParticipantErased(e) => Some((e.participant_id.as_str(), entry.sequence)),
            _ => None,
        })
        .collect()
}

/// Whether an entry names `participant` (as who joined, took part, was rewarded, decided,
/// reviewed, or was erased).
pub fn names(event: &ProjectEvent, participant: &str) -> bool {
    let any = |ids: &[String]| ids.iter().any(|id| id == participant);
    match event {
        ProjectEvent::ParticipantJoined(e) => e.participant_id == participant,
        ProjectEvent::ParticipantLeft(e) => e.participant_id == participant,
        ProjectEvent::RewardGiven(e) => e.participant_id == participant,
        ProjectEvent::RoleTaken(e) => e.participant_id == participant,
        ProjectEvent::ContributionMade(e) => e.participant_id == participant,
        ProjectEvent::ParticipantErased(e) => e.participant_id == participant,
        ProjectEvent::ActivityHeld(e) => any(&e.facilitators) || any(&e.attendees),
        ProjectEvent::DecisionMade(e) => {
            any(&e.participants)
                || e.votes
                    .as_ref()
                    .is_some_and(|v| any(&v.in_favour) || any(&v.against) || any(&v.abstain))
        }
        ProjectEvent::OutcomeReviewed(e) => any(&e.accountable) || any(&e.reviewed_by),
        ProjectEvent::ProjectRegistered(_)
        | ProjectEvent::StageStarted(_)
        | ProjectEvent::StageCompleted(_)
        | ProjectEvent::ContributionResponded(_)
        | ProjectEvent::CorrectionRecorded(_)
        | ProjectEvent::ProjectClosed(_)
        | ProjectEvent::AssessmentSealed(_) => false,
    }
}

/// What a subject access request returns from one project: every entry that names the
/// participant, the responses to their contributions, and the corrections of any of those.
pub fn about(events: &[RecordedEvent], participant: &str) -> Vec<RecordedEvent> {
    let mut contributions = std::collections::BTreeSet::new();
    let mut chosen = std::collections::BTreeSet::new();
    for entry in events {
        let event = &entry.event;
        let include = match event {
            ProjectEvent::ContributionResponded(e) => contributions.contains(&e.contribution_id),
            ProjectEvent::CorrectionRecorded(e) => chosen.contains(&e.corrects_sequence),
            _ => names(event, participant),
        };
        if let ProjectEvent::ContributionMade(e) = event {
            if e.participant_id == participant {
                contributions.insert(e.contribution_id.clone());
            }
        }
        if include {
            chosen.insert(entry.sequence);
        }
    }
    events
        .iter()
        .filter(|entry| chosen.contains(&entry.sequence))
        .cloned()
        .collect()
}
