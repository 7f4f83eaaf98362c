//! Reads from a PostgreSQL streaming replica (`coprod serve --read-database`), against the real
//! parts: a throwaway primary cluster, a hot standby made of it with `pg_basebackup -R` and
//! started with `pg_ctl` on a port of its own, and `coprod serve` as child processes. Its replay
//! is paused to make it lag on purpose (a participant erased meanwhile reads as erased from it
//! at once), and it is stopped and started again while the server serves.
//!
//! Also, on both stores: `min_sequence` and `Coprod-Min-Sequence` accepted by the reads, and
//! refused when malformed; and the bad `--read-database` values refused at start.
//!
//! The PostgreSQL tests are skipped loudly when `initdb`/`pg_ctl`/`pg_basebackup` cannot be
//! found (or `DATABASE_URL` names no PostgreSQL), unless `COPROD_REQUIRE_POSTGRES=1`.

#[path = "faults/cluster.rs"]
#[allow(dead_code)]
mod cluster;
#[path = "kit/mod.rs"]
mod kit;
#[path = "faults/server.rs"]
#[allow(dead_code)]
mod server;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

use cluster::Cluster;
use kit::facts::{joined, registration, stage_started};
use kit::refusals::{assert_all_refused, refused, Request};
use server::{coprod, create_token, free_port, Server};

/// Runs blocking work (a child process) without stalling the runtime.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// A client of one `coprod serve` process.
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            base: base.to_string(),
        }
    }

    /// Sends a request; never a 5xx.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        header: Option<(&str, String)>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        assert!(status < 500, "{method} {path}: {status} {text}");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, token, None, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn get_needing(&self, path: &str, token: &str, needs: String) -> Value {
        let header = Some(("Coprod-Min-Sequence", needs));
        let (status, body) = self.send(Method::GET, path, token, header, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, answer) = self
            .send(Method::POST, path, token, None, Some(&body))
            .await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        answer
    }

    async fn readyz(&self) -> Value {
        self.get("/readyz", "").await
    }

    /// How many reads the primary and the replica have answered, from `/metrics`.
    async fn reads(&self, admin: &str) -> (u64, u64) {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(admin)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        let count = |from: &str| {
            text.lines()
                .filter(|line| line.starts_with("coprod_reads_total{"))
                .filter(|line| line.contains(&format!("from=\"{from}\"")))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
                .sum()
        };
        (count("primary"), count("replica"))
    }

    /// Runs `read` and says which database answered it.
    async fn answered_by<T>(
        &self,
        admin: &str,
        read: impl AsyncFnOnce() -> T,
    ) -> (&'static str, T) {
        let (primary, replica) = self.reads(admin).await;
        let answer = read().await;
        let (primary_after, replica_after) = self.reads(admin).await;
        let by = match (primary_after - primary, replica_after - replica) {
            (1, 0) => "primary",
            (0, 1) => "replica",
            other => panic!("one read counted as {other:?} (primary, replica)"),
        };
        (by, answer)
    }
}

