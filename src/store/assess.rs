//! The one way a project is assessed: its entries are read and prepared for the rubric here,
//! and replayed up to a cut-off. `GET /projects/{id}/assessment`, sealed assessments and the
//! portfolio all go through [`Store::assess_project_at`] (or its one-cut-off form
//! [`Store::assess_project`]), so that whatever is done to the entries before the rubric runs
//! applies to all of them alike.

use coprod_domain::assessment::{assess, AssessError, Assessment, Cutoff};
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
    /// The project's assessment at `cutoff` under `rubric`.
    pub async fn assess_project(
        &self,
        project_id: Uuid,
        cutoff: Cutoff,
        rubric: &PublishedRubric,
    ) -> Result<Assessment, AssessmentError> {
        let mut at = self
            .assess_project_at(project_id, &[cutoff], rubric)
            .await?;
        Ok(at.remove(0)?.assessment)
    }

    /// The project at each of `cutoffs` (one answer per cut-off, in order), read once: the
    /// function every assessment goes through.
    pub async fn assess_project_at(
        &self,
        project_id: Uuid,
        cutoffs: &[Cutoff],
        rubric: &PublishedRubric,
    ) -> Result<Vec<Result<ProjectAt, AssessError>>, StoreError> {
        let events = self.recorded_events(project_id).await?;
        Ok(cutoffs
            .iter()
            .map(|cutoff| project_at(&events, *cutoff, rubric))
            .collect())
    }
}

/// Replays the prepared `events` (ascending by sequence) up to `cutoff`.
fn project_at(
    events: &[RecordedEvent],
    cutoff: Cutoff,
    rubric: &PublishedRubric,
) -> Result<ProjectAt, AssessError> {
    let assessment = assess(events, rubric, cutoff)?;
    let known = events
        .iter()
        .position(|e| e.sequence > assessment.at_sequence)
        .unwrap_or(events.len());
    let summary = summarise(&events[..known]).ok_or(AssessError::NothingRecorded)?;
    Ok(ProjectAt {
        assessment,
        summary,
    })
}
