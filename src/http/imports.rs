//! Importing the registers councils already keep: a CSV file of people, activities, rewards or
//! contributions, each row read as the API's event of that kind and checked by the same rules.
//!
//! - The file is refused as a whole, before any row is read, when it is not UTF-8, not CSV, or
//!   its header lacks a required column or names one the kind does not have.
//! - Each row becomes the JSON event `POST /events` takes (several values in one cell are
//!   separated by `;`), parsed by the same parser and checked by the same rules, in order, against
//!   the project with the rows before it: every refused row is found, not only the first.
//! - A row already recorded (the same person joining, the same activity or contribution id, the
//!   same reward) is reported and skipped, so importing a file again records nothing new.
//! - `dry_run=true` records nothing and answers the plan. Otherwise the accepted rows are recorded
//!   in one batch, all or nothing, only if no row was refused.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coprod_domain::{Fact, Project, ProjectCommand, ProjectEvent, RecordedEvent};
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::{parse_fact, CsvBody};
use super::problem::ApiError;
use crate::app::caller::WRITERS;
use crate::app::{visible_project, AppState, Caller};
use crate::store::views::withdrawn;

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    /// Several values separated by `;`.
    List,
    Integer,
    /// `yes`/`no` (or `true`/`false`).
    Boolean,
}

/// One column of a kind's file: the API's field name, its shape, and whether every row needs it.
#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    shape: Shape,
    required: bool,
}

const fn required(name: &'static str, shape: Shape) -> Column {
    Column {
        name,
        shape,
        required: true,
    }
}

const fn optional(name: &'static str, shape: Shape) -> Column {
    Column {
        name,
        shape,
        required: false,
    }
}

use Shape::{Boolean, Integer, List, Text};

const PEOPLE: &[Column] = &[
    required("participant_id", Text),
    required("kind", Text),
    required("groups", List),
    required("occurred_on", Text),
    optional("lived_experience", Boolean),
];

const ACTIVITIES: &[Column] = &[
    required("activity_id", Text),
    required("stage", Text),
    required("kind", Text),
    required("title", Text),
    required("facilitators", List),
    required("attendees", List),
    required("occurred_on", Text),
    optional("mode", Text),
    optional("locality", Text),
    optional("duration_minutes", Integer),
    optional("adjustments_requested", Integer),
    optional("adjustments_provided", Integer),
];

const REWARDS: &[Column] = &[
    required("participant_id", Text),
    required("kind", Text),
    optional("amount_pence", Integer),
    optional("activity_id", Text),
    required("occurred_on", Text),
    optional("rate_pence_per_hour", Integer),
    optional("as_preferred", Boolean),
];

const CONTRIBUTIONS: &[Column] = &[
    required("contribution_id", Text),
    required("participant_id", Text),
    required("stage", Text),
    required("kind", Text),
    required("summary", Text),
    required("occurred_on", Text),
];

/// The kinds of register a file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    People,
    Activities,
    Rewards,
    Contributions,
}

impl ImportKind {
    pub const ALL: [ImportKind; 4] = [
        ImportKind::People,
        ImportKind::Activities,
        ImportKind::Rewards,
        ImportKind::Contributions,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ImportKind::People => "people",
            ImportKind::Activities => "activities",
            ImportKind::Rewards => "rewards",
            ImportKind::Contributions => "contributions",
        }
    }

    /// The event each row becomes.
    fn event_type(self) -> &'static str {
        match self {
            ImportKind::People => "participant_joined",
            ImportKind::Activities => "activity_held",
            ImportKind::Rewards => "reward_given",
            ImportKind::Contributions => "contribution_made",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::People => PEOPLE,
            ImportKind::Activities => ACTIVITIES,
            ImportKind::Rewards => REWARDS,
            ImportKind::Contributions => CONTRIBUTIONS,
        }
    }

    /// The kind whose template is named `file` (`people.csv`).
    pub fn of_template(file: &str) -> Option<ImportKind> {
        let name = file.strip_suffix(".csv")?;
        ImportKind::ALL.into_iter().find(|k| k.key() == name)
    }

    /// The template to download: this kind's header row as a CSV file.
    pub fn template_file(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.csv\"", self.key()),
                ),
            ],
            self.template(),
        )
            .into_response()
    }

    /// The header row of this kind's file.
    fn template(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|c| c.name).collect();
        format!("{}\r\n", names.join(","))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `people`, `activities`, `rewards` or `contributions`.
    pub kind: ImportKind,
    /// `true`: record nothing and answer the plan.
    #[serde(default)]
    pub dry_run: bool,
}

