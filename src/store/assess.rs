//! The one way a project is assessed: its entries are read and prepared for the rubric here,
//! and replayed up to a cut-off. `GET /projects/{id}/assessment`, sealed assessments and the
//! portfolio all go through [`Store::assess_project_at`] (or its one-cut-off form
//! [`Store::assess_project`]), so that whatever is done to the entries before the rubric runs
//! applies to all of them alike.

use coprod_domain::assessment::{assess_for, counted, AssessError, Assessment, Cutoff, Disclosure};
use coprod_domain::rubric::PublishedRubric;
use coprod_domain::RecordedEvent;
use uuid::Uuid;

use super::views::{summarise, ProjectSummary};
use super::{Store, StoreError};

/// A project as recorded by a cut-off: its assessment, and its summary (status, stages,
/// service area) from the same entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAt {
    pub assessment: Assessment,
    pub summary: ProjectSummary,
}

/// Why a project could not be assessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    /// The store failed (503 or 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The question has no answer (nothing recorded by then, a sequence beyond the end).
    #[error(transparent)]
    Assess(#[from] AssessError),
}

impl Store {
    /// The project's assessment at `cutoff` under `rubric`, for readers of `disclosure`.
    pub async fn assess_project(
        &self,
        project_id: Uuid,
        cutoff: Cutoff,
        rubric: &PublishedRubric,
        disclosure: Disclosure,
    ) -> Result<Assessment, AssessmentError> {
        let mut at = self
            .assess_project_at(project_id, &[cutoff], rubric, disclosure)
            .await?;
        Ok(at.remove(0)?.assessment)
    }

    /// The project at each of `cutoffs` (one answer per cut-off, in order), read once, as
    /// readers of `disclosure` may be given it: the function every assessment goes through.
    pub async fn assess_project_at(
        &self,
        project_id: Uuid,
        cutoffs: &[Cutoff],
        rubric: &PublishedRubric,
        disclosure: Disclosure,
    ) -> Result<Vec<Result<ProjectAt, AssessError>>, StoreError> {
        let events = self.recorded_events(project_id).await?;
        Ok(cutoffs
            .iter()
            .map(|cutoff| project_at(&events, *cutoff, rubric, disclosure))
            .collect())
    }
}

/// Replays the prepared `events` (ascending by sequence) up to `cutoff`.
fn project_at(
    events: &[RecordedEvent],
    cutoff: Cutoff,
    rubric: &PublishedRubric,
    disclosure: Disclosure,
) -> Result<ProjectAt, AssessError> {
    let assessment = assess_for(events, rubric, cutoff, disclosure)?;
    let summary = match cutoff {
        // The project as it stood by that day: only the facts that had happened by then.
        Cutoff::HappenedBy { .. } => {
            let counted: Vec<RecordedEvent> = counted(events, cutoff)?
                .entries
                .into_iter()
                .cloned()
                .collect();
            summarise(&counted)
        }
        _ => {
            let known = events
                .iter()
                .position(|e| e.sequence > assessment.at_sequence)
                .unwrap_or(events.len());
            summarise(&events[..known])
        }
    }
    .ok_or(AssessError::NothingRecorded)?;
    Ok(ProjectAt {
        assessment,
        summary,
    })
}
