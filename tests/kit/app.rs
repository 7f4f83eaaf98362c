//! A real server on 127.0.0.1 (port 0) over a fresh database, reached with a real HTTP client,
//! and the requests and checks the API scenarios are written in.

use std::sync::Arc;
use std::time::Duration;

use coprod::store::{AccessRole, Store};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::db::{Backend, TestDb};
use super::each::{run_on_each_backend, Harness};
use super::facts::*;
use super::server::Server;
use chrono::{DateTime, Utc};
use coprod::clock::Clock;

/// The bearer tokens of the roles the scenarios use.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// `admin` of every organisation (`*`).
    pub admin: String,
    /// `recorder` of `oxfordshire`.
    pub recorder: String,
    /// `assurance` of `oxfordshire`.
    pub assurance: String,
    /// `panel` of `oxfordshire`.
    pub panel: String,
    /// `recorder` of another organisation, `bucks`.
    pub bucks: String,
}

impl Tokens {
    /// One token of each, created in `store`.
    pub async fn create(store: &Store) -> Tokens {
        Tokens {
            admin: token(store, AccessRole::Admin, "*", "admin").await,
            recorder: token(store, AccessRole::Recorder, "oxfordshire", "recorder").await,
            assurance: token(store, AccessRole::Assurance, "oxfordshire", "assurance").await,
            panel: token(store, AccessRole::Panel, "oxfordshire", "panel").await,
            bucks: token(store, AccessRole::Recorder, "bucks", "bucks-recorder").await,
        }
    }
}

/// A new bearer token of `role` in `organisation` (`*`: every one), labelled `label`.
pub async fn token(store: &Store, role: AccessRole, organisation: &str, label: &str) -> String {
    store
        .create_token(role, organisation, label)
        .await
        .unwrap_or_else(|e| panic!("create {label} token: {e}"))
}

/// What an entry recorded with `token`, labelled `label`, says as `recorded_by`: the token's
/// id (the first 16 hex digits of its SHA-256), then its label.
pub fn recorded_by(token: &str, label: &str) -> String {
    format!(
        "token:{} ({label})",
        &coprod::store::token_hash(token)[..16]
    )
}

/// One answer, read in full.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `[backend] METHOD path`, for failure messages.
    pub context: String,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}): {}", self.context, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("header is text").to_string())
    }

    pub fn content_type(&self) -> String {
        self.header(CONTENT_TYPE.as_str()).unwrap_or_default()
    }

    /// Asserts the status; returns the answer for more checks.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: expected {status}, got {} with body {}",
            self.context,
            self.status,
            self.text()
        );
        self
    }

    /// Asserts a `status` answer with a JSON body, and returns the body.
    #[track_caller]
    pub fn json_with(self, status: u16) -> Value {
        let resp = self.expect(status);
        assert!(
            resp.content_type().starts_with("application/json"),
            "{}: content-type {:?}",
            resp.context,
            resp.content_type()
        );
        resp.json()
    }

    /// Asserts an RFC 9457 problem with this status and stable code; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: expected {status} {code}, got {} with body {}",
            self.context,
            self.status,
            self.text()
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}: a problem must be application/problem+json",
            self.context
        );
        let problem = self.json();
        assert_eq!(problem["code"], code, "{}: {problem}", self.context);
        assert_eq!(problem["status"], status, "{}: {problem}", self.context);
        for field in ["type", "title", "detail"] {
            assert!(
                problem[field].as_str().is_some_and(|s| !s.is_empty()),
                "{}: problem without '{field}': {problem}",
                self.context
            );
        }
        assert!(
            problem["errors"].is_array(),
            "{}: problem without 'errors': {problem}",
            self.context
        );
        problem
    }

    /// Like [`Resp::problem`], and one of `errors[].path` is `path`.
    #[track_caller]
    pub fn problem_at(&self, status: u16, code: &str, path: &str) -> Value {
        let problem = self.problem(status, code);
        let paths: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(
            paths.contains(&path),
            "{}: expected an error at {path:?}, got paths {paths:?} in {problem}",
            self.context
        );
        problem
    }
}

/// A running server over a fresh database, a client for it, and a token for each role.
pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub tokens: Tokens,
    /// The database, dropped once the last server over it is gone.
    pub db: Arc<TestDb>,
    server: Server,
}

