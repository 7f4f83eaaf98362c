//! The first run: `coprod serve --demo` and its four stories, and what a newcomer stumbles on with
//! the command line.
//!
//! The ratings each story is meant to earn are written down here, from what the story tells:
//!
//! - (a) the carers' strategy, co-produced from the start, meets most of the test; it did not
//!   reach one of its priority groups.
//! - (b) the home care redesign is consultation dressed up: people were asked late, by survey,
//!   two were sent a voucher weeks later, and officers decided alone.
//! - (c) clearer letters starts as officers' work, is criticised by the panel in May, then
//!   corrects its record, pays people late, appoints a co-chair and shares what is left.
//! - (d) the day centre closure is a consultation whose outcome officers decided.

mod kit;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use coprod::clock::Clock;
use coprod::demo::{self, Contents, DemoError, Prepared};
use coprod::store::{AccessRole, Store};
use coprod::{build_app, AppState};
use coprod_domain::seal::SealOutcome;
use coprod_domain::{CommandContext, ProjectCommand, ProjectRegistered};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

use kit::TestDb;

const CARERS_STRATEGY: &str = "de300000-2025-4000-8000-00000000000a";
const HOME_CARE_REDESIGN: &str = "de300000-2025-4000-8000-00000000000b";
const CLEARER_LETTERS: &str = "de300000-2025-4000-8000-00000000000c";
const DAY_CENTRE_CLOSURE: &str = "de300000-2025-4000-8000-00000000000d";

/// The six criteria, in the rubric's order.
const CRITERIA: [&str; 6] = [
    "whole_life_involvement",
    "blurred_boundaries",
    "reciprocal_reward",
    "diverse_group_involvement",
    "equal_valuation_of_assets",
    "shared_responsibility",
];

const V1: &str = "oxfordshire-six-point@1";
const V2: &str = "oxfordshire-six-point@2";

/// A store on `db` as `serve --demo` loads with: on a fixed clock (the loader moves it through
/// the stories' days), migrated, with the test master key.
async fn loading_store(db: &TestDb) -> Store {
    db.store_with_clock(Clock::fixed(Utc::now())).await
}

/// The demo as it is served: on the system clock, every page saying it is a demo, with a
/// panel member's sign-in token.
struct Served {
    app: Router,
    tokens: Vec<demo::SignIn>,
}

impl Served {
    async fn new(db: &TestDb) -> Served {
        let store = db.connect().await;
        let tokens = demo::sign_in_tokens(&store).await.expect("sign-in tokens");
        let state = AppState::new(store).as_demo();
        Served {
            app: build_app(state),
            tokens,
        }
    }

    fn token(&self, role: AccessRole) -> &str {
        let sign_in = self.tokens.iter().find(|t| t.role == role);
        &sign_in.expect("a token for every role").token
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, header::HeaderMap, String) {
        let response = self.app.clone().oneshot(request).await.expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// `GET path` of the API as a panel member: 200 and its JSON.
    async fn api(&self, path: &str) -> Value {
        let request = Request::get(path)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token(AccessRole::Panel)),
            )
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    async fn assessment(&self, project: &str, rubric: &str, as_of: Option<&str>) -> Value {
        let as_of = as_of.map(|day| format!("&as_of={day}")).unwrap_or_default();
        self.api(&format!(
            "/api/v1/projects/{project}/assessment?rubric={rubric}{as_of}"
        ))
        .await
    }

    /// Signs in with `role`'s token through the sign-in form (its CSRF value is the one the
    /// start page set: the server refuses any other); the session cookie.
    async fn sign_in(&self, role: AccessRole) -> String {
        let (_, start, _) = self
            .send(Request::get("/").body(Body::empty()).unwrap())
            .await;
        let csrf = start
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("coprod_sign_in="))
            .and_then(|c| c.split(';').next())
            .expect("the start page sets a sign-in cookie")
            .to_string();
        let form = format!("csrf={csrf}&token={}", self.token(role));
        let request = Request::builder()
            .method(Method::POST)
            .uri("/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("coprod_sign_in={csrf}"))
            .body(Body::from(form))
            .unwrap();
        let (status, headers, body) = self.send(request).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "sign in: {body}");
        headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("coprod_session="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string()
    }

    /// A page, with the session `cookie` if given: its status and HTML.
    async fn page(&self, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let (status, _, body) = self.send(request.body(Body::empty()).unwrap()).await;
        (status, body)
    }
}

