//! `GET /projects/{id}/report?as_of=YYYY-MM-DD`: the printable panel report of the assessment at
//! a date, with its stream digest and rubric, and its CSV and JSON: `report.csv` and
//! `report.json` give, to the signed-in viewer, exactly the body the API gives for the same
//! question (`GET /api/v1/projects/{id}/assessment`, which needs a bearer token).

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{date_field, error_summary, html_response, page as layout_page, PageError};
use super::project::{
    assessment_at, basis, chart, count_choice, criteria, load, overall_counts, query_map,
    scores_table, verdict, when_of, When,
};
use super::session::{SignedIn, Viewer};
use super::words;
use crate::app::answer::etag;
use crate::app::assess::{assessment_csv, assessment_of, AssessmentQuery};
use crate::app::{AppError, AppState};

pub async fn page(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (state, viewer, id) = (&state, &viewer, id.as_str());
    let project = load(state, viewer, id).await?;
    let project_id = project.id();
    let query = query_map(query);
    let now = state.now();
    let when = when_of(&query, now.date_naive());
    let error = when.as_ref().err().cloned();
    let assessment = match &when {
        Ok(when) => assessment_at(state, &project, *when, viewer).await?,
        Err(_) => None,
    };
    let title = project.title();
    let organisation = project
        .registration()
        .map(|r| r.organisation.clone())
        .unwrap_or_default();
    let errors: Vec<(&str, String)> = error.iter().map(|e| ("as_of", e.clone())).collect();
    let body = html! {
        (error_summary(&errors))
        span class="govuk-caption-l" { "Panel report" }
        h1 class="govuk-heading-l" { (title) }
        @match (&when, &assessment) {
            (Ok(when), Some(assessment)) => {
                @let download_query = match when {
                    When::EndOf(_) | When::HappenedBy(_) => when.link_query().unwrap_or_default(),
                    When::Now => format!("at_sequence={}", assessment.at_sequence),
                };
                p class="govuk-body-l" {
                    "How this project meets the six-point co-production test. " (basis(*when, assessment))
                }
                dl class="govuk-summary-list" {
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Organisation" }
                        dd class="govuk-summary-list__value" { (organisation) }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Project id" }
                        dd class="govuk-summary-list__value" { code class="app-digest" { (project_id) } }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Assessed as of" }
                        dd class="govuk-summary-list__value" { (words::instant(&assessment.as_of)) }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Entries counted" }
                        dd class="govuk-summary-list__value" { "1 to " (assessment.at_sequence) }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Stream digest" }
                        dd class="govuk-summary-list__value" { code class="app-digest" { (assessment.stream_digest) } }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Rubric" }
                        dd class="govuk-summary-list__value" {
                            (assessment.rubric.id) ", version " (assessment.rubric.version)
                            br;
                            code class="app-digest" { (assessment.rubric.digest) }
                        }
                    }
                    div class="govuk-summary-list__row" {
                        dt class="govuk-summary-list__key" { "Worked out by" }
                        dd class="govuk-summary-list__value" { (assessment.engine) ", " (words::instant_words(now)) }
                    }
                }
                h2 class="govuk-heading-m" { "Overall" }
                (verdict(&project_id, assessment, 2))
                (super::project::people_say(&project_id, assessment, 2))
                p class="govuk-body" id="overall" {
                    strong { (overall_counts(assessment)) }
                    " " (assessment.overall.summary)
                }
                div class="app-chart-wrapper" { (chart(assessment)) }
                (scores_table(assessment))
                (criteria(&project_id, assessment, 2))
                h2 class="govuk-heading-m" { "The same assessment as data" }
                ul class="govuk-list govuk-list--bullet" {
                    li {
                        a class="govuk-link" href={ "/projects/" (project_id) "/report.csv?" (download_query) } download {
                            "Download as CSV" span class="govuk-visually-hidden" { " (one row per indicator)" }
                        }
                        " — one row per indicator, for a spreadsheet"
                    }
                    li {
                        a class="govuk-link" href={ "/projects/" (project_id) "/report.json?" (download_query) } download {
                            "Download as JSON" span class="govuk-visually-hidden" { " (exactly as the API gives it)" }
                        }
                        " — exactly as the API gives it"
                    }
                }
                p class="govuk-body" {
                    "Anyone holding the trail can check this report: with an API token, "
                    code class="app-digest" { "GET /api/v1/projects/" (project_id) "/assessment?" (download_query) }
                    " gives the same JSON, byte for byte, and "
                    code { "coprod verify" } " checks the digests."
                }
            }
            (Ok(when), None) => {
                div class="govuk-inset-text" {
                    "Nothing had been recorded for this project by the end of " (when.words()) ", so there is nothing to report."
                }
            }
            (Err(_), _) => {
                p class="govuk-body" { "Correct the date to see the report." }
            }
        }
        div class="app-no-print" {
            h2 class="govuk-heading-m" { "Another date" }
            form method="get" action={ "/projects/" (project_id) "/report" } {
                (date_field("as_of", "as_of", "Report the assessment as it stood at the end of a day",
                    query.get("happened_by").or_else(|| query.get("as_of")).map(String::as_str).filter(|t| !t.trim().is_empty()), error.as_deref()))
                (count_choice(when.as_ref().ok().copied()))
                button type="submit" class="govuk-button govuk-button--secondary" { "Show report" }
            }
            p class="govuk-body" {
                "To print this report, or save it as a PDF, use your browser's print command. "
                "The navigation and forms are left out of the printed copy."
            }
            p class="govuk-body" {
                a class="govuk-link" href={ "/projects/" (project_id) } { "Back to the project" }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page_title = match (&error, &when) {
        (Some(_), _) => format!("Error: Panel report: {title}"),
        (None, Ok(When::EndOf(day))) => format!("Panel report: {title}, {}", words::date(*day)),
        (None, Ok(When::HappenedBy(day))) => format!(
            "Panel report: {title}, what had happened by {}",
            words::date(*day)
        ),
        _ => format!("Panel report: {title}"),
    };
    Ok(html_response(
        status,
        layout_page(&page_title, Some(viewer), body),
    ))
}

pub async fn csv(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    download(state, viewer, id, query, Format::Csv).await
}

pub async fn json(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    download(state, viewer, id, query, Format::Json).await
}

/// The two downloads of a report.
#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// The API's own answer to the report's question (the same body and `ETag`), with the viewer's
/// rights.
async fn download(
    state: AppState,
    viewer: Viewer,
    id: String,
    query: Option<String>,
    format: Format,
) -> Response {
    let query = query_map(query);
    let today = state.today();
    let report = format!("/projects/{id}/report");
    let bad = |message: &str| {
        PageError::bad_address(message, Some((&report, "Go to the report")), &viewer)
            .into_response()
    };
    let mut question = AssessmentQuery::default();
    if let Some(text) = query.get("at_sequence") {
        match text.trim().parse::<u64>() {
            Ok(n) if n >= 1 => question.at_sequence = Some(n),
            _ => return bad("at_sequence must be a whole number from 1."),
        }
    } else {
        match when_of(&query, today) {
            Ok(when) => {
                question.as_of = when.as_of();
                question.happened_by = when.happened_by();
            }
            Err(message) => return bad(&format!("{message}.")),
        }
    }
    let label = question
        .as_of
        .clone()
        .or_else(|| {
            question
                .happened_by
                .as_ref()
                .map(|d| format!("happened-by-{d}"))
        })
        .or_else(|| question.at_sequence.map(|n| format!("entry-{n}")))
        .unwrap_or_else(|| "latest".into());
    let answer = assessment_of(&state, &viewer.caller(), &id, &question)
        .await
        .and_then(|assessment| match format {
            Format::Csv => assessment_csv(&assessment),
            Format::Json => Ok(assessment.to_json_bytes()),
        });
    match answer {
        Ok(body) => {
            let tag = etag(&body);
            let mut response =
                ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
            let disposition = format!(
                "attachment; filename=\"coprod-{id}-{label}.{}\"",
                format.extension()
            );
            let headers = [
                (header::ETAG, tag),
                (header::CONTENT_DISPOSITION, disposition),
            ];
            for (name, value) in headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Err(AppError::Unanswerable {
            code: "nothing_recorded" | "sequence_out_of_range",
            detail,
            ..
        }) => bad(&detail),
        Err(error) => PageError::from_app(error, &viewer).into_response(),
    }
}