/// Runs `body` once per backend against a [`TestApp`] of its own, stopping the server and
/// dropping the database even when `body` panics (see [`run_on_each_backend`]).
pub async fn each_backend(body: impl AsyncFnMut(&TestApp)) {
    run_on_each_backend(TestApp::spawn, body).await;
}

/// [`each_backend`] with each backend's store and server on a clock of its own, fixed at
/// `starting_at` until the body moves it (`app.store.clock().set(…)`).
pub async fn each_backend_with_clock(starting_at: DateTime<Utc>, body: impl AsyncFnMut(&TestApp)) {
    let start = async move |db| TestApp::spawn_with_clock(db, Clock::fixed(starting_at)).await;
    run_on_each_backend(start, body).await;
}

impl Harness for TestApp {
    async fn shut_down(mut self) -> Result<(), String> {
        // Idle keep-alive connections would hold a graceful shutdown open.
        self.client = reqwest::Client::new();
        self.server.stop(Duration::from_secs(20)).await
    }
}

impl TestApp {
    /// A server over `db` (migrated), with a token for each role.
    pub async fn spawn(db: Arc<TestDb>) -> TestApp {
        TestApp::spawn_with_clock(db, Clock::system()).await
    }

    /// A server over `db` (migrated) whose clock is `clock`.
    pub async fn spawn_with_clock(db: Arc<TestDb>, clock: Clock) -> TestApp {
        let store = db.store_with_clock(clock).await;
        let tokens = Tokens::create(&store).await;
        TestApp::serve(db, store, tokens).await
    }

    /// A server over `db` through `store` (connected as the test chooses: another database
    /// role, say), with a token for each role.
    pub async fn with_store(db: Arc<TestDb>, store: Store) -> TestApp {
        let tokens = Tokens::create(&store).await;
        TestApp::serve(db, store, tokens).await
    }

    /// A second server over this one's database, with a store of its own (as a second server
    /// process would have) and the same tokens.
    pub async fn another_server(&self) -> TestApp {
        let store = self.db.store_with_clock(self.store.clock().clone()).await;
        TestApp::serve(self.db.clone(), store, self.tokens.clone()).await
    }

