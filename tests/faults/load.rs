//! The clients of the fault tests, and what must hold of the log afterwards.
//!
//! A client sends each logical write with its own `Idempotency-Key`. A connection error, a body
//! cut short or a 5xx is an *unknown outcome*: the client sends the same request with the same
//! key again (to the next server), until it gets an answer that settles it. The checks then
//! compare what the clients were told with what the log holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::server;
use crate::kit::facts::{joined, minimal_registration, DAY};

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

/// A receipt the server gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub digest: String,
}

/// What one logical write puts in the log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fact {
    /// `participant_joined` of this participant.
    Joined(String),
    /// `reward_given` to the project's payee of this many pence: a fact the domain does not
    /// refuse twice, so a duplicate would show.
    Reward(u64),
}

impl Fact {
    fn event(&self, payee: &str) -> Value {
        match self {
            Fact::Joined(id) => joined(id, "lived_experience", &["carers"]),
            Fact::Reward(pence) => json!({"type": "reward_given", "participant_id": payee,
                "kind": "payment", "amount_pence": pence, "occurred_on": DAY}),
        }
    }

    /// The fact a trail entry records, if it is one of ours.
    fn of_entry(entry: &Value, payee: &str) -> Option<Fact> {
        let data = &entry["data"];
        match entry["type"].as_str()? {
            "participant_joined" => {
                let id = data["participant_id"].as_str()?;
                (id != payee).then(|| Fact::Joined(id.to_string()))
            }
            "reward_given" => data["amount_pence"].as_u64().map(Fact::Reward),
            _ => None,
        }
    }
}

/// A project under load: its id and the participant its rewards go to.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub payee: String,
}

/// One logical write: facts appended together (one event, or a batch), under one key.
#[derive(Debug, Clone)]
pub struct Write {
    pub project: usize,
    pub facts: Vec<Fact>,
    pub key: String,
}

impl Write {
    pub fn new(project: usize, facts: Vec<Fact>) -> Write {
        Write {
            project,
            facts,
            key: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// One event, or `{"events": [...]}` for several.
    pub fn body(&self, payee: &str) -> Value {
        match self.facts.as_slice() {
            [one] => one.event(payee),
            many => json!({"events": many.iter().map(|f| f.event(payee)).collect::<Vec<_>>()}),
        }
    }
}

/// How a logical write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 201 with this receipt.
    Acked(Receipt),
    /// 409 `duplicate_id` after an attempt with an unknown outcome: that attempt was recorded.
    RecordedEarlier,
    /// Never settled (the graceful-shutdown test does not retry): it may or may not be there.
    Unknown,
}

/// What the clients saw on the way.
#[derive(Debug, Default)]
pub struct Seen {
    pub statuses: BTreeMap<u16, usize>,
    pub connection_errors: usize,
    /// Of those, the ones after the connection was made: the request may have been received,
    /// so its outcome is truly unknown.
    pub after_connecting: usize,
    /// Answers whose body could not be read in full.
    pub cut_bodies: usize,
    /// 503 answers that were problem+json with code `unavailable` and a `Retry-After`.
    pub proper_503: usize,
    /// Anything else that was wrong with a 5xx answer.
    pub bad_5xx: Vec<String>,
    /// Retries that got 409 `conflict` (the key was still held by an earlier attempt).
    pub in_progress: usize,
}

impl Seen {
    pub fn summary(&self) -> String {
        format!(
            "statuses {:?}, connection errors {} ({} after connecting), cut bodies {}, \
             proper 503s {}, 409 in-progress {}, bad 5xx {}",
            self.statuses,
            self.connection_errors,
            self.after_connecting,
            self.cut_bodies,
            self.proper_503,
            self.in_progress,
            self.bad_5xx.len()
        )
    }
}

/// Checks a 503: problem+json, code `unavailable`, `Retry-After` present. Returns what is
/// wrong, if anything.
pub fn check_503(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Option<String> {
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let problem: Option<Value> = serde_json::from_slice(body).ok();
    let code = problem.as_ref().and_then(|p| p["code"].as_str());
    let fine = content_type == "application/problem+json"
        && retry_after.is_some_and(|s| s > 0)
        && code == Some("unavailable")
        && problem.as_ref().is_some_and(|p| p["status"] == 503);
    (!fine).then(|| {
        format!(
            "503 with content-type {content_type:?}, Retry-After {retry_after:?}, body {}",
            String::from_utf8_lossy(body)
        )
    })
}

/// The clients' shared view of the servers and the results.
pub struct Load {
    pub client: reqwest::Client,
    pub token: String,
    /// Base URLs (`http://127.0.0.1:PORT`); a retry goes to the next one.
    pub servers: Vec<String>,
    pub projects: Vec<Project>,
    pub seen: Mutex<Seen>,
    pub settled: Mutex<Vec<(Write, Outcome)>>,
    /// Requests sent to each server (by index) whose answer has not arrived yet.
    in_flight: Vec<AtomicUsize>,
    /// Give up (and fail) on a write not settled by then.
    pub deadline: Instant,
}

impl Load {
    pub fn new(token: String, servers: Vec<String>, within: Duration) -> Load {
        Load {
            client: client(),
            token,
            in_flight: servers.iter().map(|_| AtomicUsize::new(0)).collect(),
            servers,
            projects: Vec::new(),
            seen: Mutex::new(Seen::default()),
            settled: Mutex::new(Vec::new()),
            deadline: Instant::now() + within,
        }
    }

    pub fn acked(&self) -> usize {
        self.settled
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Acked(_)))
            .count()
    }