/// A row that will be (or was) recorded, as the entry it becomes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AcceptedRow {
    /// The row's line in the file (the header is line 1).
    pub row: u64,
    #[schema(value_type = Object)]
    pub entry: Value,
}

/// A row skipped because what it says is already recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SkippedRow {
    pub row: u64,
    /// What it is: "participant p1 joining", "activity a1", ….
    pub already: String,
    /// The entry that records it, or `null` when an earlier row of this file does.
    pub sequence: Option<u64>,
    /// The earlier row of this file that says the same, if any.
    pub same_as_row: Option<u64>,
}

/// A row refused, with the same code and message the API gives for that event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefusedRow {
    pub row: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// What importing a file does (or would do).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportPlan {
    pub kind: ImportKind,
    pub dry_run: bool,
    /// Rows read (blank lines are not rows).
    pub rows: u64,
    pub accepted: Vec<AcceptedRow>,
    pub already_recorded: Vec<SkippedRow>,
    pub refused: Vec<RefusedRow>,
    /// After a commit that recorded something: the entries written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/imports/templates/{kind}.csv", tag = "imports",
    params(("kind" = ImportKind, Path, description = "people, activities, rewards or contributions")),
    responses((status = 200, content_type = "text/csv", description = "The header row of that kind's file: the API's field names"),
        (status = "4XX", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn template(_caller: Caller, Path(file): Path<String>) -> Result<Response, ApiError> {
    let kind = ImportKind::of_template(&file).ok_or_else(|| {
        ApiError::not_found(format!(
            "There is no template '{file}'. The templates are people.csv, activities.csv, rewards.csv and contributions.csv."
        ))
    })?;
    Ok(kind.template_file())
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/imports", tag = "imports",
    params(("id" = uuid::Uuid, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "UTF-8 (a byte order mark is allowed), a header row of the kind's columns, one row per fact; several values in one cell separated by ';'"),
    responses((status = 201, body = ImportPlan, description = "Recorded: the accepted rows in one batch"),
        (status = 200, body = ImportPlan, description = "A dry run's plan, or a file whose every row was already recorded"),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json", description = "import_refused: the refused rows in 'errors' (/rows/{row}/{column}); nothing recorded"),
        (status = "4XX", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    CsvBody(bytes): CsvBody,
) -> Result<Response, ApiError> {
    caller.require(WRITERS, "import records")?;
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(
            "validation_failed",
            format!("Name the kind of file as ?kind=people, activities, rewards or contributions (and dry_run=true to record nothing). {}", e.body_text()),
        )
        .at("kind", "people, activities, rewards or contributions")
    })?;
    let head = visible_project(&state, &caller, &id).await?;
    let plan = import_file(
        &state,
        &caller,
        head.project_id,
        query.kind,
        query.dry_run,
        &bytes,
    )
    .await?;
    if !query.dry_run && !plan.refused.is_empty() {
        let mut refusal = ApiError::unprocessable(
            "import_refused",
            format!(
                "{} of the file's {} rows {} refused, so nothing was recorded. Correct them (see 'errors': /rows/<line>/<column>) and send the file again.",
                plan.refused.len(),
                plan.rows,
                if plan.refused.len() == 1 { "was" } else { "were" }
            ),
        );
        for row in &plan.refused {
            let path = match &row.column {
                Some(column) => format!("/rows/{}/{column}", row.row),
                None => format!("/rows/{}", row.row),
            };
            refusal = refusal.at(path, format!("{}: {}", row.code, row.message));
        }
        return Err(refusal);
    }
    let status = if plan.first_sequence.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(plan)).into_response())
}

/// Reads a `kind` file for `project_id` and plans it against the project as recorded; unless
/// `dry_run`, records the accepted rows in one batch when no row is refused (the plan then holds
/// the receipt). A plan with refused rows records nothing. What `POST /projects/{id}/imports`
/// does once the project is found, and what the upload page does with the file it is given.
pub async fn import_file(
    state: &AppState,
    caller: &Caller,
    project_id: uuid::Uuid,
    kind: ImportKind,
    dry_run: bool,
    bytes: &[u8],
) -> Result<ImportPlan, ApiError> {
    caller.require(WRITERS, "import records")?;
    let rows = read_rows(kind, bytes)?;
    let events = state.store.recorded_events(project_id).await?;
    let context = state.context(caller);
    let mut plan = plan(kind, dry_run, rows, &events, context.today());
    if dry_run || !plan.refused.is_empty() || plan.accepted.is_empty() {
        return Ok(plan);
    }
    let facts: Vec<Fact> = plan
        .accepted
        .iter()
        .map(|row| parse_fact(row.entry.clone(), ""))
        .collect::<Result<_, _>>()?;
    let command = ProjectCommand::Record {
        facts,
        batch: true,
        // The plan was made against this sequence: anything appended since makes it stale.
        expected_sequence: Some(events.last().map_or(0, |e| e.sequence)),
        context,
    };
    let receipt = state.store.execute(project_id, command).await?;
    crate::http::metrics::events_appended(receipt.last_sequence - receipt.first_sequence + 1);
    plan.first_sequence = Some(receipt.first_sequence);
    plan.last_sequence = Some(receipt.last_sequence);
    plan.digest = Some(receipt.digest.to_string());
    Ok(plan)
}

/// One data row: its line, and the event it reads as, or why it cannot be read.
type Row = (u64, Result<Value, RefusedRow>);

/// Reads the file: refused as a whole when it is not UTF-8 CSV with the kind's columns.
fn read_rows(kind: ImportKind, bytes: &[u8]) -> Result<Vec<Row>, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_csv",
            format!("The file is not UTF-8 text (the first bad byte is at position {}). Save it as 'CSV UTF-8'.", e.valid_up_to()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Windows line ends as '\n', so that each record's first byte starts its line (csv places a
    // record after "\r\n" at the '\n', which would misnumber the rows).
    let text = text.replace("\r\n", "\n");
    let text = text.as_str();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_csv",
                format!("The header row cannot be read as CSV: {e}."),
            )
        })?
        .iter()
        .map(str::to_string)
        .collect();
    check_header(kind, &header)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            ApiError::bad_request(
                "invalid_csv",
                format!("The file cannot be read as CSV: {e}."),
            )
        })?;
        // The line as a text editor numbers it (the header is line 1), counted from the record's
        // first byte, blank lines included.
        let bytes = text.as_bytes();
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        // csv places a record after blank lines at the first of them.
        while bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let line = 1 + bytes[..start.min(bytes.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, row_event(kind, &header, &record, line)));
    }
    Ok(rows)
}