    async fn serve(db: Arc<TestDb>, store: Store, tokens: Tokens) -> TestApp {
        let server = Server::start(store.clone()).await.expect("start a server");
        TestApp {
            backend: db.backend,
            base: server.base(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            store,
            tokens,
            db,
            server,
        }
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn stop(self) {
        let backend = self.backend;
        if let Err(why) = self.shut_down().await {
            panic!("[{backend}] {why}");
        }
    }

    /// A request to `path`, which is under `/api/v1` unless it starts with `//` (then it is
    /// taken from the root: `//healthz` is `/healthz`).
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let url = match path.strip_prefix("//") {
            Some(root) => format!("{}/{root}", self.base),
            None => format!("{}/api/v1{path}", self.base),
        };
        let builder = self.client.request(method, url);
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends a request and reads the whole answer. No answer may ever be a 5xx.
    pub async fn send(&self, builder: RequestBuilder) -> Resp {
        let request = builder.build().expect("request");
        let context = format!(
            "[{}] {} {}{}",
            self.backend,
            request.method(),
            request.url().path(),
            request
                .url()
                .query()
                .map(|q| format!("?{}", q.chars().take(120).collect::<String>()))
                .unwrap_or_default()
        );
        let response = self
            .client
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{context}: reading the body: {e}"))
            .to_vec();
        let resp = Resp {
            status,
            headers,
            body,
            context,
        };
        assert!(
            !status.is_server_error(),
            "{}: server error {status}: {}",
            resp.context,
            resp.text()
        );
        resp
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Resp {
        self.send(self.request(Method::GET, path, token)).await
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> Resp {
        self.send(self.request(Method::POST, path, token).json(body))
            .await
    }

    /// Posts `bytes` as they are, with this Content-Type.
    pub async fn post_raw(
        &self,
        token: Option<&str>,
        path: &str,
        content_type: &str,
        bytes: impl Into<Vec<u8>>,
    ) -> Resp {
        self.send(
            self.request(Method::POST, path, token)
                .header(CONTENT_TYPE, content_type)
                .body(bytes.into()),
        )
        .await
    }

    pub async fn register_as(&self, token: &str, body: &Value) -> Resp {
        self.post(Some(token), "/projects", body).await
    }

    /// Registers an `oxfordshire` project as the recorder; returns its id.
    pub async fn new_project(&self) -> String {
        self.new_project_titled("Carers' strategy refresh").await
    }

    pub async fn new_project_titled(&self, title: &str) -> String {
        let receipt = self
            .register_as(&self.tokens.recorder, &registration(title, "oxfordshire"))
            .await
            .json_with(201);
        receipt["project_id"]
            .as_str()
            .expect("project_id")
            .to_string()
    }

    /// Posts `body` (one event or `{"events": [...]}`) as the recorder.
    pub async fn post_events(&self, id: &str, body: &Value) -> Resp {
        self.post(
            Some(&self.tokens.recorder),
            &format!("/projects/{id}/events"),
            body,
        )
        .await
    }

    /// Posts and expects a receipt.
    pub async fn record(&self, id: &str, body: Value) -> Value {
        self.post_events(id, &body).await.json_with(201)
    }

    /// The project's summary, as the admin sees it.
    pub async fn summary(&self, id: &str) -> Value {
        self.get(Some(&self.tokens.admin), &format!("/projects/{id}"))
            .await
            .json_with(200)
    }

    /// The project's current sequence (from `GET /projects/{id}` as admin).
    pub async fn sequence(&self, id: &str) -> u64 {
        self.summary(id).await["sequence"]
            .as_u64()
            .expect("sequence")
    }

    /// How many projects the admin sees.
    pub async fn project_count(&self) -> usize {
        let listed = self
            .get(Some(&self.tokens.admin), "/projects")
            .await
            .json_with(200);
        listed["projects"].as_array().expect("projects").len()
    }

    /// The whole trail, as the admin reads it.
    pub async fn trail(&self, id: &str) -> Vec<Value> {
        let page = self
            .get(
                Some(&self.tokens.admin),
                &format!("/projects/{id}/events?limit=1000"),
            )
            .await
            .json_with(200);
        page["events"].as_array().expect("events").clone()
    }

    /// Asserts that the project is still at `expected`.
    pub async fn assert_sequence(&self, id: &str, expected: u64, after: &str) {
        let actual = self.sequence(id).await;
        assert_eq!(
            actual, expected,
            "[{}] the project moved from {expected} to {actual} after {after}",
            self.backend
        );
        let trail = self.trail(id).await;
        assert_eq!(
            trail.len() as u64,
            expected,
            "[{}] the trail has {} entries after {after}",
            self.backend,
            trail.len()
        );
    }

    /// Posts `body` and asserts it is refused with `status`/`code` (and an error at `path`),
    /// and that nothing was appended.
    pub async fn assert_refused(
        &self,
        id: &str,
        body: &Value,
        status: u16,
        code: &str,
        path: Option<&str>,
    ) -> Value {
        let before = self.sequence(id).await;
        let resp = self.post_events(id, body).await;
        let problem = match path {
            Some(path) => resp.problem_at(status, code, path),
            None => resp.problem(status, code),
        };
        self.assert_sequence(id, before, &resp.context).await;
        problem
    }
}

/// A project with a little of everything: 2 participants, the commission stage, an activity,
/// a contribution and its response, a decision, a reward, a role and an outcome review.
/// Returns its id; it is at sequence 11.
pub async fn rich_project(app: &TestApp) -> String {
    let id = app.new_project().await;
    app.record(
        &id,
        batch(&[
            joined("p1", "lived_experience", &["carers", "Somali community"]),
            joined("p2", "professional", &[]),
            stage_started("commission"),
            activity("a1", "commission", &["p1"], &["p2"]),
        ]),
    )
    .await;
    app.record(&id, contribution("c1", "p1", "commission"))
        .await;
    app.record(&id, responded("c1")).await;
    app.record(&id, decision("d1", "commission", &["p1", "p2"], &["c1"]))
        .await;
    app.record(&id, reward("p1", Some("a1"))).await;
    app.record(&id, role_taken("p1", "co_chair")).await;
    app.record(&id, outcome("o1", &["p2"], &["p1"])).await;
    id
}