/// Signs in to the pages with `token` as a browser would; the session's `Cookie` header.
async fn sign_in_to_pages(base: &str, token: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let value_of = |response: &reqwest::Response, name: &str| -> Option<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))?
                    .split(';')
                    .next()
                    .map(str::to_string)
            })
    };
    let form = browser
        .get(format!("{base}/"))
        .send()
        .await
        .expect("the sign-in page");
    let csrf = value_of(&form, "coprod_sign_in").expect("the sign-in cookie");
    let signed_in = browser
        .post(format!("{base}/sign-in"))
        .header("cookie", format!("coprod_sign_in={csrf}"))
        .header("origin", base)
        .form(&[("token", token), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("signing in");
    assert_eq!(signed_in.status(), 303, "signing in");
    let session = value_of(&signed_in, "coprod_session").expect("a session cookie");
    format!("coprod_session={session}")
}

/// A page, read with the session `cookie`: its status.
async fn page_status(base: &str, path: &str, cookie: &str) -> u16 {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = browser
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("a page");
    let status = page.status().as_u16();
    assert!(status < 500, "{path}: {status}");
    status
}

/// Waits until the replica holds `project`'s entry `sequence` and a view at least that new.
async fn wait_until_replica_holds(replica_url: &str, project: &str, sequence: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut conn = sqlx::PgConnection::connect(replica_url)
            .await
            .expect("connect to the replica");
        let (events, views): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM events WHERE aggregate_id = $1 AND sequence = $2), \
                    (SELECT count(*) FROM project_views WHERE project_id = $1 AND sequence >= $2)",
        )
        .bind(project)
        .bind(sequence)
        .fetch_one(&mut conn)
        .await
        .expect("ask the replica");
        conn.close().await.ok();
        if events == 1 && views == 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not replay {project}'s entry {sequence} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one statement on the replica (as the superuser: pausing replay needs it).