    /// Requests sent to server `index` still waiting for their answer.
    pub fn in_flight(&self, index: usize) -> usize {
        self.in_flight[index].load(Ordering::SeqCst)
    }

    fn note(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.seen.lock().unwrap());
    }

    /// Registers `count` projects (each with a payee) through the first server.
    pub async fn register_projects(&mut self, count: usize) {
        for n in 0..count {
            let base = &self.servers[0];
            let registration = minimal_registration(
                &format!("Fault project {n}"),
                "oxfordshire",
                "carers",
                "2025-01-06",
            );
            let resp = self
                .client
                .post(format!("{base}/api/v1/projects"))
                .bearer_auth(&self.token)
                .json(&registration)
                .send()
                .await
                .expect("register a project");
            assert_eq!(resp.status(), 201, "register: {:?}", resp.text().await);
            let receipt: Value = resp.json().await.expect("registration receipt");
            let id = receipt["project_id"]
                .as_str()
                .expect("project_id")
                .to_string();
            let payee = format!("payee-{n}");
            let join = joined(&payee, "carer", &[]);
            let resp = self
                .client
                .post(format!("{base}/api/v1/projects/{id}/events"))
                .bearer_auth(&self.token)
                .json(&join)
                .send()
                .await
                .expect("join the payee");
            assert_eq!(resp.status(), 201, "payee: {:?}", resp.text().await);
            self.projects.push(Project { id, payee });
        }
    }

    /// Sends `write` until its outcome is settled (retrying unknown outcomes with the same
    /// key, starting at server `first`), and keeps the outcome.
    pub async fn settle(&self, write: Write, first: usize) {
        let project = &self.projects[write.project];
        let body = write.body(&project.payee);
        let mut attempt = 0;
        let outcome = loop {
            assert!(
                Instant::now() < self.deadline,
                "a write was not settled in time ({}); {}",
                write.key,
                self.seen.lock().unwrap().summary()
            );
            let server = (first + attempt) % self.servers.len();
            let base = &self.servers[server];
            attempt += 1;
            if attempt > 1 {
                let pause = rand::thread_rng().gen_range(20..80);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            self.in_flight[server].fetch_add(1, Ordering::SeqCst);
            let sent = self
                .client
                .post(format!("{base}/api/v1/projects/{}/events", project.id))
                .bearer_auth(&self.token)
                .header("Idempotency-Key", &write.key)
                .json(&body)
                .send()
                .await;
            self.in_flight[server].fetch_sub(1, Ordering::SeqCst);
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    self.note(|s| {
                        s.connection_errors += 1;
                        s.after_connecting += usize::from(!error.is_connect());
                    });
                    continue;
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let Ok(bytes) = response.bytes().await else {
                self.note(|s| s.cut_bodies += 1);
                continue;
            };
            self.note(|s| *s.statuses.entry(status.as_u16()).or_default() += 1);
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status} answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            match status {
                StatusCode::CREATED => break Outcome::Acked(receipt(&answer)),
                StatusCode::SERVICE_UNAVAILABLE => {
                    match check_503(&headers, &bytes) {
                        None => self.note(|s| s.proper_503 += 1),
                        Some(wrong) => self.note(|s| s.bad_5xx.push(wrong)),
                    }
                    // The store is down: wait a little longer than for other failures.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                s if s.is_server_error() => {
                    let text = format!("{s}: {answer}");
                    self.note(|seen| seen.bad_5xx.push(text));
                }
                StatusCode::CONFLICT if answer["code"] == "conflict" => {
                    self.note(|s| s.in_progress += 1);
                }
                StatusCode::CONFLICT if answer["code"] == "duplicate_id" && attempt > 1 => {
                    break Outcome::RecordedEarlier;
                }
                other => panic!(
                    "write {:?} got {other} on attempt {attempt}: {answer}",
                    write.facts
                ),
            }
        };
        self.settled.lock().unwrap().push((write, outcome));
    }
}

