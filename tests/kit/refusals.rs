//! Tables of requests the API must refuse. Each row names itself and gives the request, the
//! status, the stable code and, where the problem points at a field, that field's path; every
//! row also checks that nothing was written. All the rows run, and the ones that failed are
//! reported together, each by its name.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use super::app::TestApp;
use super::each::{catch_unwind, panic_message};

/// Whose token a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Nobody,
    Recorder,
    Assurance,
    Panel,
    Admin,
}

/// What a request carries.
#[derive(Clone, Debug)]
pub enum Body {
    Empty,
    Json(Value),
    /// These bytes, with this Content-Type (or without one).
    Bytes {
        content_type: Option<&'static str>,
        bytes: Vec<u8>,
    },
}

/// A request of a row. Its path is under `/api/v1` unless it starts with `//` (see
/// [`TestApp::request`]).
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    path: String,
    who: Who,
    header: Option<(&'static str, String)>,
    body: Body,
}

impl Request {
    /// Any method, without a body, as the recorder.
    pub fn call(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            who: Who::Recorder,
            header: None,
            body: Body::Empty,
        }
    }

    /// GET, as the recorder.
    pub fn get(path: impl Into<String>) -> Request {
        Request::call(Method::GET, path)
    }

    /// POST of `body` as JSON, as the recorder.
    pub fn post(path: impl Into<String>, body: &Value) -> Request {
        Request {
            body: Body::Json(body.clone()),
            ..Request::call(Method::POST, path)
        }
    }

    /// POST of `bytes` as they are, with this Content-Type (or none), as the recorder.
    pub fn post_bytes(
        path: impl Into<String>,
        content_type: Option<&'static str>,
        bytes: impl Into<Vec<u8>>,
    ) -> Request {
        Request {
            body: Body::Bytes {
                content_type,
                bytes: bytes.into(),
            },
            ..Request::call(Method::POST, path)
        }
    }

    /// The same request with another token.
    pub fn by(self, who: Who) -> Request {
        Request { who, ..self }
    }

    /// The same request with one more header.
    pub fn with_header(self, name: &'static str, value: impl Into<String>) -> Request {
        Request {
            header: Some((name, value.into())),
            ..self
        }
    }

    fn build(&self, app: &TestApp) -> RequestBuilder {
        let tokens = &app.tokens;
        let token = match self.who {
            Who::Nobody => None,
            Who::Recorder => Some(tokens.recorder.as_str()),
            Who::Assurance => Some(tokens.assurance.as_str()),
            Who::Panel => Some(tokens.panel.as_str()),
            Who::Admin => Some(tokens.admin.as_str()),
        };
        let mut builder = app.request(self.method.clone(), &self.path, token);
        if let Some((name, value)) = &self.header {
            builder = builder.header(*name, value);
        }
        match &self.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Bytes {
                content_type,
                bytes,
            } => match content_type {
                Some(content_type) => builder
                    .header(CONTENT_TYPE, *content_type)
                    .body(bytes.clone()),
                None => builder.body(bytes.clone()),
            },
        }
    }
}

/// A further check of a refusal's problem, and what it checks.
type ProblemCheck = (&'static str, fn(&Value) -> bool);

/// A row: a request the API must refuse, and how.
#[derive(Clone, Debug)]
pub struct Refusal {
    name: String,
    request: Request,
    status: u16,
    code: &'static str,
    /// One of the problem's `errors[].path`, where it must point at a field.
    path: Option<String>,
    checks: Vec<ProblemCheck>,
}

/// A row: `request` (called `name`) is refused with `status` and the stable `code`.
pub fn refused(
    name: impl Into<String>,
    request: Request,
    status: u16,
    code: &'static str,
) -> Refusal {
    Refusal {
        name: name.into(),
        request,
        status,
        code,
        path: None,
        checks: Vec::new(),
    }
}

impl Refusal {
    /// The problem also names the field at `path`.
    pub fn at(self, path: impl Into<String>) -> Refusal {
        Refusal {
            path: Some(path.into()),
            ..self
        }
    }

    /// The problem also passes `check` (described as `what`).
    pub fn and(mut self, what: &'static str, check: fn(&Value) -> bool) -> Refusal {
        self.checks.push((what, check));
        self
    }
}

/// Runs tables of refusals against one server, keeping the rows that failed.
pub struct Refusals<'a> {
    app: &'a TestApp,
    /// The project whose sequence and trail must not move.
    project: Option<String>,
    rows: usize,
    failures: Vec<String>,
}

impl<'a> Refusals<'a> {
    /// Refusals sent to `app`; no row may register a project, nor append to `project`.
    pub fn new(app: &'a TestApp, project: Option<&str>) -> Refusals<'a> {
        Refusals {
            app,
            project: project.map(str::to_string),
            rows: 0,
            failures: Vec::new(),
        }
    }

    /// From now on, no row may append to `project` either.
    pub fn watch(&mut self, project: &str) {
        self.project = Some(project.to_string());
    }

    /// Runs every row, in order; a row that fails is kept with its name and why.
    pub async fn check(&mut self, rows: Vec<Refusal>) {
        for row in rows {
            self.rows += 1;
            if let Err(panic) = catch_unwind(self.run(&row)).await {
                let why = panic_message(panic.as_ref());
                self.failures.push(format!("{}: {why}", row.name));
            }
        }
    }

    /// Fails listing every row that failed, if any did.
    #[track_caller]
    pub fn assert_all_passed(mut self) {
        let failures = std::mem::take(&mut self.failures);
        assert!(
            failures.is_empty(),
            "{} of {} refusals failed:\n- {}",
            failures.len(),
            self.rows,
            failures.join("\n- ")
        );
    }

    async fn run(&self, row: &Refusal) {
        let app = self.app;
        let projects_before = app.project_count().await;
        let sequence_before = match &self.project {
            Some(id) => Some(app.sequence(id).await),
            None => None,
        };
        let resp = app.send(row.request.build(app)).await;
        let problem = match &row.path {
            Some(path) => resp.problem_at(row.status, row.code, path),
            None => resp.problem(row.status, row.code),
        };
        for (what, check) in &row.checks {
            assert!(check(&problem), "{}: {what}: {problem}", resp.context);
        }
        if let (Some(id), Some(before)) = (&self.project, sequence_before) {
            app.assert_sequence(id, before, &resp.context).await;
        }
        assert_eq!(
            app.project_count().await,
            projects_before,
            "{}: the number of projects changed",
            resp.context
        );
    }
}

/// Rows left unreported (`assert_all_passed` not called) still fail the test.
impl Drop for Refusals<'_> {
    fn drop(&mut self) {
        if !self.failures.is_empty() && !std::thread::panicking() {
            panic!(
                "{} of {} refusals failed:\n- {}",
                self.failures.len(),
                self.rows,
                self.failures.join("\n- ")
            );
        }
    }
}

/// Runs one table against `app` (see [`Refusals::new`]) and fails listing every row that failed.
pub async fn assert_all_refused(app: &TestApp, project: Option<&str>, rows: Vec<Refusal>) {
    let mut refusals = Refusals::new(app, project);
    refusals.check(rows).await;
    refusals.assert_all_passed();
}
