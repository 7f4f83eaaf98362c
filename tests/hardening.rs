//! What a hostile client or a careless spreadsheet cannot do, on both stores: formulas in CSV
//! cells, text that spoofs its direction or hides control characters, dates a council could not
//! mean, a sign-in form whose token the attacker chose, two tokens with one label taken for one
//! person (and idempotent answers kept for ever), slow or idle connections held open for ever;
//! and, on PostgreSQL, a server whose database role could change the log. (A panic answered
//! without the security headers is tested in the library, `src/lib.rs`.)

mod kit;

use kit::{each_backend, TestApp};
use reqwest::header::{ACCEPT, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

// ---- helpers ---------------------------------------------------------------------------------

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// An optional sign, digits and optionally a point and digits.
fn plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let mut parts = unsigned.splitn(2, '.');
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    parts.next().is_some_and(digits) && parts.next().is_none_or(digits)
}

/// The cells of a CSV, parsed as a spreadsheet would.
fn cells(csv: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    reader
        .records()
        .flat_map(|record| {
            record
                .expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// No cell of `csv` would be run as a formula; `expected` cells are there as text (`'` first).
#[track_caller]
fn assert_no_formula(what: &str, csv: &str, expected: &[&str]) {
    let cells = cells(csv);
    for cell in &cells {
        assert!(
            !cell.starts_with(FORMULA_STARTS) || plain_number(cell),
            "{what}: the cell {cell:?} would be read as a formula:\n{csv}"
        );
    }
    for text in expected {
        let neutralised = format!("'{text}");
        assert!(
            cells.contains(&neutralised),
            "{what}: expected the cell {neutralised:?} in:\n{csv}"
        );
    }
}

/// A client of the pages, signed in with a token, keeping its cookies by hand.
struct Pages {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Pages {
    fn new(app: &TestApp) -> Pages {
        Pages {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    /// A client signed in with `token`.
    async fn signed_in(app: &TestApp, token: &str) -> Pages {
        let mut pages = Pages::new(app);
        pages.get("/").await;
        let csrf = pages.cookie("coprod_sign_in").expect("a sign-in cookie");
        let (status, _) = pages
            .post("/sign-in", &[("token", token), ("csrf", &csrf)])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "[{}] sign in", app.backend);
        pages
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(k, _)| k != name);
        self.cookies.push((name.to_string(), value.to_string()));
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, String) {
        let jar = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if jar.is_empty() {
            request
        } else {
            request.header(COOKIE, jar)
        };
        let response = request.send().await.expect("an answer");
        let status = response.status();
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().expect("text");
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(k, _)| k != name);
                if !set.contains("Max-Age=0") {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
        (status, response.text().await.expect("a body"))
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .form(form);
        self.send(request).await
    }
}

/// The id in a registration's receipt.
fn project_id(receipt: &Value) -> String {
    receipt["project_id"]
        .as_str()
        .expect("a project id")
        .to_string()
}

// ---- CSV cells -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_text_that_starts_like_a_formula_reaches_every_csv_as_text() {
    each_backend(async |app| {
        let title = r#"=HYPERLINK("http://x","y")"#;
        let service_area = "@SUM(1+1)";
        let recorder = app.tokens.recorder.as_str();
        let receipt = app
            .register_as(
                recorder,
                &json!({"title": title, "organisation": "oxfordshire",
                        "service_area": service_area, "priority_groups": ["+carers"],
                        "started_on": "2025-01-06"}),
            )
            .await
            .json_with(201);
        let id = project_id(&receipt);
        app.record(&id, kit::facts::stage_started("commission"))
            .await;

        let csv_of = async |path: &str, token: &str| {
            app.send(
                app.request(Method::GET, path, Some(token))
                    .header(ACCEPT, "text/csv"),
            )
            .await
            .expect(200)
            .text()
        };
        let assessment = csv_of(&format!("/projects/{id}/assessment"), recorder).await;
        assert_no_formula("assessment", &assessment, &[]);
        let area = "%40SUM(1%2B1)";
        let portfolio = csv_of(&format!("/portfolio?service_area={area}"), recorder).await;
        assert_no_formula("portfolio", &portfolio, &[service_area]);
        let trend = csv_of(&format!("/portfolio/trend?service_area={area}"), recorder).await;
        assert_no_formula("trend", &trend, &[service_area]);

        let mut pages = Pages::signed_in(app, &app.tokens.assurance).await;
        let (status, projects) = pages.get("/portfolio/projects.csv?status=open").await;
        assert_eq!(status, StatusCode::OK, "{projects}");
        assert_no_formula("projects.csv", &projects, &[title, service_area]);
        let (status, report) = pages.get(&format!("/projects/{id}/report.csv")).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report, assessment, "the report's CSV is the API's");
    })
    .await;
}

// ---- one text rule ---------------------------------------------------------------------------

/// A registration body with `field` set to `value`.
fn registration_with(field: &str, value: Value) -> Value {
    let mut body = kit::facts::registration("Carers' strategy refresh", "oxfordshire");
    body[field] = value;
    body
}

/// A project with p1 present and the commission stage started.
async fn project_in_commission(app: &TestApp) -> String {
    let id = app.new_project().await;
    app.record(
        &id,
        kit::facts::batch(&[
            kit::facts::joined("p1", "lived_experience", &["carers"]),
            kit::facts::stage_started("commission"),
        ]),
    )
    .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direction_controls_and_control_characters_are_refused_in_every_kind_of_text() {
    use kit::refusals::{assert_all_refused, refused, Request, Who};
    each_backend(async |app| {
        let id = project_in_commission(app).await;
        let events = format!("/projects/{id}/events");
        let registering = |name: &str, field: &str, value: Value, path: &str| {
            let body = registration_with(field, value);
            refused(
                name,
                Request::post("/projects", &body),
                422,
                "validation_failed",
            )
            .at(path)
        };
        let posting = |name: &str, body: Value, path: &str| {
            refused(
                name,
                Request::post(events.clone(), &body),
                422,
                "validation_failed",
            )
            .at(path)
        };
        let mut activity = kit::facts::activity("a1", "commission", &["p1"], &[]);
        activity["locality"] = json!("Banbury\u{202E}");
        let mut titled = kit::facts::activity("a2", "commission", &["p1"], &[]);
        titled["title"] = json!("Workshop\u{0}");
        let mut decision = kit::facts::decision("d1", "commission", &["p1"], &[]);
        decision["outcome"] = json!("Agreed\u{2067} unanimously");
        let erase = format!("/projects/{id}/participants/p1/erase");
        assert_all_refused(
            app,
            Some(&id),
            vec![
                registering(
                    "a title with U+202E",
                    "title",
                    json!("fed\u{202E}cba"),
                    "/title",
                ),
                registering(
                    "a service area with NUL",
                    "service_area",
                    json!("carers\u{0}"),
                    "/service_area",
                ),
                registering(
                    "a description with BEL",
                    "description",
                    json!("Bell\u{7}"),
                    "/description",
                ),
                registering(
                    "a priority group with U+2066",
                    "priority_groups",
                    json!(["\u{2066}carers"]),
                    "/priority_groups/0",
                ),
                registering(
                    "a group served with U+202B",
                    "serves",
                    json!(["carers\u{202B}"]),
                    "/serves/0",
                ),
                posting(
                    "a participant's group with ESC",
                    kit::facts::joined("p2", "carer", &["carers\u{1b}"]),
                    "/groups/0",
                ),
                posting("an activity's locality with U+202E", activity, "/locality"),
                posting("an activity's title with NUL", titled, "/title"),
                posting("a decision's outcome with U+2067", decision, "/outcome"),
                refused(
                    "a seal's purpose with U+202D",
                    Request::post(
                        format!("/projects/{id}/assessments"),
                        &json!({"purpose": "Panel\u{202D}"}),
                    )
                    .by(Who::Assurance),
                    422,
                    "validation_failed",
                )
                .at("/purpose"),
                refused(
                    "an erasure's legal basis with DEL",
                    Request::post(
                        erase,
                        &json!({"reason": "Asked.", "legal_basis": "Article 17\u{7f}"}),
                    )
                    .by(Who::Admin),
                    422,
                    "validation_failed",
                )
                .at("/legal_basis"),
            ],
        )
        .await;
    })
    .await;
}

// ---- dates a council could mean ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_before_2000_before_the_project_started_or_out_of_stage_order_are_refused() {
    use kit::facts::{batch, joined_on, stage_started_on};
    use kit::refusals::{assert_all_refused, refused, Request};
    each_backend(async |app| {
        // Started on 2025-01-06; commission started on 2025-02-03 (kit::facts::DAY).
        let id = project_in_commission(app).await;
        let events = format!("/projects/{id}/events");
        let posting = |name: &str, body: Value, path: &str| {
            refused(
                name,
                Request::post(events.clone(), &body),
                422,
                "validation_failed",
            )
            .at(path)
        };
        let completed_on =
            |on: &str| json!({"type": "stage_completed", "stage": "commission", "occurred_on": on});
        assert_all_refused(
            app,
            Some(&id),
            vec![
                refused(
                    "a project started on 0001-01-01",
                    Request::post(
                        "/projects",
                        &registration_with("started_on", json!("0001-01-01")),
                    ),
                    422,
                    "validation_failed",
                )
                .at("/started_on"),
                refused(
                    "a project started on 1999-12-31",
                    Request::post(
                        "/projects",
                        &registration_with("started_on", json!("1999-12-31")),
                    ),
                    422,
                    "validation_failed",
                )
                .at("/started_on"),
                posting(
                    "a stage started on 0000-01-01",
                    stage_started_on("design", "0000-01-01"),
                    "/occurred_on",
                ),
                posting(
                    "a participant joining the day before the project started",
                    joined_on("p2", "carer", &[], "2025-01-05"),
                    "/occurred_on",
                ),
                posting(
                    "a stage ending before it started",
                    completed_on("2025-02-02"),
                    "/occurred_on",
                ),
                posting(
                    "a stage starting before the stage before it",
                    stage_started_on("design", "2025-02-02"),
                    "/occurred_on",
                ),
                posting(
                    "a batch whose second event ends its stage before it started",
                    batch(&[
                        joined_on("p2", "carer", &[], "2025-02-04"),
                        completed_on("2025-01-31"),
                    ]),
                    "/events/1/occurred_on",
                ),
            ],
        )
        .await;
        // The days themselves are accepted: the stage ends and the next starts on the day
        // the commission stage started.
        app.record(&id, completed_on("2025-02-03")).await;
        app.record(&id, stage_started_on("design", "2025-02-03"))
            .await;
    })
    .await;
}

// ---- tokens told apart -------------------------------------------------------------------------

/// Posts `body` to the project's events with `token` and `Idempotency-Key: key`.
async fn post_keyed(app: &TestApp, token: &str, id: &str, key: &str, body: &Value) -> kit::Resp {
    app.send(
        app.request(Method::POST, &format!("/projects/{id}/events"), Some(token))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokens_with_one_label_keep_their_idempotency_keys_and_their_entries_apart() {
    use coprod::store::AccessRole;
    each_backend(async |app| {
        let backend = app.backend;
        let first = kit::app::token(&app.store, AccessRole::Recorder, "oxfordshire", "Sam").await;
        let second = kit::app::token(&app.store, AccessRole::Recorder, "oxfordshire", "Sam").await;
        let id = project_in_commission(app).await;
        let body = kit::facts::reward("p1", None);

        let by_first = post_keyed(app, &first, &id, "reward-1", &body)
            .await
            .json_with(201);
        let by_second = post_keyed(app, &second, &id, "reward-1", &body)
            .await
            .json_with(201);
        assert_eq!(
            by_second["first_sequence"],
            by_first["first_sequence"].as_u64().unwrap() + 1,
            "[{backend}] the second token's request is its own, not a retry of the first's"
        );
        // Each token's retry gets its own first answer, and appends nothing.
        let sequence = app.sequence(&id).await;
        for (token, answer) in [(&first, &by_first), (&second, &by_second)] {
            let again = post_keyed(app, token, &id, "reward-1", &body)
                .await
                .json_with(201);
            assert_eq!(&again, answer, "[{backend}]");
        }
        assert_eq!(app.sequence(&id).await, sequence, "[{backend}]");

        let trail = app.trail(&id).await;
        let who = |answer: &Value| {
            let sequence = answer["first_sequence"].as_u64().unwrap() as usize;
            trail[sequence - 1]["recorded_by"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            who(&by_first),
            kit::app::recorded_by(&first, "Sam"),
            "[{backend}]"
        );
        assert_eq!(
            who(&by_second),
            kit::app::recorded_by(&second, "Sam"),
            "[{backend}]"
        );
        assert_ne!(who(&by_first), who(&by_second), "[{backend}]");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_answer_is_kept_for_seven_days_and_then_forgotten() {
    use chrono::{TimeDelta, TimeZone, Utc};
    let start = Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap();
    kit::each_backend_with_clock(start, async |app| {
        let backend = app.backend;
        let recorder = app.tokens.recorder.clone();
        let id = project_in_commission(app).await;
        let body = kit::facts::reward("p1", None);
        let first = post_keyed(app, &recorder, &id, "reward-1", &body)
            .await
            .json_with(201);
        let sequence = app.sequence(&id).await;

        // A server starting just before the seven days are up keeps the answer.
        app.store
            .clock()
            .set(start + TimeDelta::days(7) - TimeDelta::minutes(1));
        let within = app.another_server().await;
        let again = post_keyed(&within, &recorder, &id, "reward-1", &body)
            .await
            .json_with(201);
        assert_eq!(
            again, first,
            "[{backend}] within seven days, the first answer"
        );
        assert_eq!(app.sequence(&id).await, sequence, "[{backend}]");
        within.stop().await;

        // A server starting after them has forgotten it: the key starts a new request.
        app.store
            .clock()
            .set(start + TimeDelta::days(7) + TimeDelta::minutes(1));
        let after = app.another_server().await;
        let anew = post_keyed(&after, &recorder, &id, "reward-1", &body)
            .await
            .json_with(201);
        assert_eq!(
            anew["first_sequence"],
            sequence + 1,
            "[{backend}] after seven days, a new request: {anew}"
        );
        after.stop().await;
    })
    .await;
}

// ---- sign-in forms the server made -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_value_planted_in_the_cookie_and_the_form_is_refused_with_403() {
    each_backend(async |app| {
        let backend = app.backend;
        let token = app.tokens.assurance.clone();
        // The attacker's own, well-formed values: a random one of the old shape, and one shaped
        // like the server's but signed with nothing the server knows.
        let planted = [
            "5f".repeat(32),
            format!(
                "{}.{}.{}",
                chrono::Utc::now().timestamp(),
                "ab".repeat(16),
                "cd".repeat(32)
            ),
        ];
        for value in planted {
            let mut pages = Pages::new(app);
            pages.set_cookie("coprod_sign_in", &value);
            let (status, body) = pages
                .post("/sign-in", &[("token", &token), ("csrf", &value)])
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "[{backend}] {value}: {body}");
            assert!(
                body.contains("did not come from Coprod"),
                "[{backend}] {body}"
            );
            assert!(
                pages.cookie("coprod_session").is_none(),
                "[{backend}] no session"
            );
            // The start page does not adopt the planted value: it makes a value of its own.
            pages.get("/").await;
            let fresh = pages.cookie("coprod_sign_in").expect("a sign-in cookie");
            assert_ne!(fresh, value, "[{backend}]");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_form_made_by_one_server_signs_in_on_another_of_the_same_database() {
    each_backend(async |app| {
        let backend = app.backend;
        let mut pages = Pages::new(app);
        pages.get("/").await;
        let value = pages.cookie("coprod_sign_in").expect("a sign-in cookie");
        let other = app.another_server().await;
        pages.base = other.base.clone();
        let (status, body) = pages
            .post(
                "/sign-in",
                &[("token", &app.tokens.assurance), ("csrf", &value)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "[{backend}] {body}");
        assert!(pages.cookie("coprod_session").is_some(), "[{backend}]");
        other.stop().await;
    })
    .await;
}

// ---- slow and idle connections -----------------------------------------------------------------

mod connections {
    use std::time::Duration;

    use coprod::store::AccessRole;
    use coprod::ConnectionLimits;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::OwnedReadHalf;
    use tokio::net::TcpStream;
    use tokio::time::Instant;

    use crate::kit::{self, Server};

    /// Limits short enough to test: 1 s for headers and bodies, 3 s idle.
    fn short(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(3),
            max_connections,
        }
    }

    /// How much later than its limit a connection may close (a loaded machine is slow).
    const SLACK: Duration = Duration::from_millis(1500);

    /// Reads what the server sends until it closes the connection, for at most `patience`;
    /// what it sent, and how long after `since` it closed (`None`: still open).
    async fn until_closed(
        read: &mut OwnedReadHalf,
        since: Instant,
        patience: Duration,
    ) -> (String, Option<Duration>) {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let deadline = since + patience;
        loop {
            match tokio::time::timeout_at(deadline, read.read(&mut buffer)).await {
                Err(_) => return (String::from_utf8_lossy(&received).into_owned(), None),
                Ok(Ok(0)) | Ok(Err(_)) => {
                    let closed = since.elapsed();
                    return (
                        String::from_utf8_lossy(&received).into_owned(),
                        Some(closed),
                    );
                }
                Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            }
        }
    }

    /// Sends `bytes` one at a time, `every` apart, until they are sent or the server has
    /// closed the connection.
    fn trickle(
        mut write: tokio::net::tcp::OwnedWriteHalf,
        bytes: Vec<u8>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            for byte in bytes {
                if write.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn headers_sent_a_byte_at_a_time_are_cut_off_at_the_header_timeout() {
        for db in kit::backends().await {
            let backend = db.backend;
            let server = Server::start_with_limits(db.store().await, short(64))
                .await
                .unwrap();
            let (mut read, write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            let request = b"GET /healthz HTTP/1.1\r\nHost: coprod\r\n\r\n".to_vec();
            let started = Instant::now();
            let writer = trickle(write, request, Duration::from_millis(250));
            let (answer, closed) = until_closed(&mut read, started, Duration::from_secs(8)).await;
            writer.abort();
            let closed = closed.unwrap_or_else(|| panic!("[{backend}] still open after 8 s"));
            assert!(
                closed >= Duration::from_millis(900) && closed <= Duration::from_secs(1) + SLACK,
                "[{backend}] closed after {closed:?}, not at the 1 s header timeout"
            );
            assert!(answer.is_empty(), "[{backend}] answered {answer:?}");
            server.stop(Duration::from_secs(5)).await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_sent_a_byte_at_a_time_is_refused_408_and_the_connection_closed() {
        for db in kit::backends().await {
            let backend = db.backend;
            let store = db.store().await;
            let token = kit::app::token(&store, AccessRole::Recorder, "oxfordshire", "slow").await;
            let server = Server::start_with_limits(store, short(64)).await.unwrap();
            let (mut read, mut write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            let body = kit::facts::registration("Slow", "oxfordshire").to_string();
            let head = format!(
                "POST /api/v1/projects HTTP/1.1\r\nHost: coprod\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            write.write_all(head.as_bytes()).await.unwrap();
            let started = Instant::now();
            let writer = trickle(write, body.into_bytes(), Duration::from_millis(250));
            let (answer, closed) = until_closed(&mut read, started, Duration::from_secs(8)).await;
            writer.abort();
            let closed = closed.unwrap_or_else(|| panic!("[{backend}] still open after 8 s"));
            assert!(
                closed >= Duration::from_millis(900) && closed <= Duration::from_secs(1) + SLACK,
                "[{backend}] closed after {closed:?}, not at the 1 s body timeout"
            );
            assert!(
                answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout"),
                "[{backend}] answered {answer:?}"
            );
            server.stop(Duration::from_secs(5)).await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_connection_and_an_idle_kept_alive_one_close_at_the_idle_timeout() {
        for db in kit::backends().await {
            let backend = db.backend;
            let server = Server::start_with_limits(db.store().await, short(64))
                .await
                .unwrap();
            let started = Instant::now();
            let (mut silent, _keep) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            let (mut kept, mut kept_write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            kept_write
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: coprod\r\n\r\n")
                .await
                .unwrap();
            let answered = Instant::now();
            let (answer, closed) = until_closed(&mut kept, answered, Duration::from_secs(8)).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "[{backend}] {answer:?}");
            let closed = closed.unwrap_or_else(|| panic!("[{backend}] kept-alive still open"));
            // Idle, not the (shorter) header timeout, closes a connection between requests.
            assert!(
                closed >= Duration::from_millis(2800) && closed <= Duration::from_secs(3) + SLACK,
                "[{backend}] the kept-alive connection closed after {closed:?}"
            );
            let (answer, closed) = until_closed(&mut silent, started, Duration::from_secs(8)).await;
            let closed = closed.unwrap_or_else(|| panic!("[{backend}] silent still open"));
            assert!(
                closed >= Duration::from_millis(2800) && closed <= Duration::from_secs(3) + SLACK,
                "[{backend}] the silent connection closed after {closed:?}"
            );
            assert!(answer.is_empty(), "[{backend}] answered {answer:?}");
            server.stop(Duration::from_secs(5)).await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_past_the_cap_wait_unanswered_until_one_closes() {
        for db in kit::backends().await {
            let backend = db.backend;
            let limits = ConnectionLimits {
                idle_timeout: Duration::from_secs(20),
                ..short(2)
            };
            let server = Server::start_with_limits(db.store().await, limits)
                .await
                .unwrap();
            let first = TcpStream::connect(server.address).await.unwrap();
            let _second = TcpStream::connect(server.address).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (mut third, mut third_write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            third_write
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: coprod\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let waited = Instant::now();
            let (answer, closed) =
                until_closed(&mut third, waited, Duration::from_millis(800)).await;
            assert!(
                answer.is_empty() && closed.is_none(),
                "[{backend}] a third connection was served past a cap of two: {answer:?}"
            );
            drop(first);
            let freed = Instant::now();
            let (answer, _) = until_closed(&mut third, freed, Duration::from_secs(5)).await;
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "[{backend}] once a slot was free, the third waited for nothing: {answer:?}"
            );
            server.stop(Duration::from_secs(5)).await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_closes_idle_connections_at_once_and_lets_a_request_in_flight_finish() {
        for db in kit::backends().await {
            let backend = db.backend;
            let store = db.store().await;
            let token = kit::app::token(&store, AccessRole::Recorder, "oxfordshire", "slow").await;
            let limits = ConnectionLimits {
                idle_timeout: Duration::from_secs(60),
                ..short(64)
            };
            let server = Server::start_with_limits(store, limits).await.unwrap();
            // An idle kept-alive connection, after one answer.
            let (mut idle, mut idle_write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            idle_write
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: coprod\r\n\r\n")
                .await
                .unwrap();
            let mut buffer = [0u8; 1024];
            let n = idle.read(&mut buffer).await.unwrap();
            assert!(buffer[..n].starts_with(b"HTTP/1.1 200"), "[{backend}]");
            // A request in flight: its headers are in, its body is still coming.
            let (mut busy, mut busy_write) = TcpStream::connect(server.address)
                .await
                .unwrap()
                .into_split();
            let head = format!(
                "POST /api/v1/projects HTTP/1.1\r\nHost: coprod\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{"
            );
            busy_write.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;

            let stopping = Instant::now();
            let stopped = tokio::spawn(server.stop(Duration::from_secs(5)));
            let (_, closed) = until_closed(&mut idle, stopping, Duration::from_secs(3)).await;
            let closed =
                closed.unwrap_or_else(|| panic!("[{backend}] the idle connection stayed open"));
            assert!(
                closed < Duration::from_millis(800),
                "[{backend}] idle closed after {closed:?}"
            );
            // The request in flight is answered (its body timed out), not cut off.
            let (answer, _) = until_closed(&mut busy, stopping, Duration::from_secs(5)).await;
            assert!(answer.starts_with("HTTP/1.1 408"), "[{backend}] {answer:?}");
            stopped.await.unwrap().unwrap();
            assert!(
                stopping.elapsed() < Duration::from_secs(1) + SLACK,
                "[{backend}] stopping took {:?}",
                stopping.elapsed()
            );
            drop(busy_write);
        }
    }
}

// ---- a PostgreSQL role that may only read and append the log -----------------------------------

mod postgres_role {
    use std::sync::Arc;
    use std::time::Duration;

    use coprod::store::Store;
    use reqwest::Method;
    use serde_json::json;
    use sqlx::Connection;

    use crate::kit::{self, TestApp, TestDb};

    /// The grants docs/operations.md recommends, for the role `coprod_server`.
    const GRANTS: &str = include_str!("../docs/postgres-server-role.sql");

    /// A login role of the test cluster with exactly the documented grants in one database;
    /// dropped (with what it owns there) when this value is dropped.
    struct ServerRole {
        name: String,
        /// The database, as the superuser.
        owner_url: String,
    }

    impl ServerRole {
        async fn create(db: &TestDb) -> ServerRole {
            let name = format!("coprod_server_{}", uuid::Uuid::new_v4().simple());
            let role = ServerRole {
                name: name.clone(),
                owner_url: db.url.clone(),
            };
            let mut owner = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            // What an administrator does once (see the head of the grants file).
            for sql in [
                format!("CREATE ROLE {name} LOGIN"),
                format!("GRANT {name} TO CURRENT_USER"),
                format!("GRANT pg_read_all_stats TO {name}"),
            ] {
                sqlx::query(&sql).execute(&mut owner).await.expect(&sql);
            }
            // What the owner runs after every migration.
            sqlx::raw_sql(&GRANTS.replace("coprod_server", &name))
                .execute(&mut owner)
                .await
                .expect("the documented grants");
            owner.close().await.ok();
            role
        }

        /// The database's URL, as this role.
        fn url(&self) -> String {
            let (scheme, rest) = self.owner_url.split_once("://").expect("a URL");
            let host = rest.split_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}@{host}", self.name)
        }
    }

    impl Drop for ServerRole {
        fn drop(&mut self) {
            let (url, name) = (self.owner_url.clone(), self.name.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                        for sql in [
                            format!("REASSIGN OWNED BY {name} TO CURRENT_USER"),
                            format!("DROP OWNED BY {name}"),
                            format!("DROP ROLE IF EXISTS {name}"),
                        ] {
                            let _ = sqlx::query(&sql).execute(&mut conn).await;
                        }
                    }
                });
            })
            .join();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_whose_role_may_only_read_and_append_the_log_serves_everything() {
        let Some(db) = kit::postgres().await else {
            return; // the kit has said loudly that PostgreSQL is skipped
        };
        let db = Arc::new(db);
        // The owner migrates; the server's role is given the documented grants.
        drop(db.store().await);
        let role = ServerRole::create(&db).await;
        let url = role.url();

        // Every table and sequence of the database is named by the grants.
        let mut as_role = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect as the role");
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
             UNION ALL SELECT sequence_name::text FROM information_schema.sequences \
             WHERE sequence_schema = 'public'",
        )
        .fetch_all(&mut as_role)
        .await
        .expect("the tables");
        assert!(tables.len() > 5, "{tables:?}");
        for (table,) in &tables {
            assert!(
                GRANTS.contains(&format!(" ON {table} TO"))
                    || GRANTS.contains(&format!(" ON SEQUENCE {table} TO")),
                "docs/postgres-server-role.sql says nothing of {table}"
            );
        }

        // A server started as the role (migrate, unlock, first tokens) does everything.
        let store = Store::connect(&url)
            .await
            .expect("connect the store as the role");
        store
            .migrate()
            .await
            .expect("an up-to-date database needs no schema change");
        store
            .unlock(kit::test_master_key())
            .await
            .expect("the master key");
        let app = TestApp::with_store(db.clone(), store).await;
        let id = kit::rich_project(&app).await;
        let keyed = app
            .send(
                app.request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("idempotency-key", "role-1")
                .json(&kit::facts::reward("p1", None)),
            )
            .await
            .json_with(201);
        let again = app
            .send(
                app.request(
                    Method::POST,
                    &format!("/projects/{id}/events"),
                    Some(&app.tokens.recorder),
                )
                .header("idempotency-key", "role-1")
                .json(&kit::facts::reward("p1", None)),
            )
            .await
            .json_with(201);
        assert_eq!(again, keyed);
        app.get(
            Some(&app.tokens.assurance),
            &format!("/projects/{id}/assessment"),
        )
        .await
        .expect(200);
        app.post(
            Some(&app.tokens.assurance),
            &format!("/projects/{id}/assessments"),
            &json!({"purpose": "Panel"}),
        )
        .await
        .expect(201);
        let verified = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(verified["valid"], true, "{verified}");
        app.get(Some(&app.tokens.assurance), "/portfolio")
            .await
            .expect(200);
        let erased = app
            .post(
                Some(&app.tokens.admin),
                &format!("/projects/{id}/participants/p2/erase"),
                &json!({"reason": "Asked.", "legal_basis": "UK GDPR Article 17(1)(b)"}),
            )
            .await
            .json_with(201);
        assert_eq!(erased["residue"]["database_clean"], true, "{erased}");
        assert_eq!(erased["residue"]["vacuumed"], true, "{erased}");
        app.store.catch_up().await.expect("the catch-up reader");
        assert_eq!(app.trail(&id).await.len() as u64, app.sequence(&id).await);
        app.store
            .set_checkpoint_key(coprod::checkpoint_key::generate());
        let made = app
            .store
            .make_checkpoint(false)
            .await
            .expect("a checkpoint");
        assert!(made.is_some(), "a checkpoint of the project");

        // The log cannot be changed: by permission, before the append-only trigger.
        for sql in [
            "UPDATE events SET event_type = event_type",
            "DELETE FROM events",
            "TRUNCATE events",
            "UPDATE checkpoints SET signed = signed",
            "DELETE FROM checkpoint_heads",
            "DROP TRIGGER events_no_update_or_delete ON events",
            "CREATE TABLE events_copy (id int)",
        ] {
            let error = sqlx::query(sql).execute(&mut as_role).await.expect_err(sql);
            let code = error
                .as_database_error()
                .and_then(|e| e.code())
                .map(|code| code.into_owned());
            // 42501: insufficient_privilege; the trigger would raise P0001.
            assert_eq!(code.as_deref(), Some("42501"), "{sql}: {error}");
        }
        as_role.close().await.ok();
        app.stop().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(role);
    }
}
