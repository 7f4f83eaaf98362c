//! Telling the stories: every step is a request to the application's own routes (the API a
//! client would call), sent in process, with a token of the role that would send it. The steps of
//! all four stories are told in the order of their days, each on the store's clock moved to that
//! day, so that `recorded_at` follows the story and the portfolio's quarters fill as they would
//! have.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use super::story::{stories, Action, Story};
use super::DemoError;
use crate::app::AppState;
use crate::store::{AccessRole, Store};

/// What a load recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub projects: usize,
    pub entries: u64,
}

/// When the first entry of a story day is recorded; later ones follow a minute apart.
const DAY_STARTS_AT: (u32, u32) = (9, 30);

/// Loads every story into `store`, which must be empty of them and whose clock must be a fixed
/// one ([`crate::clock::Clock::fixed`]): it is moved to each step's day. The store's master key
/// must be given (participants' groups are personal data).
pub async fn load(store: &Store) -> Result<Loaded, DemoError> {
    let stories = stories()?;
    let clock = store.clock().clone();
    let app = crate::build_app(AppState::new(store.clone()));
    let mut tokens = Tokens::default();
    let mut told: Vec<Told> = stories.iter().map(|_| Told::default()).collect();

    let mut timeline: Vec<(NaiveDate, usize, Option<usize>)> = Vec::new();
    for (s, story) in stories.iter().enumerate() {
        timeline.push((story.started_on()?, s, None));
        timeline.extend(
            story
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| (step.on, s, Some(i))),
        );
    }
    // A stable sort: each story keeps its own order; stories meet day by day.
    timeline.sort_by_key(|(day, _, _)| *day);

    let mut minute = 0;
    let mut last_day = None;
    let mut entries = 0;
    for (day, s, step) in timeline {
        minute = if last_day == Some(day) { minute + 1 } else { 0 };
        last_day = Some(day);
        if !clock.set(moment(day, minute)) {
            return Err(DemoError::Load(
                "the store's clock is the system's: the demo needs a fixed clock to move to each day of its stories".into(),
            ));
        }
        let story = &stories[s];
        let recorder = tokens
            .get(
                store,
                AccessRole::Recorder,
                story.organisation()?,
                &story.recorder,
            )
            .await?;
        let answer = match step {
            None => {
                let mut body = story.registration.clone();
                body.insert("project_id".into(), json!(story.project_id));
                post(&app, &recorder, "/api/v1/projects", Value::Object(body))
                    .await
                    .map_err(|why| refused(story, day, why))?
            }
            Some(i) => match &story.steps[i].action {
                Action::Record(facts) => {
                    let (events, names) = told[s].prepare(facts, day);
                    let path = format!("/api/v1/projects/{}/events", story.project_id);
                    let receipt = post(&app, &recorder, &path, json!({ "events": events }))
                        .await
                        .map_err(|why| refused(story, day, why))?;
                    let first = receipt["first_sequence"].as_u64().unwrap_or(0);
                    for (offset, name) in names {
                        told[s].named.insert(name, first + offset as u64);
                    }
                    receipt
                }
                Action::Seal(seal) => {
                    let sealer = tokens
                        .get(store, seal.by.role, story.organisation()?, &seal.by.label)
                        .await?;
                    let path = format!("/api/v1/projects/{}/assessments", story.project_id);
                    post(&app, &sealer, &path, Value::Object(seal.request.clone()))
                        .await
                        .map_err(|why| refused(story, day, why))?
                }
            },
        };
        entries += entries_recorded(&answer);
    }
    // The views are written after each commit; wait for them before this store is let go.
    store.list_views(None, None).await?;
    store.catch_up().await?;
    Ok(Loaded {
        projects: stories.len(),
        entries,
    })
}

/// The instant of the `minute`th step of `day`.
fn moment(day: NaiveDate, minute: i64) -> DateTime<Utc> {
    let (hour, min) = DAY_STARTS_AT;
    let start = NaiveTime::from_hms_opt(hour, min, 0).unwrap_or(NaiveTime::MIN);
    day.and_time(start).and_utc() + Duration::minutes(minute)
}

/// How many entries an answer says were recorded (a receipt, a registration or a seal).
fn entries_recorded(answer: &Value) -> u64 {
    match (
        answer["first_sequence"].as_u64(),
        answer["last_sequence"].as_u64(),
    ) {
        (Some(first), Some(last)) => last - first + 1,
        _ => 1,
    }
}

fn refused(story: &Story, day: NaiveDate, why: String) -> DemoError {
    DemoError::Load(format!("story '{}', step of {day}: {why}", story.name))
}

/// What has been told of one story: the sequence of each named entry.
#[derive(Default)]
struct Told {
    named: BTreeMap<String, u64>,
}

impl Told {
    /// The facts as posted: dated on the step's day unless they say otherwise, names taken off
    /// (returned with their place in the batch), corrections pointing at the named entry.
    fn prepare(
        &self,
        facts: &[Map<String, Value>],
        day: NaiveDate,
    ) -> (Vec<Value>, Vec<(usize, String)>) {
        let mut names = Vec::new();
        let events = facts
            .iter()
            .enumerate()
            .map(|(i, fact)| {
                let mut fact = fact.clone();
                if let Some(Value::String(name)) = fact.remove("entry") {
                    names.push((i, name));
                }
                if let Some(Value::String(name)) = fact.remove("corrects") {
                    let sequence = self.named.get(&name).copied().unwrap_or(0);
                    fact.insert("corrects_sequence".into(), json!(sequence));
                }
                fact.entry("occurred_on")
                    .or_insert_with(|| json!(day.to_string()));
                Value::Object(fact)
            })
            .collect();
        (events, names)
    }
}

/// The tokens the stories are told with, made as first needed: one per role, organisation and
/// label. Only their hashes are kept, and nobody is given them.
#[derive(Default)]
struct Tokens(HashMap<(AccessRole, String, String), String>);

impl Tokens {
    async fn get(
        &mut self,
        store: &Store,
        role: AccessRole,
        organisation: &str,
        label: &str,
    ) -> Result<String, DemoError> {
        let key = (role, organisation.to_string(), label.to_string());
        if let Some(token) = self.0.get(&key) {
            return Ok(token.clone());
        }
        let token = store.create_token(role, organisation, label).await?;
        self.0.insert(key, token.clone());
        Ok(token)
    }
}

/// Posts `body` to `path` as the holder of `token`; the answer's JSON, or why it was refused.
async fn post(app: &Router, token: &str, path: &str, body: Value) -> Result<Value, String> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status == StatusCode::CREATED {
        Ok(answer)
    } else {
        Err(format!(
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }
}