fn check_header(kind: ImportKind, header: &[String]) -> Result<(), ApiError> {
    let known: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !known.contains(h))
        .collect();
    let missing: Vec<&str> = kind
        .columns()
        .iter()
        .filter(|c| c.required && !header.iter().any(|h| h == c.name))
        .map(|c| c.name)
        .collect();
    let mut repeated: Vec<&str> = header
        .iter()
        .enumerate()
        .filter(|(i, h)| header[..*i].contains(h))
        .map(|(_, h)| h.as_str())
        .collect();
    repeated.dedup();
    if unknown.is_empty() && missing.is_empty() && repeated.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("it lacks the column(s) {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "it has column(s) a {} file does not have: {}",
            kind.key(),
            unknown.join(", ")
        ));
    }
    if !repeated.is_empty() {
        problems.push(format!("it names {} twice", repeated.join(", ")));
    }
    Err(ApiError::bad_request(
        "invalid_csv",
        format!(
            "The file's header row does not fit a {} file: {}. The columns are: {} (GET /api/v1/imports/templates/{}.csv gives them).",
            kind.key(),
            problems.join("; "),
            known.join(", "),
            kind.key()
        ),
    ))
}

/// A row as the JSON event the API takes.
fn row_event(
    kind: ImportKind,
    header: &[String],
    record: &csv::StringRecord,
    line: u64,
) -> Result<Value, RefusedRow> {
    let refused = |column: &str, message: String| RefusedRow {
        row: line,
        column: Some(column.to_string()),
        code: "validation_failed".into(),
        message,
    };
    if record.len() != header.len() {
        return Err(RefusedRow {
            row: line,
            column: None,
            code: "validation_failed".into(),
            message: format!(
                "The row has {} cells; the header has {} columns.",
                record.len(),
                header.len()
            ),
        });
    }
    let mut event = Map::new();
    event.insert("type".into(), Value::from(kind.event_type()));
    for (name, cell) in header.iter().zip(record.iter()) {
        let Some(column) = kind.columns().iter().find(|c| c.name == name) else {
            continue;
        };
        if cell.is_empty() {
            if column.required && column.shape != Shape::List {
                return Err(refused(name, format!("'{name}' must not be empty.")));
            }
            if column.shape == Shape::List {
                event.insert(name.clone(), Value::Array(Vec::new()));
            }
            continue;
        }
        let value = match column.shape {
            Shape::Text => Value::from(cell),
            Shape::List => Value::Array(
                cell.split(';')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(Value::from)
                    .collect(),
            ),
            Shape::Integer => cell.parse::<i64>().map(Value::from).map_err(|_| {
                refused(
                    name,
                    format!("'{name}' must be a whole number, such as 2500; it is '{cell}'."),
                )
            })?,
            Shape::Boolean => match cell.to_ascii_lowercase().as_str() {
                "yes" | "true" | "y" => Value::Bool(true),
                "no" | "false" | "n" => Value::Bool(false),
                _ => {
                    return Err(refused(
                        name,
                        format!("'{name}' must be yes or no; it is '{cell}'."),
                    ))
                }
            },
        };
        event.insert(name.clone(), value);
    }
    Ok(Value::Object(event))
}