async fn on_replica(replica_url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(replica_url)
        .await
        .expect("connect to the replica");
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// Polls `/readyz` until the replica's status is `status`.
async fn wait_for_replica_status(client: &Client, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client.readyz().await;
        if ready["read_replica"]["status"] == status {
            return ready;
        }
        assert!(
            Instant::now() < deadline,
            "the replica's status did not become {status} within 20 s: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn last_sequence(trail: &Value) -> u64 {
    trail["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["sequence"].as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_replica_answers_reads_never_older_than_a_receipt_and_the_primary_takes_over_when_it_stops(
) {
    let test = "a_streaming_replica_answers_reads…";
    let Some(primary) = blocking(Cluster::start) else {
        cluster::skip_or_fail(test);
        return;
    };
    kit::note_backend(kit::Backend::Postgres);
    let database = primary.create_database("coprod").await;
    let migrated = blocking(|| coprod(&database, &["migrate"]));
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let recorder = blocking(|| create_token(&database, "recorder", "oxfordshire"));
    let admin = blocking(|| create_token(&database, "admin", "*"));
    let replica = blocking(|| Cluster::replica_of(&primary));
    let replica_url = replica.url("coprod");
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("server.log");
    let server = Server::spawn_with(
        "replicated",
        &database,
        free_port(),
        &log,
        &["--read-database", &replica_url],
    )
    .await;
    let client = Client::new(&server.base);

    let ready = wait_for_replica_status(&client, "serving").await;
    assert_eq!(ready["status"], "ready", "{ready}");

    // Written to the primary; read from the replica once it has replayed them.
    let receipt = client
        .post(
            "/api/v1/projects",
            &recorder,
            registration("Carers' strategy refresh", "oxfordshire"),
        )
        .await;
    let id = receipt["project_id"]
        .as_str()
        .expect("project_id")
        .to_string();
    let receipt = client
        .post(
            &format!("/api/v1/projects/{id}/events"),
            &recorder,
            joined("carer-01", "carer", &["carers"]),
        )
        .await;
    assert_eq!(receipt["last_sequence"], 2, "{receipt}");
    wait_until_replica_holds(&replica_url, &id, 2).await;
    let trail = format!("/api/v1/projects/{id}/events");
    let (by, page) = client
        .answered_by(&admin, async || client.get(&trail, &admin).await)
        .await;
    assert_eq!((by, last_sequence(&page)), ("replica", 2), "{page}");

    // The replica stops replaying: it lags on purpose.
    on_replica(&replica_url, "SELECT pg_wal_replay_pause()").await;
    let receipt = client
        .post(
            &format!("/api/v1/projects/{id}/events"),
            &recorder,
            stage_started("commission"),
        )
        .await;
    assert_eq!(receipt["last_sequence"], 3, "{receipt}");

    // Without a receipt, a reader may see the replica's older state: the documented lag.
    let (by, page) = client
        .answered_by(&admin, async || client.get(&trail, &admin).await)
        .await;
    assert_eq!((by, last_sequence(&page)), ("replica", 2), "{page}");

    // With the receipt, never older than it: the primary answers what the replica lacks.
    let (by, page) = client
        .answered_by(&admin, async || {
            client.get(&format!("{trail}?min_sequence=3"), &admin).await
        })
        .await;
    assert_eq!((by, last_sequence(&page)), ("primary", 3), "{page}");
    let (by, assessment) = client
        .answered_by(&admin, async || {
            client
                .get(
                    &format!("/api/v1/projects/{id}/assessment?min_sequence=3"),
                    &admin,
                )
                .await
        })
        .await;
    assert_eq!((by, &assessment["at_sequence"]), ("primary", &json!(3)));
    let (by, summary) = client
        .answered_by(&admin, async || {
            client
                .get_needing(&format!("/api/v1/projects/{id}"), &admin, format!("{id}:3"))
                .await
        })
        .await;
    assert_eq!(
        (by, &summary["sequence"]),
        ("primary", &json!(3)),
        "{summary}"
    );
    // A read naming the sequence itself (a receipt checked) needs it too.
    let digest = receipt["digest"].as_str().expect("digest");
    let (by, verified) = client
        .answered_by(&admin, async || {
            client
                .get(
                    &format!("/api/v1/projects/{id}/verify?sequence=3&digest={digest}"),
                    &admin,
                )
                .await
        })
        .await;
    assert_eq!(
        (by, &verified["valid"]),
        ("primary", &json!(true)),
        "{verified}"
    );
    // The portfolio: from the replica, unless a receipt it lacks is named.
    let (by, _) = client
        .answered_by(&admin, async || {
            client
                .get("/api/v1/portfolio?organisation=oxfordshire", &admin)
                .await
        })
        .await;
    assert_eq!(by, "replica");
    let (by, _) = client
        .answered_by(&admin, async || {
            client
                .get_needing(
                    "/api/v1/portfolio?organisation=oxfordshire",
                    &admin,
                    format!("{id}:3"),
                )
                .await
        })
        .await;
    assert_eq!(by, "primary");
    // The pages alike: from the replica, or from the primary for a receipt it lacks.
    let session = sign_in_to_pages(&server.base, &admin).await;
    let page = format!("/projects/{id}/trail");
    let (by, status) = client
        .answered_by(&admin, async || {
            page_status(&server.base, &page, &session).await
        })
        .await;
    assert_eq!((by, status), ("replica", 200));
    let (by, status) = client
        .answered_by(&admin, async || {
            page_status(&server.base, &format!("{page}?min_sequence=3"), &session).await
        })
        .await;
    assert_eq!((by, status), ("primary", 200));
    let lagging = client.readyz().await;
    assert_eq!(lagging["read_replica"]["status"], "serving", "{lagging}");

    // A server that allows the replica only a second behind sets it aside while it lags, and
    // its reads go to the primary, receipt or not.
    let strict = Server::spawn_with(
        "strict",
        &database,
        free_port(),
        &dir.path().join("strict.log"),
        &["--read-database", &replica_url, "--read-max-lag", "1"],
    )
    .await;
    let strict_client = Client::new(&strict.base);
    let set_aside = wait_for_replica_status(&strict_client, "lagging").await;
    assert!(
        set_aside["read_replica"]["replay_lag_seconds"]
            .as_f64()
            .is_some_and(|lag| lag > 1.0),
        "{set_aside}"
    );
    assert_eq!(set_aside["status"], "ready", "{set_aside}");
    let (by, page) = strict_client
        .answered_by(&admin, async || strict_client.get(&trail, &admin).await)
        .await;
    assert_eq!((by, last_sequence(&page)), ("primary", 3), "{page}");
    drop(strict);

    // An erasure takes effect on the replica's reads at once, before the replica has replayed
    // it: personal data is opened with the primary's data keys only.
    let personal = |page: &Value| page["events"][1]["personal_data"]["groups"].clone();
    let (by, page) = client
        .answered_by(&admin, async || client.get(&trail, &admin).await)
        .await;
    assert_eq!(
        (by, personal(&page)),
        ("replica", json!(["carers"])),
        "{page}"
    );
    let erased = client
        .post(
            &format!("/api/v1/projects/{id}/participants/carer-01/erase"),
            &admin,
            json!({"reason": "Asked to be forgotten", "legal_basis": "UK GDPR Article 17"}),
        )
        .await;
    assert_eq!(erased["sequence"], 4, "{erased}");
    let (by, page) = client
        .answered_by(&admin, async || client.get(&trail, &admin).await)
        .await;
    assert_eq!(
        (by, last_sequence(&page), personal(&page)),
        ("replica", 2, json!("erased")),
        "{page}"
    );

    // Replay resumes: the replica answers the receipt's reads again.
    on_replica(&replica_url, "SELECT pg_wal_replay_resume()").await;
    wait_until_replica_holds(&replica_url, &id, 4).await;
    let (by, page) = client
        .answered_by(&admin, async || {
            client.get(&format!("{trail}?min_sequence=4"), &admin).await
        })
        .await;
    assert_eq!((by, last_sequence(&page)), ("replica", 4), "{page}");

    // The replica stops while the server serves: every read is answered, by the primary.
    blocking(|| replica.stop_fast());
    for round in 0..10 {
        let (by, page) = client
            .answered_by(&admin, async || client.get(&trail, &admin).await)
            .await;
        assert_eq!(
            (by, last_sequence(&page)),
            ("primary", 4),
            "round {round}: {page}"
        );
        let (by, _) = client
            .answered_by(&admin, async || {
                client
                    .get(&format!("/api/v1/projects/{id}/assessment"), &admin)
                    .await
            })
            .await;
        assert_eq!(by, "primary", "round {round}");
    }
    let down = wait_for_replica_status(&client, "unreachable").await;
    assert_eq!(down["status"], "ready", "the primary still serves: {down}");
    // Writes never needed the replica.
    client
        .post(
            &format!("/api/v1/projects/{id}/events"),
            &recorder,
            joined("carer-02", "carer", &["carers"]),
        )
        .await;

    // Back again: it catches up, and is taken back.
    blocking(|| replica.start_server());
    wait_for_replica_status(&client, "serving").await;
    wait_until_replica_holds(&replica_url, &id, 5).await;
    let (by, page) = client
        .answered_by(&admin, async || {
            client.get(&format!("{trail}?min_sequence=5"), &admin).await
        })
        .await;
    assert_eq!((by, last_sequence(&page)), ("replica", 5), "{page}");
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("the read replica is set aside"),
        "the log does not say the replica was set aside:\n{}",
        server.log_tail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_replica_that_does_not_answer_at_start_is_set_aside_and_the_server_says_so() {
    let Some(db) = kit::postgres().await else {
        return;
    };
    let nobody = format!("postgres://postgres@127.0.0.1:{}/coprod", free_port());
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("server.log");
    let server = Server::spawn_with(
        "no replica",
        &db.url,
        free_port(),
        &log,
        &["--read-database", &nobody],
    )
    .await;
    let client = Client::new(&server.base);
    let ready = client.readyz().await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["read_replica"]["status"], "unreachable", "{ready}");
    assert!(
        ready["read_replica"]["reason"].as_str().is_some(),
        "{ready}"
    );
    // /readyz answers anyone: it says neither where the replica is nor its errors' words.
    let port = nobody
        .rsplit(':')
        .next()
        .expect("a port")
        .split('/')
        .next()
        .expect("a port");
    assert!(
        !ready.to_string().contains(port) && !ready.to_string().contains("refused"),
        "/readyz tells where the replica is, or what its error said: {ready}"
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("the read replica does not serve: starting on the primary alone")
            && logged.contains(port),
        "the log says the replica does not answer, and where it was looked for:\n{}",
        server.log_tail()
    );
    let admin = blocking(|| create_token(&db.url, "admin", "*"));
    let (by, listed) = client
        .answered_by(&admin, async || {
            client.get("/api/v1/projects", &admin).await
        })
        .await;
    assert_eq!(by, "primary");
    assert!(listed["projects"].is_array(), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_database_that_cannot_be_a_replica_is_refused_at_start_and_nothing_is_created() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("data/coprod.db");
    let sqlite = format!("sqlite://{}", file.display());
    let cases = [
        (
            sqlite.as_str(),
            "postgres://postgres@127.0.0.1:5432/coprod",
            "a SQLite database has no replica",
        ),
        (
            sqlite.as_str(),
            "sqlite://elsewhere.db",
            "--read-database takes the postgres://",
        ),
        (
            "postgres://postgres@127.0.0.1:5432/coprod",
            "mysql://replica/coprod",
            "--read-database takes the postgres://",
        ),
    ];
    for (database, read_database, said) in cases {
        let output = blocking(|| {
            coprod(
                database,
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--read-database",
                    read_database,
                ],
            )
        });
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{read_database}: {stderr}");
        assert!(stderr.contains(said), "{read_database}: {stderr}");
    }
    for (words, said) in [
        (vec!["serve", "--read-max-lag", "5"], "--read-database"),
        (
            vec![
                "serve",
                "--read-database",
                "postgres://postgres@127.0.0.1:5432/coprod",
                "--read-max-lag",
                "0",
            ],
            "--read-max-lag",
        ),
        (
            vec![
                "serve",
                "--read-database",
                "postgres://postgres@127.0.0.1:5432/coprod",
                "--read-max-lag",
                "a minute",
            ],
            "--read-max-lag",
        ),
    ] {
        let output = blocking(|| coprod(&sqlite, &words));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{words:?}: {stderr}");
        assert!(stderr.contains(said), "{words:?}: {stderr}");
    }
    assert!(
        !file.exists(),
        "nothing is created when the start is refused"
    );
}

#[tokio::test]
async fn every_read_takes_min_sequence_and_the_header_and_refuses_them_malformed() {
    kit::each_backend(async |app| {
        let id = app.new_project().await;
        app.record(&id, joined("carer-01", "carer", &["carers"]))
            .await;
        let admin = app.tokens.admin.clone();
        // Accepted (and taken out of the address before the handler reads its query): with no
        // replica, the primary answers every one.
        for path in [
            format!("/projects/{id}?min_sequence=2"),
            format!("/projects/{id}/events?min_sequence=1&limit=10"),
            format!("/projects/{id}/assessment?min_sequence=2&at_sequence=1"),
            format!("/projects/{id}/assessments?min_sequence=2"),
            format!("/projects/{id}/verify?min_sequence=2"),
        ] {
            app.get(Some(&admin), &path).await.expect(200);
        }
        let with_header = app
            .send(
                app.request(Method::GET, "/portfolio", Some(&admin))
                    .header("Coprod-Min-Sequence", format!("{id}:2, {id}:1")),
            )
            .await;
        with_header.expect(200);
        let trail = app
            .get(
                Some(&admin),
                &format!("/projects/{id}/events?min_sequence=2"),
            )
            .await;
        assert_eq!(trail.json()["events"].as_array().map(Vec::len), Some(2));

        let header = |value: String| {
            Request::get(format!("/projects/{id}/events")).with_header("Coprod-Min-Sequence", value)
        };
        let too_many: Vec<String> = (0..101).map(|_| format!("{id}:1")).collect();
        assert_all_refused(
            app,
            Some(&id),
            vec![
                refused(
                    "min_sequence 0",
                    Request::get(format!("/projects/{id}/events?min_sequence=0")),
                    400,
                    "validation_failed",
                )
                .at("min_sequence"),
                refused(
                    "min_sequence not a number",
                    Request::get(format!("/projects/{id}/assessment?min_sequence=three")),
                    400,
                    "validation_failed",
                )
                .at("min_sequence"),
                refused(
                    "min_sequence negative",
                    Request::get(format!("/projects/{id}?min_sequence=-1")),
                    400,
                    "validation_failed",
                )
                .at("min_sequence"),
                refused(
                    "min_sequence twice",
                    Request::get(format!(
                        "/projects/{id}/events?min_sequence=1&min_sequence=2"
                    )),
                    400,
                    "validation_failed",
                )
                .at("min_sequence"),
                refused(
                    "min_sequence beyond what a sequence can be",
                    Request::get(format!(
                        "/projects/{id}/events?min_sequence=99999999999999999999"
                    )),
                    400,
                    "validation_failed",
                )
                .at("min_sequence"),
                refused(
                    "min_sequence on an address of no project",
                    Request::get("/portfolio?min_sequence=1"),
                    400,
                    "validation_failed",
                )
                .at("min_sequence")
                .and("says to use the header", |p| {
                    p["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("Coprod-Min-Sequence"))
                }),
                refused(
                    "header without a project",
                    header("2".into()),
                    400,
                    "validation_failed",
                )
                .at("Coprod-Min-Sequence"),
                refused(
                    "header with a project that is not an id",
                    header("carers:2".into()),
                    400,
                    "validation_failed",
                )
                .at("Coprod-Min-Sequence"),
                refused(
                    "header with sequence 0",
                    header(format!("{id}:0")),
                    400,
                    "validation_failed",
                )
                .at("Coprod-Min-Sequence"),
                refused(
                    "header with an empty item",
                    header(format!("{id}:1,")),
                    400,
                    "validation_failed",
                )
                .at("Coprod-Min-Sequence"),
                refused(
                    "header naming too many projects",
                    header(too_many.join(",")),
                    400,
                    "validation_failed",
                )
                .at("Coprod-Min-Sequence"),
            ],
        )
        .await;

        // The OpenAPI document says which reads take them.
        let document = app.get(None, "/openapi.json").await.json_with(200);
        let parameters = |path: &str, method: &str| -> Vec<String> {
            document["paths"][path][method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        };
        for path in [
            "/api/v1/projects/{id}",
            "/api/v1/projects/{id}/events",
            "/api/v1/projects/{id}/assessment",
            "/api/v1/projects/{id}/verify",
        ] {
            let names = parameters(path, "get");
            assert!(
                names.iter().any(|n| n == "min_sequence")
                    && names.iter().any(|n| n == "Coprod-Min-Sequence"),
                "GET {path}: {names:?}"
            );
        }
        let portfolio = parameters("/api/v1/portfolio", "get");
        assert!(
            portfolio.iter().any(|n| n == "Coprod-Min-Sequence")
                && !portfolio.iter().any(|n| n == "min_sequence"),
            "{portfolio:?}"
        );
        let posting = parameters("/api/v1/projects/{id}/events", "post");
        assert!(!posting.iter().any(|n| n == "min_sequence"), "{posting:?}");
        let ready = parameters("/readyz", "get");
        assert!(
            !ready.iter().any(|n| n == "Coprod-Min-Sequence"),
            "{ready:?}"
        );

        // The pages refuse it as a page, with the pages' headers.
        let page = app
            .get(None, &format!("//projects/{id}/trail?min_sequence=soon"))
            .await;
        assert_eq!(page.status.as_u16(), 400, "{}", page.text());
        assert!(
            page.content_type().starts_with("text/html"),
            "{}",
            page.content_type()
        );
        assert!(page.header("content-security-policy").is_some());
        assert!(page.text().contains("min_sequence"), "{}", page.text());
    })
    .await;
}