/// The criteria's ratings, in the rubric's order.
fn ratings(assessment: &Value) -> Vec<String> {
    let criteria = assessment["criteria"].as_array().expect("criteria");
    let keys: Vec<&str> = criteria.iter().filter_map(|c| c["key"].as_str()).collect();
    assert_eq!(keys, CRITERIA, "the six criteria in order");
    criteria
        .iter()
        .map(|c| c["rating"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Whether each indicator of `criterion` is met, in order.
fn met(assessment: &Value, criterion: &str) -> Vec<(String, bool)> {
    let criteria = assessment["criteria"].as_array().expect("criteria");
    let found = criteria.iter().find(|c| c["key"] == criterion);
    found.expect("the criterion")["indicators"]
        .as_array()
        .expect("indicators")
        .iter()
        .map(|i| {
            let key = i["key"].as_str().unwrap_or("?").to_string();
            (key, i["met"].as_bool().expect("met"))
        })
        .collect()
}

fn expect(ratings: [&str; 6]) -> Vec<String> {
    ratings.iter().map(|r| r.to_string()).collect()
}

fn indicators(expected: &[(&str, bool)]) -> Vec<(String, bool)> {
    expected.iter().map(|(k, m)| (k.to_string(), *m)).collect()
}

fn overall(assessment: &Value) -> (u64, u64, u64) {
    let overall = &assessment["overall"];
    let count = |key: &str| overall[key].as_u64().expect("a count");
    (count("met"), count("partly_met"), count("not_met"))
}

fn project_id(text: &str) -> Uuid {
    text.parse().expect("a demo project id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_an_empty_database_when_the_demo_starts_twice_then_it_loads_its_four_stories_once_on_both_stores(
) {
    let stories = demo::stories().expect("the stories read");
    let entries: u64 = stories.iter().map(|story| story.entries()).sum();
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = loading_store(&db).await;
        assert_eq!(demo::contents(&store).await.unwrap(), Contents::Empty);

        let loaded = match demo::prepare(&store).await {
            Ok(Prepared::LoadedNow(loaded)) => loaded,
            other => panic!("the first start should load the demo: {other:?}"),
        };
        assert_eq!((loaded.projects, loaded.entries), (4, entries));
        assert_eq!(demo::contents(&store).await.unwrap(), Contents::Loaded);
        let mut ids = store.project_ids().await.unwrap();
        ids.sort();
        let expected: Vec<Uuid> = [
            CARERS_STRATEGY,
            HOME_CARE_REDESIGN,
            CLEARER_LETTERS,
            DAY_CENTRE_CLOSURE,
        ]
        .into_iter()
        .map(project_id)
        .collect();
        assert_eq!(ids, expected);
        let heads = |store: Store| async move {
            let mut heads = Vec::new();
            for id in store.project_ids().await.unwrap() {
                heads.push(
                    store
                        .project_head(id)
                        .await
                        .unwrap()
                        .expect("a head")
                        .digest,
                );
            }
            heads
        };
        let before = heads(store.clone()).await;

        // A second start, by another process, finds the demo there and adds nothing.
        let again = loading_store(&db).await;
        assert!(matches!(
            demo::prepare(&again).await,
            Ok(Prepared::AlreadyThere)
        ));
        assert_eq!(heads(again.clone()).await, before, "nothing was added");
        assert_eq!(
            store.project_ids().await.unwrap().len(),
            4,
            "no project was added"
        );

        // `recorded_at` follows the story: the carers' strategy was registered on 13 January
        // 2025 and last sealed on 4 November 2025.
        let entries = again
            .entries(project_id(CARERS_STRATEGY), 0, None)
            .await
            .unwrap();
        let recorded_at = |i: usize| entries[i].metadata["recorded_at"].clone();
        assert!(
            recorded_at(0).starts_with("2025-01-13T09:"),
            "{}",
            recorded_at(0)
        );
        let last = entries.len() - 1;
        assert!(
            recorded_at(last).starts_with("2025-11-04T"),
            "{}",
            recorded_at(last)
        );
        assert_eq!(entries[last].event_type, "assessment_sealed");

        // Every chain is intact and every seal holds.
        for id in again.project_ids().await.unwrap() {
            let entries = again.entries(id, 0, None).await.unwrap();
            let check = again.verify_project(id).await.unwrap().expect("a chain");
            assert_eq!(check.first_divergence, None, "{id}");
            let seals = again.check_seals(id, &entries).await.unwrap();
            assert!(!seals.is_empty(), "{id} has a sealed assessment");
            for seal in seals {
                assert_eq!(
                    seal.outcome,
                    SealOutcome::Holds,
                    "{id}: {}",
                    seal.explanation
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_database_with_a_real_project_when_the_demo_starts_then_it_is_refused_and_nothing_is_added(
) {
    for db in kit::backends().await {
        eprintln!("backend: {}", db.backend);
        let store = db.store().await;
        let real = Uuid::new_v4();
        let registration = ProjectRegistered {
            project_id: real,
            title: "Real project".into(),
            organisation: "oxfordshire".into(),
            organisation_name: None,
            service_area: "Carers".into(),
            description: None,
            priority_groups: Vec::new(),
            started_on: Utc::now().date_naive(),
            declared_level: None,
            serves: None,
        };
        let context = CommandContext {
            recorded_by: "tester".into(),
            recorded_at: Utc::now(),
        };
        store
            .execute(
                real,
                ProjectCommand::Register {
                    registration,
                    context,
                },
            )
            .await
            .expect("register");

        let loading = loading_store(&db).await;
        let refusal = demo::prepare(&loading).await;
        let Err(error @ DemoError::RealProjects { count: 1 }) = refusal else {
            panic!("a real project must stop the demo: {refusal:?}");
        };
        assert!(error.to_string().contains("not the demo's"), "{error}");
        assert_eq!(store.project_ids().await.unwrap(), vec![real]);

        // The same from the command line: exit 2, with the reason, and nothing served.
        let out = coprod_with(
            &db.url,
            &["serve", "--demo", "--listen", "127.0.0.1:0"],
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("not the demo's"), "{stderr}");
        assert!(stderr.contains(&db.url), "names the database: {stderr}");
        assert_eq!(store.project_ids().await.unwrap(), vec![real]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_demo_database_holding_part_of_the_demo_when_the_demo_starts_then_it_asks_for_a_fresh_one(
) {
    let db = kit::sqlite();
    let store = db.store().await;
    let first = project_id(CARERS_STRATEGY);
    let registration = ProjectRegistered {
        project_id: first,
        title: "Carers' strategy 2025 to 2030".into(),
        organisation: "ashdown".into(),
        organisation_name: None,
        service_area: "Carers".into(),
        description: None,
        priority_groups: Vec::new(),
        started_on: Utc::now().date_naive(),
        declared_level: None,
        serves: None,
    };
    let context = CommandContext {
        recorded_by: "an earlier start".into(),
        recorded_at: Utc::now(),
    };
    store
        .execute(
            first,
            ProjectCommand::Register {
                registration,
                context,
            },
        )
        .await
        .expect("register");

    let loading = loading_store(&db).await;
    assert_eq!(
        demo::contents(&loading).await.unwrap(),
        Contents::PartlyLoaded
    );
    let refusal = demo::prepare(&loading).await;
    let Err(error @ DemoError::PartlyLoaded) = refusal else {
        panic!("part of the demo must not be completed over: {refusal:?}");
    };
    assert!(error.to_string().contains("Delete it"), "{error}");
    assert_eq!(store.project_ids().await.unwrap(), vec![first]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_demo_when_its_projects_are_assessed_under_rubric_1_then_each_earns_what_its_story_means(
) {
    let db = kit::sqlite();
    demo::prepare(&loading_store(&db).await)
        .await
        .expect("the demo loads");
    let demo = Served::new(&db).await;

    // (a) Co-produced from the start; one priority group was never reached.
    let a = demo.assessment(CARERS_STRATEGY, V1, None).await;
    assert_eq!(
        ratings(&a),
        expect(["met", "met", "met", "partly_met", "met", "met"])
    );
    assert_eq!(
        met(&a, "diverse_group_involvement"),
        indicators(&[
            ("priority_groups_reached", false),
            ("breadth", true),
            ("no_single_group_dominates", true),
        ])
    );
    assert_eq!(overall(&a), (5, 1, 0));
    // Half way through (the panel's seal of 30 June), nobody had yet reviewed an outcome, no
    // one had been given learning or an opportunity, and one contribution waited for an answer.
    let a_in_june = demo
        .assessment(CARERS_STRATEGY, V1, Some("2025-06-30"))
        .await;
    assert_eq!(
        ratings(&a_in_june),
        expect([
            "met",
            "met",
            "partly_met",
            "partly_met",
            "partly_met",
            "partly_met"
        ])
    );

    // (b) Consultation dressed up: asked late, by survey; two late vouchers; officers decided.
    let b = demo.assessment(HOME_CARE_REDESIGN, V1, None).await;
    assert_eq!(
        ratings(&b),
        expect([
            "partly_met",
            "not_met",
            "not_met",
            "not_met",
            "partly_met",
            "not_met"
        ])
    );
    assert_eq!(
        met(&b, "whole_life_involvement"),
        indicators(&[
            ("from_the_start", false),
            ("every_stage", false),
            ("sustained", true),
        ])
    );
    // Version 1 counts a decision officers made alone as influenced by the views it cites.
    assert_eq!(
        met(&b, "equal_valuation_of_assets"),
        indicators(&[
            ("contributions_answered", false),
            ("parity", false),
            ("influence", true),
        ])
    );
    assert_eq!(overall(&b), (0, 2, 4));

    // (c) Better after the panel's review, but what came before still counts.
    let c_reviewed = demo
        .assessment(CLEARER_LETTERS, V1, Some("2025-05-20"))
        .await;
    assert_eq!(
        ratings(&c_reviewed),
        expect(["not_met", "not_met", "not_met", "met", "not_met", "not_met"])
    );
    let c = demo.assessment(CLEARER_LETTERS, V1, None).await;
    assert_eq!(
        ratings(&c),
        expect([
            "partly_met",
            "met",
            "partly_met",
            "met",
            "met",
            "partly_met"
        ])
    );
    assert_eq!(
        met(&c, "reciprocal_reward"),
        indicators(&[
            ("rewarded_beyond_expenses", true),
            ("development", true),
            ("timely", false),
        ])
    );
    // The decision recorded as a consensus was withdrawn and recorded as officers' own.
    assert_eq!(
        met(&c, "shared_responsibility"),
        indicators(&[
            ("shared_decisions", false),
            ("accountability_shared", true),
            ("failures_owned", true),
        ])
    );
    assert_eq!(overall(&c), (3, 3, 0));

    // (d) Consulted from the start, then officers closed the centre.
    let d = demo.assessment(DAY_CENTRE_CLOSURE, V1, None).await;
    assert_eq!(
        ratings(&d),
        expect([
            "partly_met",
            "not_met",
            "not_met",
            "partly_met",
            "partly_met",
            "not_met"
        ])
    );
    assert_eq!(
        met(&d, "whole_life_involvement"),
        indicators(&[
            ("from_the_start", true),
            ("every_stage", false),
            ("sustained", false),
        ])
    );
    assert_eq!(overall(&d), (0, 3, 3));

    // Every project has a sealed assessment to show, with its trail.
    for project in [
        CARERS_STRATEGY,
        HOME_CARE_REDESIGN,
        CLEARER_LETTERS,
        DAY_CENTRE_CLOSURE,
    ] {
        let seals = demo
            .api(&format!("/api/v1/projects/{project}/assessments"))
            .await;
        let seals = seals["seals"].as_array().expect("seals");
        assert!(!seals.is_empty(), "{project} has a seal");
        assert!(
            seals.iter().all(|s| s["recorded_at"]
                .as_str()
                .is_some_and(|t| t.starts_with("2025-"))),
            "sealed on a day of the story: {seals:?}"
        );
    }
}

/// Rubric version 2 (`oxfordshire-six-point@2`): the ladder and the ratings each story means,
/// judged only on evidence recorded (see the rubric's description of version 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_demo_when_its_projects_are_assessed_under_rubric_2_then_each_stands_on_the_ladder_its_story_means(
) {
    let db = kit::sqlite();
    demo::prepare(&loading_store(&db).await)
        .await
        .expect("the demo loads");
    let demo = Served::new(&db).await;
    let rung = |a: &Value| a["overall"]["ladder"]["rung"].as_str().map(str::to_string);
    let flags = |a: &Value| -> Vec<String> {
        let flags = a["overall"]["flags"].as_array().expect("flags");
        let mut keys: Vec<String> = flags
            .iter()
            .filter_map(|f| f["key"].as_str().map(str::to_string))
            .collect();
        keys.sort();
        keys
    };
    let headline = |a: &Value| a["overall"]["headline"].as_str().unwrap_or("").to_string();

    // (a) Co-production: shared from the start and seen through; one priority group missed.
    let a = demo.assessment(CARERS_STRATEGY, V2, None).await;
    assert_eq!(
        ratings(&a),
        expect(["met", "met", "met", "partly_met", "met", "met"])
    );
    assert_eq!(rung(&a).as_deref(), Some("co_production"));
    assert!(flags(&a).is_empty(), "{:?}", flags(&a));
    assert_eq!(
        headline(&a),
        "This looks like co-production: people shared key decisions from the start and helped to deliver the project."
    );

    // (b) Consultation, though described as co-production.
    let b = demo.assessment(HOME_CARE_REDESIGN, V2, None).await;
    assert_eq!(
        ratings(&b),
        expect(["not_met", "not_met", "not_met", "not_met", "not_met", "not_met"])
    );
    assert_eq!(rung(&b).as_deref(), Some("consultation"));
    assert_eq!(flags(&b), vec!["declared_above_evidence".to_string()]);
    assert_eq!(
        headline(&b),
        "This looks like consultation, not co-production: people gave their views, but did not help to decide."
    );

    // (c) Co-design: key decisions shared after the review, but not from the start.
    let c = demo.assessment(CLEARER_LETTERS, V2, None).await;
    assert_eq!(
        ratings(&c),
        expect([
            "partly_met",
            "met",
            "partly_met",
            "met",
            "met",
            "partly_met"
        ])
    );
    assert_eq!(rung(&c).as_deref(), Some("co_design"));
    assert_eq!(flags(&c), vec!["declared_above_evidence".to_string()]);
    assert!(
        headline(&c).starts_with(
            "This looks like co-design, not co-production: people shared key decisions, but"
        ),
        "{}",
        headline(&c)
    );
    // Once the decision recorded as a consensus was withdrawn, and before the group shared one,
    // people had only talked things through.
    let c_corrected = demo
        .assessment(CLEARER_LETTERS, V2, Some("2025-06-05"))
        .await;
    assert_eq!(rung(&c_corrected).as_deref(), Some("engagement"));

    // (d) Consultation, then a closure the people involved were told of only afterwards.
    let d = demo.assessment(DAY_CENTRE_CLOSURE, V2, None).await;
    assert_eq!(
        ratings(&d),
        expect([
            "not_met",
            "not_met",
            "not_met",
            "partly_met",
            "partly_met",
            "not_met"
        ])
    );
    assert_eq!(rung(&d).as_deref(), Some("consultation"));
    assert_eq!(flags(&d), vec!["unilateral_change".to_string()]);
    assert_eq!(
        headline(&d),
        "This was consultation, but the project was closed without the people involved, and they were not told first."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_demo_when_any_page_is_shown_then_it_says_it_is_a_demo_and_a_real_server_does_not(
) {
    let db = kit::sqlite();
    demo::prepare(&loading_store(&db).await)
        .await
        .expect("the demo loads");
    let demo = Served::new(&db).await;
    let notice = r#"id="demo-notice""#;

    let (status, home) = demo.page("/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(notice), "{home}");
    assert!(home.contains("– Coprod demo</title>"), "{home}");

    for role in [AccessRole::Panel, AccessRole::Admin] {
        let session = demo.sign_in(role).await;
        let mut pages = vec![
            "/projects".to_string(),
            "/portfolio".to_string(),
            "/accessibility".to_string(),
        ];
        for project in [
            CARERS_STRATEGY,
            HOME_CARE_REDESIGN,
            CLEARER_LETTERS,
            DAY_CENTRE_CLOSURE,
        ] {
            pages.push(format!("/projects/{project}"));
            pages.push(format!("/projects/{project}?as_of=2025-06-30"));
            pages.push(format!("/projects/{project}/trail"));
            pages.push(format!(
                "/projects/{project}/compare?from=2025-05-20&to=2025-11-30"
            ));
            pages.push(format!("/projects/{project}/report"));
        }
        for path in &pages {
            let (status, html) = demo.page(path, Some(&session)).await;
            assert_eq!(status, StatusCode::OK, "{role:?} {path}");
            assert!(html.contains(notice), "{role:?} {path} says it is a demo");
        }
        let (_, list) = demo.page("/projects", Some(&session)).await;
        for title in [
            "Carers&#39; strategy 2025 to 2030",
            "Home care redesign",
            "Clearer letters and information",
            "Future of Linden Road day centre",
        ] {
            assert!(
                list.contains(title) || list.contains(&title.replace("&#39;", "'")),
                "{title} is listed"
            );
        }
    }

    // The same pages of a server that is not the demo say nothing of the kind.
    let store = db.connect().await;
    let real = build_app(AppState::new(store));
    let response = real
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&bytes);
    assert!(
        !html.contains(notice) && !html.contains("Coprod demo"),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line, as a newcomer first meets it

/// `coprod --database URL ARGS…`, in `dir` if given, without the environment's database or key.
fn coprod_with(database: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coprod"));
    command
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("COPROD_MASTER_KEY_FILE")
        .env("COPROD_MASTER_KEY", kit::TEST_MASTER_KEY)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("run coprod")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn given_a_mistyped_sqlite_path_when_a_command_other_than_serve_or_migrate_runs_then_it_is_refused_and_nothing_is_created(
) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("data").join("coprd.db");
    let database = format!("sqlite://{}", missing.display());
    let project = Uuid::new_v4().to_string();
    let commands: [&[&str]; 7] = [
        &["verify"],
        &["verify", &project],
        &["token", "create", "--role", "panel", "--org", "oxon"],
        &["export", &project],
        &["rebuild"],
        &["subject-export", "p1"],
        &["keys", "rotate"],
    ];
    for args in commands {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coprod"));
        let out = command
            .arg("--database")
            .arg(&database)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("COPROD_MASTER_KEY")
            .env_remove("COPROD_MASTER_KEY_FILE")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run coprod");
        let stderr = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("there is no database at") && stderr.contains("coprd.db"),
            "{args:?} names the missing file: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            !dir.path().join("data").exists(),
            "{args:?} created no folder"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} created nothing, not even a master key"
        );
    }

    // `migrate` creates it; then the same commands find it.
    let out = coprod_with(&database, &["migrate"], Some(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(missing.exists());
    let out = coprod_with(
        &database,
        &["token", "create", "--role", "panel", "--org", "oxon"],
        Some(dir.path()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn given_a_database_without_projects_when_verify_runs_then_it_says_there_is_nothing_to_verify_and_fails(
) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("coprod.db").display());
    let out = coprod_with(&database, &["migrate"], None);
    assert!(out.status.success(), "{}", stderr(&out));

    let key_file = dir.path().join("master.key");
    let out = Command::new(env!("CARGO_BIN_EXE_coprod"))
        .args(["--database", &database, "verify"])
        .env_remove("DATABASE_URL")
        .env_remove("COPROD_MASTER_KEY")
        .env("COPROD_MASTER_KEY_FILE", &key_file)
        .stdin(Stdio::null())
        .output()
        .expect("run coprod");
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("holds no projects, so nothing was verified"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing reads as verified");
    assert!(
        !key_file.exists(),
        "no master key was made for an empty database"
    );
}

#[test]
fn given_a_database_path_without_a_scheme_when_a_command_runs_then_it_is_told_to_write_a_url() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["verify"][..], &["serve"], &["migrate"]] {
        let out = coprod_with("./data/coprod.db", args, Some(dir.path()));
        let stderr = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("sqlite://./data/coprod.db") && stderr.contains("postgres://"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("internal store error"), "{stderr}");
        assert!(!dir.path().join("data").exists(), "nothing was created");
    }
}

#[test]
fn given_an_unreachable_postgres_when_a_command_runs_then_it_names_the_server_and_the_cause() {
    // Nothing listens on port 1 of this machine.
    let out = coprod_with("postgres://coprod@127.0.0.1:1/coprod", &["verify"], None);
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "names the server: {stderr}");
    assert!(stderr.contains("'coprod'"), "names the database: {stderr}");
    assert!(
        stderr.to_lowercase().contains("refused"),
        "says why: {stderr}"
    );
    assert!(!stderr.contains("pool timed out"), "{stderr}");
}

#[test]
fn given_an_empty_file_when_verify_reads_it_then_it_says_the_file_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("empty.ndjson", ""), ("blank.ndjson", "\n  \n")] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_coprod"))
            .args(["verify", "--file"])
            .arg(&file)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("run coprod");
        let stderr = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("is empty"), "{stderr}");
        assert!(stderr.contains(name), "names the file: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("NOT FOUND"));
    }
}

#[test]
fn given_logs_written_to_a_file_when_a_command_logs_then_they_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("coprod.db").display());
    let out = coprod_with(&database, &["migrate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    // The first command that needs the master key writes a key file, and logs that it did.
    let out = Command::new(env!("CARGO_BIN_EXE_coprod"))
        .args(["--database", &database, "rebuild"])
        .env_remove("DATABASE_URL")
        .env_remove("COPROD_MASTER_KEY")
        .env_remove("NO_COLOR")
        .env("COPROD_MASTER_KEY_FILE", dir.path().join("master.key"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run coprod");
    let stderr = stderr(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("INFO") && stderr.contains("created a new master key file"),
        "a log line was written: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
}