/// What identifies a row's fact, so that the same fact is never recorded twice.
fn identity(event: &ProjectEvent) -> Option<String> {
    match event {
        ProjectEvent::ParticipantJoined(e) => {
            Some(format!("participant {} joining", e.participant_id))
        }
        ProjectEvent::ActivityHeld(e) => Some(format!("activity {}", e.activity_id)),
        ProjectEvent::ContributionMade(e) => Some(format!("contribution {}", e.contribution_id)),
        ProjectEvent::RewardGiven(e) => Some(format!(
            "a {} reward to {} on {}{}{}",
            serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            e.participant_id,
            e.occurred_on,
            e.amount_pence
                .map(|p| format!(" of {p} pence"))
                .unwrap_or_default(),
            e.activity_id
                .as_ref()
                .map(|a| format!(" for activity {a}"))
                .unwrap_or_default()
        )),
        _ => None,
    }
}

/// Tries every row in order against the project as recorded (with the rows accepted before it).
fn plan(
    kind: ImportKind,
    dry_run: bool,
    rows: Vec<Row>,
    events: &[RecordedEvent],
    today: chrono::NaiveDate,
) -> ImportPlan {
    let mut project = Project::default();
    for event in events {
        project.apply(event.event.clone());
    }
    let withdrawn = withdrawn(events);
    // What is recorded, by identity: the entry that records it.
    let mut recorded: BTreeMap<String, (Option<u64>, Option<u64>)> = events
        .iter()
        .filter(|e| !withdrawn.contains(&e.sequence))
        .filter_map(|e| identity(&e.event).map(|id| (id, (Some(e.sequence), None))))
        .collect();
    let mut plan = ImportPlan {
        kind,
        dry_run,
        rows: rows.len() as u64,
        accepted: Vec::new(),
        already_recorded: Vec::new(),
        refused: Vec::new(),
        first_sequence: None,
        last_sequence: None,
        digest: None,
    };
    for (line, event) in rows {
        let refuse = |error: ApiError| {
            let field = error.errors.first();
            RefusedRow {
                row: line,
                column: field.and_then(|f| column_of(&f.path)),
                code: error.code.to_string(),
                message: match field {
                    Some(f) if !f.message.is_empty() => format!("{} ({})", error.detail, f.message),
                    _ => error.detail.clone(),
                },
            }
        };
        let value = match event {
            Ok(value) => value,
            Err(refused) => {
                plan.refused.push(refused);
                continue;
            }
        };
        let fact = match parse_fact(value.clone(), "") {
            Ok(fact) => fact,
            Err(error) => {
                plan.refused.push(refuse(error));
                continue;
            }
        };
        let event: ProjectEvent = fact.clone().into();
        if let Some(id) = identity(&event) {
            if let Some((sequence, same_as_row)) = recorded.get(&id) {
                plan.already_recorded.push(SkippedRow {
                    row: line,
                    already: id,
                    sequence: *sequence,
                    same_as_row: *same_as_row,
                });
                continue;
            }
            if let Err(error) = project.try_fact(fact, today) {
                plan.refused.push(refuse(error.into()));
                continue;
            }
            recorded.insert(id, (None, Some(line)));
        } else if let Err(error) = project.try_fact(fact, today) {
            plan.refused.push(refuse(error.into()));
            continue;
        }
        plan.accepted.push(AcceptedRow {
            row: line,
            entry: value,
        });
    }
    plan
}

/// The column a JSON pointer into an event names: `/groups/0` is `groups`.
fn column_of(path: &str) -> Option<String> {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}
