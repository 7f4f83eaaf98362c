//! A project's assessment at a moment: the question (which rubric, which cut-off), the one way
//! the API and the pages replay it ([`assess_at`], over the store's own single way), and its
//! CSV. The rubric and its rules are described in `docs/rubric.md`.

use chrono::{DateTime, Utc};
use coprod_domain::assessment::{AssessError, Assessment, Cutoff, Disclosure};
use coprod_domain::rubric::{self, PublishedRubric};
use serde::Deserialize;
use uuid::Uuid;

use super::answer::csv_bytes;
use super::caller::{visible_project, Caller};
use super::moment::{past_day, past_instant};
use super::{AppError, AppState};
use crate::store::ProjectAt;

/// Which assessment is asked for: as recorded by a moment or up to an entry (at most one of
/// them; neither means everything recorded so far), under which rubric (default the latest).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    pub as_of: Option<String>,
    pub at_sequence: Option<u64>,
    /// A day: count the facts that had happened by its end, by their own dates (with `as_of`,
    /// among the entries recorded by then).
    pub happened_by: Option<String>,
    pub rubric: Option<String>,
}

/// The rubric named `id@version`, or the latest.
pub fn find_rubric(reference: Option<&str>) -> Result<&'static PublishedRubric, AppError> {
    match reference {
        None => Ok(rubric::latest()),
        Some(reference) => rubric::parse_reference(reference).ok_or_else(|| {
            AppError::unanswerable(
                "unknown_rubric",
                format!("There is no rubric '{reference}'. See GET /api/v1/rubrics for those available, named as id@version."),
            )
            .at("rubric", "unknown rubric")
        }),
    }
}

/// The cut-off a query asks for; instants later than now are refused, since their answer could
/// still change.
fn cutoff(query: &AssessmentQuery, now: DateTime<Utc>) -> Result<Cutoff, AppError> {
    if let Some(text) = &query.happened_by {
        if query.at_sequence.is_some() {
            return Err(AppError::malformed(
                "validation_failed",
                "Ask for 'happened_by' alone or with 'as_of', not with 'at_sequence'.",
            )
            .at("happened_by", "not with at_sequence"));
        }
        return happened_by(text, query.as_of.as_deref(), now);
    }
    match (&query.as_of, query.at_sequence) {
        (Some(_), Some(_)) => Err(AppError::malformed(
            "validation_failed",
            "Ask for either 'as_of' or 'at_sequence', not both.",
        )),
        (None, None) => Ok(Cutoff::Latest),
        (None, Some(0)) => Err(AppError::malformed(
            "validation_failed",
            "at_sequence starts at 1.",
        )
        .at("at_sequence", "must be at least 1")),
        (None, Some(n)) => Ok(Cutoff::AtSequence(n)),
        (Some(text), None) => Ok(Cutoff::AsOf(past_instant("as_of", text, now)?)),
    }
}

/// What had happened by the end of the day `text`, as known now or at `as_of`.
pub fn happened_by(
    text: &str,
    as_of: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Cutoff, AppError> {
    let by = past_day("happened_by", text, now.date_naive())?;
    let known_at = as_of
        .map(|text| past_instant("as_of", text, now))
        .transpose()?;
    Ok(Cutoff::HappenedBy { by, known_at })
}

/// The project at each of `cutoffs` under `rubric`, in order, its entries read once, as
/// readers of `disclosure` may be given it (see [`Caller::disclosure`]): the one way the API,
/// the pages and the portfolio assess a project.
pub async fn assess_at(
    state: &AppState,
    project_id: Uuid,
    cutoffs: &[Cutoff],
    rubric: &PublishedRubric,
    disclosure: Disclosure,
) -> Result<Vec<Result<ProjectAt, AssessError>>, AppError> {
    Ok(state
        .store
        .assess_project_at(project_id, cutoffs, rubric, disclosure)
        .await?)
}

/// `Some` answer, or `None` where nothing had been recorded by the cut-off; any other reason
/// an assessment cannot be given is an error.
pub fn recorded<T>(answer: Result<T, AssessError>) -> Result<Option<T>, AppError> {
    match answer {
        Ok(answer) => Ok(Some(answer)),
        Err(AssessError::NothingRecorded) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The assessment a query asks for, of a project the caller may see, as the caller may be
/// given it.
pub async fn assessment_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
    query: &AssessmentQuery,
) -> Result<Assessment, AppError> {
    let head = visible_project(state, caller, id).await?;
    let rubric = find_rubric(query.rubric.as_deref())?;
    let cutoff = cutoff(query, state.now())?;
    let mut answers = assess_at(
        state,
        head.project_id,
        &[cutoff],
        rubric,
        caller.disclosure(),
    )
    .await?;
    let answer = answers
        .pop()
        .ok_or_else(|| AppError::internal("assessment", "no answer for the cut-off"))?;
    Ok(answer?.assessment)
}

const CSV_HEADER: [&str; 14] = [
    "project_id",
    "rubric",
    "as_of",
    "at_sequence",
    "stream_digest",
    "criterion",
    "criterion_title",
    "rating",
    "score",
    "indicator",
    "met",
    "value",
    "explanation",
    "evidence",
];

/// Version 2 on, after those: what the evidence says of the indicator and what is missing.
const CSV_HEADER_FROM_VERSION_2: [&str; 2] = ["state", "missing_evidence"];

/// The assessment as CSV: one row per indicator. Version 1's columns are as they always were;
/// from version 2 each row ends with the indicator's state and what evidence is missing.
pub fn assessment_csv(assessment: &Assessment) -> Result<Vec<u8>, AppError> {
    let with_states = assessment.rubric.version >= 2;
    let rubric = format!("{}@{}", assessment.rubric.id, assessment.rubric.version);
    let mut rows = Vec::new();
    for criterion in &assessment.criteria {
        for indicator in &criterion.indicators {
            let evidence: Vec<String> = indicator.evidence.iter().map(u64::to_string).collect();
            let mut row = vec![
                assessment.project_id.to_string(),
                rubric.clone(),
                assessment.as_of.clone(),
                assessment.at_sequence.to_string(),
                assessment.stream_digest.to_string(),
                criterion.key.clone(),
                criterion.title.clone(),
                criterion.rating.as_str().to_string(),
                criterion.score.to_string(),
                indicator.key.clone(),
                indicator.met.to_string(),
                indicator.value.clone(),
                indicator.explanation.clone(),
                evidence.join(" "),
            ];
            if with_states {
                row.push(
                    indicator
                        .state
                        .map(|state| state.as_str().to_string())
                        .unwrap_or_default(),
                );
                row.push(indicator.missing_evidence.clone().unwrap_or_default());
            }
            rows.push(row);
        }
    }
    let mut header = CSV_HEADER.to_vec();
    if with_states {
        header.extend(CSV_HEADER_FROM_VERSION_2);
    }
    csv_bytes(&header, &rows)
}
