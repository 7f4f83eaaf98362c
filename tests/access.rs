//! Access across servers and over time: web sessions kept in the database (shared by every
//! server, surviving a restart, ended everywhere by sign-out), tokens that expire and are
//! revoked (refused by every server within a second), the token commands, and rate limits.
//!
//! The tests of several servers start the real `coprod serve` binary as child processes over
//! one database (a fresh PostgreSQL database on the server `DATABASE_URL` names, or a
//! throwaway cluster; skipped loudly without one, unless `COPROD_REQUIRE_POSTGRES=1`); the
//! others run a server in process on each backend (`kit::each_backend_with_clock`).

#[path = "kit/mod.rs"]
mod kit;
#[allow(dead_code)]
#[path = "faults/server.rs"]
mod server;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use kit::{TestDb, Visitor};
use server::{coprod, create_token, free_port, Server};

/// One multi-process test at a time (they share two cores with everything else).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn logs() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("coprod-access-")
        .tempdir()
        .expect("temporary directory")
}

/// A migrated database of each backend (`coprod migrate`, as an operator would).
async fn migrated_backends() -> Vec<TestDb> {
    let dbs = kit::backends().await;
    for db in &dbs {
        let out = coprod(&db.url, &["migrate"]);
        assert!(
            out.status.success(),
            "[{}] migrate: {}",
            db.backend,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dbs
}

/// A fresh, migrated PostgreSQL database, or `None` (said loudly) without PostgreSQL.
async fn postgres() -> Option<TestDb> {
    let db = kit::postgres().await?;
    let out = coprod(&db.url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(db)
}

async fn api(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = client.request(method, &url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    assert!(status < 500, "{url}: {status} {body}");
    (status, body, headers)
}

/// `token`'s id, as the token list gives it.
fn id_of(token: &str) -> String {
    coprod::store::token_id(token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_session_made_on_one_server_is_valid_on_the_other_and_sign_out_ends_it_on_both()
{
    let _serial = SERIAL.lock().await;
    let Some(db) = postgres().await else { return };
    let logs = logs();
    let a = Server::spawn("A", &db.url, free_port(), &logs.path().join("a.log")).await;
    let b = Server::spawn("B", &db.url, free_port(), &logs.path().join("b.log")).await;
    let token = create_token(&db.url, "assurance", "oxfordshire");

    let mut visitor = Visitor::new();
    visitor.sign_in(&a.base, &token).await;
    assert!(visitor.get(&a.base, "/projects").await.signed_in());
    let on_b = visitor.get(&b.base, "/projects").await;
    assert!(
        on_b.signed_in(),
        "B does not know A's session: {}",
        on_b.status
    );

    // Only hashes are kept: neither the session's id nor the token is in the database.
    let session = visitor.session.clone().expect("a session");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT session_hash, token_hash FROM web_sessions")
            .fetch_all(&pool)
            .await
            .expect("sessions");
    assert_eq!(kept.len(), 1);
    assert_ne!(kept[0].0, session);
    assert_eq!(kept[0].1, coprod::store::token_hash(&token));
    pool.close().await;

    // Signing out on B ends the session on A too.
    let out = visitor.sign_out(&b.base).await;
    assert_eq!(out.status, 303);
    let on_a = visitor.get(&a.base, "/projects").await;
    assert_eq!(
        on_a.status, 401,
        "A still shows the page after sign-out on B"
    );
    assert!(!on_a.signed_in());
    assert!(
        on_a.body.contains("Your session has ended"),
        "{}",
        on_a.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_token_revoked_on_one_server_is_refused_by_the_other_within_a_second() {
    let _serial = SERIAL.lock().await;
    let Some(db) = postgres().await else { return };
    revoked_on_one_server_refused_by_the_other_within_a_second(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_token_revoked_by_one_process_is_refused_by_another_within_a_second() {
    let _serial = SERIAL.lock().await;
    let db = kit::sqlite();
    assert!(coprod(&db.url, &["migrate"]).status.success());
    revoked_on_one_server_refused_by_the_other_within_a_second(&db.url).await;
}

/// Two servers over `database`: a token B has found (and keeps), and a session on B opened
/// with it, revoked through A's API, then with `coprod token revoke`: B refuses the token with
/// 401 `token_revoked` within a second, and the session's next page says so.
async fn revoked_on_one_server_refused_by_the_other_within_a_second(database: &str) {
    let logs = logs();
    let a = Server::spawn("A", database, free_port(), &logs.path().join("a.log")).await;
    let b = Server::spawn("B", database, free_port(), &logs.path().join("b.log")).await;
    let admin = create_token(database, "admin", "*");
    let client = reqwest::Client::new();
    let get = reqwest::Method::GET;

    for how in ["the API on A", "coprod token revoke"] {
        let token = create_token(database, "recorder", "oxfordshire");
        // B has found the token (and keeps it), and a session on B was opened with it.
        let projects = format!("{}/api/v1/projects", b.base);
        let (status, _, _) = api(&client, get.clone(), projects.clone(), &token, None).await;
        assert_eq!(status, 200);
        let mut visitor = Visitor::new();
        visitor.sign_in(&b.base, &token).await;

        let revoked_at = Instant::now();
        match how {
            "the API on A" => {
                let url = format!("{}/api/v1/tokens/{}", a.base, id_of(&token));
                let (status, record, _) =
                    api(&client, reqwest::Method::DELETE, url, &admin, None).await;
                assert_eq!(status, 200, "{record}");
                assert_eq!(record["status"], "revoked");
            }
            _ => {
                let out = coprod(database, &["token", "revoke", &id_of(&token)]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let refused = loop {
            let (status, body, _) = api(&client, get.clone(), projects.clone(), &token, None).await;
            if status == 401 {
                break (revoked_at.elapsed(), body);
            }
            assert_eq!(status, 200);
            assert!(
                revoked_at.elapsed() < Duration::from_secs(5),
                "B still accepts a token revoked through {how}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let (elapsed, problem) = refused;
        assert_eq!(problem["code"], "token_revoked", "{problem}");
        assert!(
            elapsed < Duration::from_secs(1),
            "B refused a token revoked through {how} only after {elapsed:?}"
        );
        eprintln!("revoked through {how}: B refused it after {elapsed:?}");
        // Its session on B has ended too.
        let page = visitor.get(&b.base, "/projects").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("no longer accepted"), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_survive_a_restart_of_the_server() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    for db in migrated_backends().await {
        let log = logs.path().join(format!("{}.log", db.backend));
        let mut server = Server::spawn("server", &db.url, free_port(), &log).await;
        let token = create_token(&db.url, "panel", "oxfordshire");
        let mut visitor = Visitor::new();
        visitor.sign_in(&server.base, &token).await;
        server.kill();
        server.start().await;
        let page = visitor.get(&server.base, "/projects").await;
        assert!(
            page.signed_in(),
            "[{}] the session did not survive a restart: {}",
            db.backend,
            page.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_past_the_rate_limits_are_answered_429_with_retry_after() {
    let _serial = SERIAL.lock().await;
    let logs = logs();
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("coprod.db").display());
    assert!(coprod(&database, &["migrate"]).status.success());
    let limits = ["--sign-in-limit", "3/min", "--api-limit", "5/min"];
    let server = Server::spawn_with(
        "limited",
        &database,
        free_port(),
        &logs.path().join("l.log"),
        &limits,
    )
    .await;
    let client = reqwest::Client::new();
    let (first, second) = (
        create_token(&database, "recorder", "oxfordshire"),
        create_token(&database, "recorder", "oxfordshire"),
    );

    // API requests: five a minute for each token.
    let projects = format!("{}/api/v1/projects", server.base);
    for _ in 0..5 {
        let (status, _, _) = api(
            &client,
            reqwest::Method::GET,
            projects.clone(),
            &first,
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, problem, headers) = api(
        &client,
        reqwest::Method::GET,
        projects.clone(),
        &first,
        None,
    )
    .await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(headers["content-type"], "application/problem+json");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry_after), "Retry-After {retry_after}");
    let (status, _, _) = api(
        &client,
        reqwest::Method::GET,
        projects.clone(),
        &second,
        None,
    )
    .await;
    assert_eq!(status, 200, "another token is not limited by the first");

    // Sign-in attempts: three a minute from each address; without --trust-proxy,
    // X-Forwarded-For is not believed.
    let mut visitor = Visitor::new();
    for attempt in 0..3 {
        let answer = visitor
            .sign_in_from(
                &server.base,
                "coprod_wrong",
                Some(&format!("203.0.113.{attempt}")),
            )
            .await;
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let answer = visitor
        .sign_in_from(&server.base, &second, Some("198.51.100.9"))
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert!(
        answer.body.contains(r#""code":"rate_limited""#),
        "{}",
        answer.body
    );
    let retry_after: u64 = answer.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    drop(server);

    // Behind a proxy (--trust-proxy) each client address has its own attempts: the last
    // address in X-Forwarded-For, the one the proxy saw.
    let flags = ["--sign-in-limit", "2/min", "--trust-proxy"];
    let proxied = Server::spawn_with(
        "proxied",
        &database,
        free_port(),
        &logs.path().join("p.log"),
        &flags,
    )
    .await;
    for _ in 0..2 {
        let answer = visitor
            .sign_in_from(&proxied.base, "coprod_wrong", Some("203.0.113.7"))
            .await;
        assert_eq!(answer.status, 401);
    }
    let claimed = visitor
        .sign_in_from(
            &proxied.base,
            "coprod_wrong",
            Some("192.0.2.1, 203.0.113.7"),
        )
        .await;
    assert_eq!(
        claimed.status, 429,
        "a claimed address let the client past the limit"
    );
    let other = visitor
        .sign_in_from(&proxied.base, &second, Some("203.0.113.8"))
        .await;
    assert_eq!(
        other.status, 303,
        "another address is limited by the first: {}",
        other.body
    );

    // Guessing tokens at the API counts against the address's sign-in attempts (each guess is
    // a token of its own, so the limit per token would not stop it); a valid token does not.
    let from = |token: &str, address: &str| {
        client
            .get(format!("{}/api/v1/projects", proxied.base))
            .bearer_auth(token)
            .header("x-forwarded-for", address)
            .send()
    };
    for guess in 0..2 {
        let answer = from(&format!("coprod_guess{guess}"), "203.0.113.50")
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "guess {guess}");
    }
    let refused = from("coprod_guess2", "203.0.113.50").await.unwrap();
    assert_eq!(refused.status(), 429, "a third guess from one address");
    assert!(refused.headers().contains_key("retry-after"));
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "rate_limited");
    let valid = from(&second, "203.0.113.50").await.unwrap();
    assert_eq!(
        valid.status(),
        200,
        "a valid token is not held back by the guesses"
    );
    let elsewhere = from("coprod_guess3", "203.0.113.51").await.unwrap();
    assert_eq!(
        elsewhere.status(),
        401,
        "another address's guesses are its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_serve_settings_stop_the_server_naming_what_is_accepted() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = format!("sqlite://{}", dir.path().join("coprod.db").display());
    let rate_limit_forms: &[&str] = &["10/min", "off"];
    for (flag, value, accepted) in [
        ("--api-limit", "10/minute", rate_limit_forms),
        ("--sign-in-limit", "0/min", rate_limit_forms),
        ("--sign-in-limit", "lots", rate_limit_forms),
        ("--worker-threads", "0", &["1..=1024"]),
        ("--worker-threads", "1025", &["1..=1024"]),
        ("--worker-threads", "-1", &[]),
        ("--worker-threads", "two", &[]),
    ] {
        let out = coprod(
            &database,
            &["serve", "--listen", "127.0.0.1:0", flag, value],
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(flag) && accepted.iter().all(|form| said.contains(form)),
            "{flag} {value}: {said}"
        );
        assert!(
            !dir.path().join("coprod.db").exists(),
            "a database was made"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_commands_create_list_and_revoke_and_refuse_bad_input() {
    for db in migrated_backends().await {
        let backend = db.backend;
        let out = coprod(
            &db.url,
            &[
                "token",
                "create",
                "--role",
                "panel",
                "--org",
                "oxfordshire",
                "--label",
                "Cllr Smith",
                "--expires-in",
                "90d",
            ],
        );
        assert!(
            out.status.success(),
            "[{backend}] {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let token = stdout.lines().last().expect("the token").to_string();
        assert!(
            token.starts_with("coprod_") && token.len() == 71,
            "[{backend}] {stdout:?}"
        );
        let id = id_of(&token);
        assert!(String::from_utf8_lossy(&out.stderr).contains(&id));

        let out = coprod(&db.url, &["token", "list", "--json"]);
        assert!(out.status.success());
        let listed = String::from_utf8(out.stdout).unwrap();
        assert!(
            !listed.contains(&token),
            "[{backend}] the list shows the token"
        );
        let listed: Vec<Value> = serde_json::from_str(&listed).expect("JSON");
        assert_eq!(listed.len(), 1);
        let record = &listed[0];
        for field in [
            "id",
            "label",
            "role",
            "organisation",
            "created_at",
            "expires_at",
            "last_used_at",
        ] {
            assert!(
                record.get(field).is_some(),
                "[{backend}] no {field}: {record}"
            );
        }
        assert_eq!(record["id"], id.as_str());
        assert_eq!(record["label"], "Cllr Smith");
        assert_eq!(record["role"], "panel");
        assert_eq!(record["organisation"], "oxfordshire");
        assert_eq!(record["last_used_at"], Value::Null);
        assert_eq!(record["status"], "active");
        let parse = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(record[field].as_str().expect(field)).expect(field)
        };
        assert_eq!(
            (parse("expires_at") - parse("created_at")).num_days(),
            90,
            "[{backend}] {record}"
        );

        let table = coprod(&db.url, &["token", "list"]);
        let table = String::from_utf8(table.stdout).unwrap();
        assert!(table.starts_with("ID "), "{table}");
        assert!(table.contains(&id) && table.contains("Cllr Smith") && !table.contains(&token));

        let out = coprod(&db.url, &["token", "revoke", &id]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = coprod(&db.url, &["token", "list", "--json"]);
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(listed[0]["status"], "revoked");
        assert!(listed[0]["revoked_at"].is_string());
        let store = db.connect().await;
        assert_eq!(
            store.check_token(&token).await.unwrap(),
            coprod::store::TokenCheck::Revoked
        );

        // Bad input: a clear message, exit 2, nothing made or revoked.
        for (args, says) in [
            (
                vec!["token", "revoke", "0123456789abcdef"],
                "no token has the id '0123456789abcdef'",
            ),
            (
                vec!["token", "revoke", "not-an-id"],
                "16 hexadecimal digits",
            ),
            (
                vec![
                    "token",
                    "create",
                    "--role",
                    "panel",
                    "--org",
                    "x",
                    "--expires-in",
                    "90",
                ],
                "a whole number followed by m (minutes), h (hours), d (days) or w (weeks)",
            ),
            (
                vec![
                    "token",
                    "create",
                    "--role",
                    "panel",
                    "--org",
                    "x",
                    "--expires-in",
                    "0d",
                ],
                "e.g. 90d",
            ),
            (
                vec![
                    "token",
                    "create",
                    "--role",
                    "panel",
                    "--org",
                    "x",
                    "--expires-in",
                    "3 months",
                ],
                "--expires-in",
            ),
        ] {
            let out = coprod(&db.url, &args);
            assert_eq!(out.status.code(), Some(2), "[{backend}] {args:?}");
            assert!(out.stdout.is_empty(), "[{backend}] {args:?}");
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(said.contains(says), "[{backend}] {args:?}: {said}");
        }
        assert_eq!(store.token_count().await.unwrap(), 1, "[{backend}]");
    }
}

/// 2025-06-02 09:00 UTC, where the clock of the session tests starts.
fn nine_am() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_two_idle_hours_or_twelve_in_all_and_its_row_is_removed() {
    kit::each_backend_with_clock(nine_am(), async |app| {
        let clock = app.store.clock().clone();
        let minutes = |n: i64| chrono::Duration::minutes(n);

        // Idle: a page at 1 h 59 min keeps it; 2 h and a minute more without one ends it.
        let mut visitor = Visitor::new();
        visitor.sign_in(&app.base, &app.tokens.assurance).await;
        clock.set(nine_am() + minutes(119));
        assert!(visitor.get(&app.base, "/projects").await.signed_in());
        clock.set(nine_am() + minutes(119 + 122));
        let page = visitor.get(&app.base, "/projects").await;
        assert_eq!(page.status, 401, "[{}] idle for 2 h 2 min", app.backend);
        assert!(page.body.contains("Your session has ended"));

        // In all: a page every hour keeps it for 12 hours, not a minute more.
        let start = clock.now();
        visitor.sign_in(&app.base, &app.tokens.assurance).await;
        for hour in 1..=12 {
            clock.set(start + chrono::Duration::hours(hour) - minutes(1));
            let page = visitor.get(&app.base, "/projects").await;
            assert!(page.signed_in(), "[{}] ended after {hour} h", app.backend);
        }
        clock.set(start + chrono::Duration::hours(12) + minutes(1));
        assert_eq!(visitor.get(&app.base, "/projects").await.status, 401);

        // A session left alone is removed by the clean-up.
        visitor.sign_in(&app.base, &app.tokens.panel).await;
        assert_eq!(app.store.remove_expired_sessions().await.unwrap(), 0);
        clock.set(clock.now() + minutes(121));
        assert_eq!(app.store.remove_expired_sessions().await.unwrap(), 1);
        assert_eq!(visitor.get(&app.base, "/projects").await.status, 401);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_401_token_expired_and_its_sessions_end() {
    kit::each_backend_with_clock(nine_am(), async |app| {
        let admin = Some(app.tokens.admin.as_str());
        let made = app
            .post(
                admin,
                "/tokens",
                &json!({"role": "recorder", "organisation": "oxfordshire", "expires_in": "90m"}),
            )
            .await
            .json_with(201);
        let token = made["token"].as_str().expect("token").to_string();
        assert_eq!(made["expires_at"], "2025-06-02T10:30:00.000000Z");
        app.get(Some(&token), "/projects").await.expect(200);
        let mut visitor = Visitor::new();
        visitor.sign_in(&app.base, &token).await;

        app.store
            .clock()
            .set(nine_am() + chrono::Duration::minutes(90));
        app.get(Some(&token), "/projects")
            .await
            .problem(401, "token_expired");
        let page = visitor.get(&app.base, "/projects").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("no longer accepted"), "{}", page.body);
        let again = visitor.sign_in_from(&app.base, &token, None).await;
        assert_eq!(again.status, 401);
        assert!(again.body.contains("That token has expired"));
        let listed = app.get(admin, "/tokens").await.json_with(200);
        let record = listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == made["id"])
            .expect("listed")
            .clone();
        assert_eq!(record["status"], "expired");
    })
    .await;
}
