//! Checking sealed assessments: does replaying the log today give the exact body a panel was
//! given, and is the log it was computed from unaltered? Used by the API, `coprod verify` and
//! the offline check of an exported trail, so that all three judge a seal the same way.

use crate::assessment::{assess, Assessment, Cutoff};
use crate::digest::{verify_chain, Digest, StoredEntry};
use crate::events::{AssessmentSealed, ProjectEvent};
use crate::recorded::RecordedEvent;
use crate::rubric;

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
    /// In plain English: why the seal holds, or what no longer matches.
    pub explanation: String,
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
    let cutoff = Cutoff::AtSequence(seal.at_sequence);
    let mut assessment = assess(events, published, cutoff).map_err(|e| e.to_string())?;
    assessment.as_of = seal.as_of.clone();
    assessment.engine = seal.engine.clone();
    Ok(assessment)
}

/// The digest a seal keeps of an assessment: SHA-256 of its body as served.
pub fn body_digest(assessment: &Assessment) -> Digest {
    Digest::of_bytes(&assessment.to_json_bytes())
}

/// Checks every seal in one project's stored entries (in order).
pub fn check_seals(entries: &[StoredEntry]) -> Vec<SealCheck> {
    let heads = verify_chain(entries).heads;
    let decoded: Result<Vec<RecordedEvent>, String> = entries
        .iter()
        .map(|e| RecordedEvent::from_stored(e).map_err(|e| e.to_string()))
        .collect();
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
                explanation: format!("Entry {sequence} should hold a seal but cannot be read."),
            },
            Ok((sequence, seal)) => check_one(sequence, &seal, &heads, &decoded),
        })
        .collect()
}

fn check_one(
    sequence: u64,
    seal: &AssessmentSealed,
    heads: &[Digest],
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
    let explanation = match (&replayed, stream_digest_matches, same_body) {
        (_, true, true) => format!(
            "The seal holds: the entries up to {} are unaltered and replaying them gives exactly the sealed assessment.",
            seal.at_sequence
        ),
        // An altered record is the finding that matters most, whether or not it still replays.
        (_, false, _) => format!(
            "The entries up to {} no longer lead to the sealed stream digest: the record has been altered since the seal.",
            seal.at_sequence
        ),
        (Err(why), true, _) => format!("The sealed assessment cannot be replayed: {why}."),
        (Ok(_), true, false) => "Replaying the entries gives a different assessment from the one sealed.".to_string(),
    };
    SealCheck {
        sequence,
        at_sequence: seal.at_sequence,
        purpose: seal.purpose.clone(),
        stream_digest_matches,
        sealed_digest: seal.assessment_digest,
        replayed_digest,
        valid,
        explanation,
    }
}
