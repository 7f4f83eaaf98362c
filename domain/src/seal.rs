//! Checking sealed assessments: does replaying the log today give the exact body a panel was
//! given, and is the log it was computed from unaltered? Used by the API, `coprod verify` and
//! the offline check of an exported trail, so that all three judge a seal the same way.

use crate::assessment::{assess_for, Assessment, Cutoff};
use crate::digest::{verify_chain, Digest, StoredEntry};
use crate::events::{AssessmentSealed, ProjectEvent};
use crate::personal;
use crate::recorded::RecordedEvent;
use crate::rubric;

/// The verdict on one seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SealOutcome {
    /// The entries are unaltered and replaying them gives exactly the sealed body.
    Holds,
    /// The entries no longer lead to the sealed stream digest.
    Altered,
    /// The entries are unaltered but replaying them gives another body.
    Differs,
    /// The entries are unaltered, but personal data the assessment used can no longer be read
    /// (erased since, or encrypted and this check has no keys): it cannot be replayed in full.
    /// Nothing suggests tampering.
    CannotReplay,
    /// The seal or the entries cannot be read as a seal and its assessment.
    Unreadable,
}

/// What checking one seal found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealCheck {
    /// The entry that holds the seal.
    pub sequence: u64,
    pub at_sequence: u64,
    pub purpose: String,
    /// Whether the chain recomputed from the stored entries reaches the sealed stream digest.
    pub stream_digest_matches: bool,
    pub sealed_digest: Digest,
    /// The SHA-256 of the body replayed now, if it could be replayed.
    pub replayed_digest: Option<Digest>,
    pub valid: bool,
    pub outcome: SealOutcome,
    /// For `cannot_replay` after an erasure: the entry that erased the first participant whose
    /// data the sealed assessment used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<u64>,
    /// In plain English: why the seal holds, or what no longer matches.
    pub explanation: String,
}

impl SealCheck {
    /// Whether the seal is contradicted: the record was altered, or replays differently, or
    /// cannot be read. A seal that cannot be replayed in full after an erasure is not.
    pub fn contradicted(&self) -> bool {
        !matches!(self.outcome, SealOutcome::Holds | SealOutcome::CannotReplay)
    }
}

/// Replays the assessment a seal was made of, as it asked for it. The body names the engine that
/// made the seal, so the digest compares the judgement itself across engine releases.
pub fn replay(events: &[RecordedEvent], seal: &AssessmentSealed) -> Result<Assessment, String> {
    let published = rubric::find(&seal.rubric.id, seal.rubric.version)
        .filter(|r| r.digest == seal.rubric.digest)
        .ok_or_else(|| {
            format!(
                "this engine does not have rubric {}@{} with digest {}",
                seal.rubric.id, seal.rubric.version, seal.rubric.digest
            )
        })?;
    // Entries 1 to at_sequence are exactly what the assessment was computed from (for an `as_of`
    // seal: those recorded by then, as the store knew them when sealing), so the replay cuts there
    // and restates the sealed `as_of`; a late entry stamped before `as_of` cannot change it.
    // For the kind of reader it was sealed for: a panel's seal is of the body a panel is given.
    let mut assessment = match seal.happened_by {
        None => assess_for(
            events,
            published,
            Cutoff::AtSequence(seal.at_sequence),
            seal.disclosure,
        ),
        // Asked by when things happened: the same question over the same known entries.
        Some(by) => {
            let known: Vec<RecordedEvent> = events
                .iter()
                .filter(|e| e.sequence <= seal.at_sequence)
                .cloned()
                .collect();
            let cutoff = Cutoff::HappenedBy { by, known_at: None };
            assess_for(&known, published, cutoff, seal.disclosure)
        }
    }
    .map_err(|e| e.to_string())?;
    assessment.as_of = seal.as_of.clone();
    assessment.engine = seal.engine.clone();
    Ok(assessment)
}

/// The digest a seal keeps of an assessment: SHA-256 of its body as served.
pub fn body_digest(assessment: &Assessment) -> Digest {
    Digest::of_bytes(&assessment.to_json_bytes())
}

/// Reads stored entries as events (personal fields still sealed).
pub fn decode(entries: &[StoredEntry]) -> Result<Vec<RecordedEvent>, String> {
    entries
        .iter()
        .map(|e| RecordedEvent::from_stored(e).map_err(|e| e.to_string()))
        .collect()
}

/// Checks every seal in one project's stored entries (in order), with no keys: personal data
/// stays sealed, so a seal that used it cannot be replayed in full (offline checks).
pub fn check_seals(entries: &[StoredEntry]) -> Vec<SealCheck> {
    check_seals_with(entries, decode(entries))
}

