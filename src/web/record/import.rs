//! `GET|POST /projects/{id}/import`: the upload page for registers kept in spreadsheets. The
//! file goes through the API's own import ([`crate::http::imports::import_file`]): "Check the
//! file" is its dry run, "Import" records every row or none.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};

use super::{check_form_post, require_recorder};
use crate::app::AppState;
use crate::http::body::MAX_BODY_BYTES;
use crate::http::imports::{import_file, ImportKind, ImportPlan};
use crate::web::layout::{error_summary, field_error, html_response, page, PageError};
use crate::web::project::load;
use crate::web::session::{same_origin, SignedIn, Viewer};
use crate::web::words;

fn kind_words(kind: ImportKind) -> (&'static str, &'static str) {
    match kind {
        ImportKind::People => (
            "People who joined",
            "One row for each person: their reference, who they are, their groups and the day they joined",
        ),
        ImportKind::Activities => (
            "Activities held",
            "One row for each workshop, meeting or other activity, with who ran it and who came",
        ),
        ImportKind::Rewards => (
            "Rewards given",
            "One row for each payment, voucher, expenses claim or other reward",
        ),
        ImportKind::Contributions => (
            "Contributions made",
            "One row for each idea, piece of feedback or expertise someone gave",
        ),
    }
}

fn upload_form(
    project_id: &str,
    viewer: &Viewer,
    kind: Option<ImportKind>,
    error: Option<(&str, &str)>,
) -> Markup {
    let errors: Vec<(&str, String)> = error.iter().map(|(f, m)| (*f, m.to_string())).collect();
    let error_for = |field: &str| error.filter(|(f, _)| *f == field).map(|(_, m)| m);
    html! {
        (error_summary(&errors))
        form method="post" action={ "/projects/" (project_id) "/import" } enctype="multipart/form-data" novalidate {
            input type="hidden" name="csrf" value=(viewer.csrf);
            div class={ "govuk-form-group" @if error_for("kind").is_some() { " govuk-form-group--error" } } {
                fieldset class="govuk-fieldset" {
                    legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { "What the file lists" }
                    (field_error("kind", error_for("kind")))
                    div class="govuk-radios govuk-radios--small" {
                        @for (i, choice) in ImportKind::ALL.into_iter().enumerate() {
                            @let id = if i == 0 { "kind".to_string() } else { format!("kind-{i}") };
                            @let (label, hint) = kind_words(choice);
                            div class="govuk-radios__item" {
                                input class="govuk-radios__input" id=(id) name="kind" type="radio" value=(choice.key())
                                    checked[kind == Some(choice)] aria-describedby={ (id) "-hint" };
                                label class="govuk-label govuk-radios__label" for=(id) { (label) }
                                div class="govuk-hint govuk-radios__hint" id={ (id) "-hint" } {
                                    (hint) ". "
                                    a class="govuk-link" href={ "/imports/templates/" (choice.key()) ".csv" } { "Download its header row" }
                                }
                            }
                        }
                    }
                }
            }
            div class={ "govuk-form-group" @if error_for("file").is_some() { " govuk-form-group--error" } } {
                label class="govuk-label govuk-label--s" for="file" { "The file" }
                div class="govuk-hint" id="file-hint" {
                    "A CSV file saved from a spreadsheet, at most " (MAX_BODY_BYTES / 1024) " KB. Its first row names the columns."
                }
                (field_error("file", error_for("file")))
                input class={ "govuk-file-upload" @if error_for("file").is_some() { " govuk-file-upload--error" } }
                    id="file" name="file" type="file" accept=".csv,text/csv" aria-describedby="file-hint";
            }
            div class="govuk-button-group" {
                button type="submit" class="govuk-button govuk-button--secondary" name="action" value="check" { "Check the file" }
                button type="submit" class="govuk-button" name="action" value="import" { "Import" }
            }
        }
    }
}