pub fn receipt(answer: &Value) -> Receipt {
    Receipt {
        first_sequence: answer["first_sequence"].as_u64().expect("first_sequence"),
        last_sequence: answer["last_sequence"].as_u64().expect("last_sequence"),
        digest: answer["digest"].as_str().expect("digest").to_string(),
    }
}

/// Runs `writers` tasks, each settling `per_writer` single-fact writes one after another
/// (joins, and every third a reward), spread over the projects. Writer `w` sends to server
/// `w` (modulo their number) first, so that every server has writers of its own at every moment:
/// had each write gone to the next server, the writers answered by one group commit would all
/// go on to the same server together, and after a while every writer would be at one server
/// while the other had nothing to do.
pub async fn run_writers(load: &Arc<Load>, writers: usize, per_writer: usize) {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let fact = if i % 3 == 2 {
                    Fact::Reward(100_000 + (w * 1000 + i) as u64)
                } else {
                    Fact::Joined(format!("w{w}-{i}"))
                };
                let write = Write::new((w + i) % load.projects.len(), vec![fact]);
                load.settle(write, w).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("a writer panicked");
    }
}

/// Waits until at least `count` writes have been acknowledged (or `within` passes).
pub async fn until_acked(load: &Load, count: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while load.acked() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until a request sent to server `index` is waiting for its answer (or `within`
/// passes), so that a fault struck next cuts it short.
pub async fn until_in_flight(load: &Load, index: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while load.in_flight(index) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// GET `path` (under `/api/v1`) from `base` as `token`; expects 200 and returns the JSON.
pub async fn get_json(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let resp = client
        .get(format!("{base}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status();
    let text = resp.text().await.expect("read body");
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
}

/// The whole trail of a project, page by page.
pub async fn trail(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = get_json(
            client,
            base,
            token,
            &format!("/projects/{id}/events?after={after}&limit=1000"),
        )
        .await;
        entries.extend(page["events"].as_array().expect("events").iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => return entries,
        }
    }
}

/// What must hold after the faults, checked through the server at `base`:
/// - every project's trail is 1, 2, …, n with no gap, and `verify` finds the whole chain intact;
/// - every acknowledged receipt verifies, and its entries hold exactly that write's facts, the
///   last with the receipt's digest;
/// - every settled write is in the log exactly once, a write of unknown outcome is there
///   wholly or not at all (a batch is never split), and nothing else is there;
/// - the project views agree with the log, and are unchanged by `coprod rebuild`.
///
/// Returns how many entries the projects hold in all.
pub async fn check_log(load: &Load, base: &str, database: &str) -> usize {
    let client = &load.client;
    let token = &load.token;
    let settled = load.settled.lock().unwrap().clone();
    let mut total = 0;
    let mut heads = BTreeMap::new();
    for (n, project) in load.projects.iter().enumerate() {
        let id = &project.id;
        let entries = trail(client, base, token, id).await;
        total += entries.len();
        let sequences: Vec<u64> = entries
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (1..=entries.len() as u64).collect();
        assert_eq!(
            sequences, expected,
            "project {n}: the trail has a gap or is out of order"
        );
        assert_eq!(entries[0]["type"], "project_registered", "project {n}");
        let whole = get_json(client, base, token, &format!("/projects/{id}/verify")).await;
        assert_eq!(
            whole["valid"], true,
            "project {n}: the chain does not verify: {whole}"
        );
        assert_eq!(
            whole["first_divergence"],
            Value::Null,
            "project {n}: {whole}"
        );

        // Which facts the log holds, where.
        let mut found: BTreeMap<Fact, Vec<u64>> = BTreeMap::new();
        for entry in &entries {
            if let Some(fact) = Fact::of_entry(entry, &project.payee) {
                found
                    .entry(fact)
                    .or_default()
                    .push(entry["sequence"].as_u64().unwrap());
            }
        }
        let duplicated: Vec<_> = found.iter().filter(|(_, at)| at.len() > 1).collect();
        assert!(
            duplicated.is_empty(),
            "project {n}: facts recorded more than once: {duplicated:?}"
        );
        let mut ours = BTreeSet::new();
        for (write, outcome) in settled.iter().filter(|(w, _)| w.project == n) {
            ours.extend(write.facts.iter().cloned());
            let at: Vec<Option<u64>> = write
                .facts
                .iter()
                .map(|f| found.get(f).map(|at| at[0]))
                .collect();
            let present = at.iter().filter(|a| a.is_some()).count();
            match outcome {
                Outcome::Acked(receipt) => {
                    let expected: Vec<Option<u64>> = (receipt.first_sequence
                        ..=receipt.last_sequence)
                        .map(Some)
                        .collect();
                    assert_eq!(
                        at, expected,
                        "project {n}: acknowledged write {:?} (receipt {receipt:?}) is not where \
                         its receipt says",
                        write.facts
                    );
                    let entry = &entries[receipt.last_sequence as usize - 1];
                    assert_eq!(
                        entry["digest"], receipt.digest,
                        "project {n}: the trail's digest differs from the receipt's"
                    );
                    let check = get_json(
                        client,
                        base,
                        token,
                        &format!(
                            "/projects/{id}/verify?sequence={}&digest={}",
                            receipt.last_sequence, receipt.digest
                        ),
                    )
                    .await;
                    assert_eq!(
                        check["valid"], true,
                        "project {n}: receipt {receipt:?}: {check}"
                    );
                }
                Outcome::RecordedEarlier => assert_eq!(
                    present,
                    write.facts.len(),
                    "project {n}: write {:?} was refused as a duplicate but is not (all) there",
                    write.facts
                ),
                Outcome::Unknown => assert!(
                    present == 0 || present == write.facts.len(),
                    "project {n}: write {:?} is only partly in the log: {at:?}",
                    write.facts
                ),
            }
            if present == write.facts.len() && write.facts.len() > 1 {
                let first = at[0].unwrap();
                let run: Vec<Option<u64>> = (first..first + at.len() as u64).map(Some).collect();
                assert_eq!(at, run, "project {n}: a batch was not appended as one run");
            }
        }
        let strangers: Vec<_> = found.keys().filter(|f| !ours.contains(f)).collect();
        assert!(
            strangers.is_empty(),
            "project {n}: facts in the log that no client sent: {strangers:?}"
        );
        let last = entries.last().unwrap();
        heads.insert(
            id.clone(),
            (last["sequence"].as_u64().unwrap(), last["digest"].clone()),
        );
    }

    // The views: up to date with the log, and what a rebuild from the log gives.
    let views_before = views(client, base, token).await;
    for (id, (sequence, digest)) in &heads {
        let view = &views_before[id];
        assert_eq!(
            view["sequence"], *sequence,
            "view of {id} is behind the log: {view}"
        );
        assert_eq!(view["digest"], *digest, "view of {id}: {view}");
    }
    server::rebuild(database);
    let views_after = views(client, base, token).await;
    assert_eq!(
        views_before, views_after,
        "the views differ from a rebuild from the log"
    );
    let (intact, report) = server::verify_all(database);
    assert!(intact, "coprod verify found a divergence:\n{report}");
    total
}

/// `GET /projects?organisation=oxfordshire`, by project id.
async fn views(client: &reqwest::Client, base: &str, token: &str) -> BTreeMap<String, Value> {
    let list = get_json(client, base, token, "/projects?organisation=oxfordshire").await;
    list["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|p| (p["project_id"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}