/// Checks every seal in one project's stored entries, replaying `decoded`: the same entries as
/// events, with the personal fields the caller could open opened (the server, with the keys).
pub fn check_seals_with(
    entries: &[StoredEntry],
    decoded: Result<Vec<RecordedEvent>, String>,
) -> Vec<SealCheck> {
    let chain = verify_chain(entries);
    let heads = chain.heads;
    let seals = entries.iter().filter_map(|entry| {
        if entry.event_type != "assessment_sealed" {
            return None;
        }
        let seal: AssessmentSealed =
            match serde_json::from_value::<ProjectEvent>(entry.payload.clone()) {
                Ok(ProjectEvent::AssessmentSealed(seal)) => seal,
                _ => return Some(Err(entry.sequence)),
            };
        Some(Ok((entry.sequence, seal)))
    });
    seals
        .map(|found| match found {
            Err(sequence) => SealCheck {
                sequence,
                at_sequence: 0,
                purpose: String::new(),
                stream_digest_matches: false,
                sealed_digest: Digest::ZERO,
                replayed_digest: None,
                valid: false,
                outcome: SealOutcome::Unreadable,
                erased_at: None,
                explanation: format!("Entry {sequence} should hold a seal but cannot be read."),
            },
            Ok((sequence, seal)) => {
                check_one(sequence, &seal, &heads, chain.first_divergence, &decoded)
            }
        })
        .collect()
}

fn check_one(
    sequence: u64,
    seal: &AssessmentSealed,
    heads: &[Digest],
    first_divergence: Option<u64>,
    decoded: &Result<Vec<RecordedEvent>, String>,
) -> SealCheck {
    let recomputed_head = seal
        .at_sequence
        .checked_sub(1)
        .and_then(|i| heads.get(i as usize));
    let stream_digest_matches = recomputed_head == Some(&seal.stream_digest);
    let replayed = decoded
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|events| replay(events, seal));
    let replayed_digest = replayed.as_ref().ok().map(body_digest);
    let same_body = replayed_digest == Some(seal.assessment_digest);
    let valid = stream_digest_matches && same_body;
    // Only an intact seal entry can be given the benefit of the doubt for data it cannot read.
    let seal_entry_intact = first_divergence.is_none_or(|entry| entry > sequence);
    let unreadable = match decoded {
        Ok(events) if seal_entry_intact => unreadable_personal_data(events, seal.at_sequence),
        _ => None,
    };
    let (outcome, erased_at, explanation) = match (&replayed, stream_digest_matches, same_body) {
        (_, true, true) => (SealOutcome::Holds, None, format!(
            "The seal holds: the entries up to {} are unaltered and replaying them gives exactly the sealed assessment.",
            seal.at_sequence
        )),
        // An altered record is the finding that matters most, whether or not it still replays.
        (_, false, _) => (SealOutcome::Altered, None, format!(
            "The entries up to {} no longer lead to the sealed stream digest: the record has been altered since the seal.",
            seal.at_sequence
        )),
        (Err(why), true, _) => (SealOutcome::Unreadable, None, format!("The sealed assessment cannot be replayed: {why}.")),
        (Ok(_), true, false) => match unreadable {
            Some(Unreadable::Erased(entry)) => (SealOutcome::CannotReplay, Some(entry), format!(
                "The sealed assessment cannot be replayed in full: participant data erased at entry {entry}. The entries up to {} are unaltered.",
                seal.at_sequence
            )),
            Some(Unreadable::Encrypted) => (SealOutcome::CannotReplay, None, format!(
                "The sealed assessment cannot be replayed in full: the personal data it used is encrypted and this check has no keys. The entries up to {} are unaltered.",
                seal.at_sequence
            )),
            None => (SealOutcome::Differs, None, "Replaying the entries gives a different assessment from the one sealed.".to_string()),
        },
    };
    SealCheck {
        sequence,
        at_sequence: seal.at_sequence,
        purpose: seal.purpose.clone(),
        stream_digest_matches,
        sealed_digest: seal.assessment_digest,
        replayed_digest,
        valid,
        outcome,
        erased_at,
        explanation,
    }
}

/// Why personal data used by an assessment cannot be read now.
enum Unreadable {
    /// Erased by this entry (the first such erasure of someone the assessment covered).
    Erased(u64),
    /// Still encrypted: the check has no keys.
    Encrypted,
}

/// Whether personal data recorded in entries 1..=`at_sequence` can no longer be read.
fn unreadable_personal_data(events: &[RecordedEvent], at_sequence: u64) -> Option<Unreadable> {
    let covered: Vec<&str> = events
        .iter()
        .filter(|e| e.sequence <= at_sequence)
        .filter(|e| !personal::is_clear(&e.event))
        .filter_map(|e| personal::owner(&e.event))
        .collect();
    if covered.is_empty() {
        return None;
    }
    let erased = personal::erasures(events)
        .into_iter()
        .filter(|(participant, _)| covered.contains(participant))
        .map(|(_, entry)| entry)
        .min();
    Some(erased.map_or(Unreadable::Encrypted, Unreadable::Erased))
}