fn upload_page(
    status: StatusCode,
    title: &str,
    project_id: &str,
    viewer: &Viewer,
    kind: Option<ImportKind>,
    error: Option<(&str, &str)>,
    before: Markup,
) -> Response {
    let body = html! {
        (before)
        span class="govuk-caption-l" { (title) }
        h1 class="govuk-heading-l" { "Import from a spreadsheet" }
        p class="govuk-body" {
            "Each row becomes one entry, checked by the same rules as every other way of recording. "
            "Check the file first: nothing is recorded until you import it, and then either every row is recorded or none is. "
            "Rows already recorded (the same person joining, the same activity) are skipped, so a file can be imported again safely."
        }
        (upload_form(project_id, viewer, kind, error))
        p class="govuk-body" { a class="govuk-link" href={ "/projects/" (project_id) "/record" } { "Back to recording" } }
    };
    let page_title = match error {
        Some(_) => format!("Error: Import from a spreadsheet: {title}"),
        None => format!("Import from a spreadsheet: {title}"),
    };
    html_response(status, page(&page_title, Some(viewer), body))
}

/// `GET /projects/{id}/import`.
pub async fn page_for(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let project = load(&state, &viewer, &id).await?;
    Ok(upload_page(
        StatusCode::OK,
        &project.title(),
        &project.id(),
        &viewer,
        None,
        None,
        html! {},
    ))
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    kind: String,
    action: String,
    file: Option<Vec<u8>>,
}

async fn read_upload(multipart: &mut Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(|e| e.body_text())?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "csrf" => upload.csrf = text(),
            "kind" => upload.kind = text(),
            "action" => upload.action = text(),
            "file" if bytes.len() > MAX_BODY_BYTES => {
                return Err(format!("the file is larger than {MAX_BODY_BYTES} bytes"))
            }
            "file" if !bytes.is_empty() => upload.file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /projects/{id}/import`: checks or imports the file, and says what happened row by row.
pub async fn upload(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    require_recorder(&viewer)?;
    let project = load(&state, &viewer, &id).await?;
    let (title, project_id) = (project.title(), project.id());
    let refuse = |status, kind, field: &str, message: &str| {
        Ok(upload_page(
            status,
            &title,
            &project_id,
            &viewer,
            kind,
            Some((field, message)),
            html! {},
        ))
    };
    let upload = match multipart {
        Ok(mut multipart) => read_upload(&mut multipart).await,
        Err(rejection) => Err(rejection.body_text()),
    };
    let upload = match upload {
        Ok(upload) => upload,
        Err(_) => {
            // Another site's form is refused as such before anything else is said.
            if !same_origin(&headers) {
                check_form_post(&viewer, &headers, "")?;
            }
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                "file",
                &format!(
                    "The file could not be received. Choose a CSV file of at most {} KB",
                    MAX_BODY_BYTES / 1024
                ),
            );
        }
    };
    check_form_post(&viewer, &headers, &upload.csrf)?;
    let kind = ImportKind::ALL.into_iter().find(|k| k.key() == upload.kind);
    let Some(kind) = kind else {
        return refuse(
            StatusCode::BAD_REQUEST,
            None,
            "kind",
            "Choose what the file lists",
        );
    };
    let Some(file) = upload.file else {
        return refuse(
            StatusCode::BAD_REQUEST,
            Some(kind),
            "file",
            "Choose a CSV file",
        );
    };
    let dry_run = upload.action != "import";
    let plan = import_file(
        &state,
        &viewer.caller(),
        project.head.project_id,
        kind,
        dry_run,
        &file,
    )
    .await;
    let plan = match plan {
        Ok(plan) => plan,
        Err(error) if error.status.is_client_error() => {
            return refuse(error.status, Some(kind), "file", &error.detail);
        }
        Err(error) => {
            let app = crate::app::AppError::internal("importing a file", error.detail);
            return Err(PageError::from_app(app, &viewer));
        }
    };
    let status = match (&plan.first_sequence, plan.refused.is_empty()) {
        (Some(_), _) => StatusCode::CREATED,
        (None, false) if !dry_run => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok(upload_page(
        status,
        &title,
        &project_id,
        &viewer,
        Some(kind),
        None,
        outcome(&project_id, &plan),
    ))
}

/// What the check or the import found, row by row.
fn outcome(project_id: &str, plan: &ImportPlan) -> Markup {
    let rows = |n: usize| words::count(n, "row", "rows");
    html! {
        section class="app-import-outcome" aria-labelledby="outcome-title" {
            @match (plan.first_sequence, plan.last_sequence) {
                (Some(first), Some(last)) => {
                    div class="govuk-panel govuk-panel--confirmation" {
                        h2 class="govuk-panel__title" id="outcome-title" { (rows(plan.accepted.len())) " recorded" }
                        div class="govuk-panel__body" {
                            "Entries " (first) " to " (last)
                            @if let Some(digest) = &plan.digest { br; "Digest " code class="app-digest" { (digest) } }
                        }
                    }
                    p class="govuk-body" { a class="govuk-link" href={ "/projects/" (project_id) } { "See what they changed in the assessment" } }
                }
                _ if !plan.refused.is_empty() => {
                    div class="govuk-error-summary" tabindex="-1" role="alert" aria-labelledby="outcome-title" {
                        h2 class="govuk-error-summary__title" id="outcome-title" {
                            @if plan.dry_run { "The file has problems" } @else { "Nothing was recorded" }
                        }
                        div class="govuk-error-summary__body" {
                            p class="govuk-body" {
                                (words::count(plan.refused.len(), "row was", "rows were")) " refused. Correct "
                                (words::noun(plan.refused.len(), "it", "them")) " in the spreadsheet and send the file again."
                            }
                            ul class="govuk-list govuk-error-summary__list" {
                                li { a href="#refused-rows" { "See the refused rows" } }
                            }
                        }
                    }
                }
                _ if plan.dry_run => {
                    div class="govuk-notification-banner" role="region" aria-labelledby="outcome-title" {
                        div class="govuk-notification-banner__header" {
                            h2 class="govuk-notification-banner__title" id="outcome-title" { "The file was checked: nothing was recorded" }
                        }
                        div class="govuk-notification-banner__content" {
                            p class="govuk-notification-banner__heading" {
                                @if plan.accepted.is_empty() { "There is nothing new to record." }
                                @else { (rows(plan.accepted.len())) " can be recorded. To record them, choose the file again and select Import." }
                            }
                        }
                    }
                }
                _ => {
                    div class="govuk-inset-text" id="outcome-title" { "Nothing new to record: every row was recorded already." }
                }
            }
            ul class="govuk-list" {
                li { (rows(plan.rows as usize)) " read" }
                li { (rows(plan.accepted.len())) @if plan.first_sequence.is_some() { " recorded" } @else { " to record" } }
                li { (rows(plan.already_recorded.len())) " already recorded, skipped" }
                li { (rows(plan.refused.len())) " refused" }
            }
            @if !plan.refused.is_empty() {
                div class="app-table-wrapper" tabindex="0" role="group" aria-label="Refused rows" {
                    table class="govuk-table" id="refused-rows" {
                        caption class="govuk-table__caption govuk-table__caption--m" { "Refused rows" }
                        thead class="govuk-table__head" {
                            tr class="govuk-table__row" {
                                th scope="col" class="govuk-table__header" { "Row" }
                                th scope="col" class="govuk-table__header" { "Column" }
                                th scope="col" class="govuk-table__header" { "What is wrong" }
                            }
                        }
                        tbody class="govuk-table__body" {
                            @for row in &plan.refused {
                                tr class="govuk-table__row" {
                                    td class="govuk-table__cell" { (row.row) }
                                    td class="govuk-table__cell" { (row.column.as_deref().unwrap_or("the whole row")) }
                                    td class="govuk-table__cell" { (row.message) }
                                }
                            }
                        }
                    }
                }
            }
            @if !plan.already_recorded.is_empty() {
                details class="govuk-details" {
                    summary class="govuk-details__summary" {
                        span class="govuk-details__summary-text" { "Rows already recorded" }
                    }
                    div class="govuk-details__text" {
                        ul class="govuk-list" {
                            @for row in &plan.already_recorded {
                                li {
                                    "Row " (row.row) ": " (row.already)
                                    @if let Some(sequence) = row.sequence { ", entry " (sequence) }
                                    @if let Some(same) = row.same_as_row { ", as row " (same) " of this file" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /imports/templates/{kind}.csv` for the pages: the API's template, for a signed-in person.
pub async fn template(
    SignedIn(viewer): SignedIn,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    let kind = ImportKind::of_template(&file).ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            html! { p class="govuk-body" { "There is no such template." } },
        )
        .for_viewer(&viewer)
    })?;
    Ok(kind.template_file())
}
