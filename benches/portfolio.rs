//! The portfolio trend of 200 projects over 12 quarters, through real HTTP, on each store
//! (SQLite always; PostgreSQL when `DATABASE_URL` names a server, as the tests use it).
//!
//! 200 projects of one organisation are recorded over three years (about 40 entries each, in 8
//! commands spread over the project's life: participants, stages, activities, contributions and
//! responses, rewards, decisions, an outcome review, a correction and the closure), with the
//! store's own append path. Then `GET /api/v1/portfolio/trend?every=quarter` over those twelve
//! quarters is asked `RUNS` times (after one warm-up), and so is `GET /api/v1/portfolio` (now)
//! for comparison; the minimum, median and maximum are printed. The target: the trend in under
//! a second.
//!
//! `cargo bench --bench portfolio` (the figures are in BENCHMARKS.md, section "Portfolio").

#[path = "../tests/kit/mod.rs"]
mod kit;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use coprod::store::{AccessRole, Store};
use coprod_domain::{CommandContext, Fact, ProjectCommand, ProjectRegistered};
use serde_json::{json, Value};
use uuid::Uuid;

use coprod::clock::Clock;
use kit::facts::{joined, stage_started};

const PROJECTS: usize = 200;
const QUARTERS: u32 = 12;
const RUNS: usize = 10;

/// The first day of the first quarter measured: the quarter after the real one (the store never
/// stamps an entry earlier than the real time).
fn first_day() -> NaiveDate {
    let today = Utc::now().date_naive();
    let start = NaiveDate::from_ymd_opt(today.year(), today.month0() / 3 * 3 + 1, 1).unwrap();
    start.checked_add_months(chrono::Months::new(3)).unwrap()
}

fn last_day() -> NaiveDate {
    first_day()
        .checked_add_months(chrono::Months::new(3 * QUARTERS))
        .unwrap()
        .pred_opt()
        .unwrap()
}

/// The server's clock: just after the last quarter measured.
fn clock() -> DateTime<Utc> {
    static NOW: OnceLock<DateTime<Utc>> = OnceLock::new();
    *NOW.get_or_init(|| {
        let day = last_day().succ_opt().unwrap();
        Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
    })
}

fn fact(value: Value) -> Fact {
    serde_json::from_value(value).expect("a fact")
}

/// Records project `i`, its commands stamped over its life.
async fn record_project(store: &Store, i: usize) {
    let id = Uuid::new_v4();
    let span = (last_day() - first_day()).num_days() as u64;
    let start = first_day() + Days::new(i as u64 * (span - 200) / PROJECTS as u64);
    let at = |day: u64| {
        let date = start + Days::new(day);
        (
            date.to_string(),
            Utc.from_utc_datetime(&date.and_hms_opt(10, (i % 60) as u32, 0).unwrap()),
        )
    };
    let context = |instant| CommandContext {
        recorded_by: "bench".into(),
        recorded_at: instant,
    };
    let (on, instant) = at(0);
    let registration = ProjectRegistered {
        project_id: id,
        title: format!("Project {i}"),
        organisation: "oxfordshire".into(),
        organisation_name: None,
        service_area: ["carers", "day services", "home care"][i % 3].into(),
        description: None,
        priority_groups: vec!["carers".into(), "young carers".into()],
        started_on: NaiveDate::parse_from_str(&on, "%Y-%m-%d").unwrap(),
        declared_level: None,
        serves: None,
    };
    store
        .execute(
            id,
            ProjectCommand::Register {
                registration,
                context: context(instant),
            },
        )
        .await
        .expect("register");
    let ple_late = i % 4 == 0; // a quarter of the projects bring people in only at design
    let batches: Vec<(u64, Vec<Value>)> = vec![
        (2, {
            let mut facts = vec![];
            for (p, kind, group) in [
                ("le-1", "lived_experience", "carers"),
                ("le-2", "carer", "young carers"),
                ("le-3", "lived_experience", "older people"),
                ("pro-1", "professional", "social work"),
                ("pro-2", "professional", "commissioning"),
                ("org-1", "community_organisation", "carers"),
            ] {
                facts.push(joined(p, kind, &[group]));
            }
            facts.push(stage_started("commission"));
            let attendees = if ple_late {
                json!(["pro-2"])
            } else {
                json!(["le-1", "le-2", "pro-2"])
            };
            facts.push(json!({"type": "activity_held", "activity_id": "a1", "stage": "commission", "kind": "workshop",
                              "title": "What is needed", "facilitators": ["pro-1"], "attendees": attendees}));
            facts
        }),
        (
            20,
            vec![
                json!({"type": "contribution_made", "contribution_id": "c1", "participant_id": "le-1", "stage": "commission", "kind": "idea", "summary": "Evening sessions"}),
                json!({"type": "contribution_made", "contribution_id": "c2", "participant_id": "pro-1", "stage": "commission", "kind": "professional_expertise", "summary": "Budget limits"}),
                json!({"type": "contribution_responded", "contribution_id": "c1", "response": "adopted", "explanation": "Moved to 6pm"}),
                json!({"type": "reward_given", "participant_id": "le-1", "kind": "payment", "amount_pence": 2500, "activity_id": "a1"}),
            ],
        ),
        (
            45,
            vec![
                stage_started("design"),
                json!({"type": "activity_held", "activity_id": "a2", "stage": "design", "kind": "training", "title": "Training",
                   "facilitators": ["le-2"], "attendees": ["pro-1", "pro-2", "le-3"]}),
                json!({"type": "role_taken", "participant_id": "le-2", "role": "co_trainer"}),
                json!({"type": "reward_given", "participant_id": "le-2", "kind": "voucher", "amount_pence": 2000, "activity_id": "a2"}),
            ],
        ),
        (
            70,
            vec![
                json!({"type": "decision_made", "decision_id": "d1", "stage": "design", "subject": "The offer", "method": if i % 3 == 0 { "professional_only" } else { "consensus" },
                   "participants": ["le-1", "le-2", "pro-1"], "influenced_by": ["c1"], "outcome": "Agreed"}),
                json!({"type": "contribution_made", "contribution_id": "c3", "participant_id": "le-3", "stage": "design", "kind": "feedback", "summary": "Easy read"}),
            ],
        ),
        (
            100,
            vec![
                stage_started("deliver"),
                json!({"type": "activity_held", "activity_id": "a3", "stage": "deliver", "kind": "meeting", "title": "Launch",
                   "facilitators": ["le-1", "pro-2"], "attendees": ["le-3", "org-1"]}),
                json!({"type": "reward_given", "participant_id": "le-3", "kind": if i % 5 == 0 { "expenses" } else { "learning" }, "amount_pence": if i % 5 == 0 { json!(800) } else { Value::Null }, "activity_id": "a3"}),
            ],
        ),
        (
            130,
            vec![
                json!({"type": "contribution_responded", "contribution_id": "c3", "response": "adapted", "explanation": "Part of it"}),
                json!({"type": "outcome_reviewed", "outcome_id": "o1", "kind": "shortfall", "description": "Late start",
                   "accountable": ["pro-1"], "reviewed_by": ["le-1", "pro-1"]}),
            ],
        ),
        (
            150,
            vec![
                json!({"type": "correction_recorded", "corrects_sequence": 12, "reason": "Wrong person"}),
            ],
        ),
        (
            180,
            if i % 2 == 0 {
                vec![
                    stage_started("assess"),
                    json!({"type": "project_closed", "summary": "Done"}),
                ]
            } else {
                vec![stage_started("assess")]
            },
        ),
    ];
    for (day, facts) in batches {
        let (on, instant) = at(day);
        let facts: Vec<Fact> = facts
            .into_iter()
            .map(|mut f| {
                if f.get("amount_pence") == Some(&Value::Null) {
                    f.as_object_mut().unwrap().remove("amount_pence");
                }
                f["occurred_on"] = json!(on);
                fact(f)
            })
            .collect();
        store
            .execute(
                id,
                ProjectCommand::Record {
                    facts,
                    batch: true,
                    expected_sequence: None,
                    context: context(instant),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("project {i}, day {day}: {e:?}"));
    }
}

async fn time(client: &reqwest::Client, url: &str, token: &str) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for run in 0..=RUNS {
        let started = Instant::now();
        let response = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        size = response.bytes().await.expect("body").len();
        if run > 0 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    (times, size)
}

fn show(what: &str, (times, size): &(Vec<Duration>, usize)) {
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {what}: min {:.0} ms, median {:.0} ms, max {:.0} ms ({RUNS} runs, {size} bytes)",
        ms(&times[0]),
        ms(&times[times.len() / 2]),
        ms(&times[times.len() - 1])
    );
}

async fn bench(db: &kit::TestDb) {
    // The one clock of store and server: at the first day while the story is recorded (each
    // command asks for its own, later instant), then just after the last quarter for the reads.
    let first = Utc.from_utc_datetime(&first_day().and_hms_opt(0, 0, 0).unwrap());
    let store = db.store_with_clock(Clock::fixed(first)).await;
    let started = Instant::now();
    for i in 0..PROJECTS {
        record_project(&store, i).await;
    }
    let entries: u64 = 9 * PROJECTS as u64;
    println!(
        "[{}] recorded {PROJECTS} projects ({entries} commands) in {:.1} s",
        db.backend,
        started.elapsed().as_secs_f64()
    );
    let token = store
        .create_token(AccessRole::Panel, "oxfordshire", "bench")
        .await
        .unwrap();
    store.clock().set(clock());
    let server = kit::Server::start_without_metrics(store.clone())
        .await
        .unwrap();
    let base = server.base();
    let client = reqwest::Client::new();
    let trend = format!(
        "{base}/api/v1/portfolio/trend?from={}&to={}&every=quarter",
        first_day(),
        last_day()
    );
    let body: Value = client
        .get(&trend)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let periods = body["periods"].as_array().expect("periods");
    assert_eq!(periods.len(), QUARTERS as usize, "{body}");
    assert_eq!(
        periods[QUARTERS as usize - 1]["projects"]["total"],
        PROJECTS
    );
    show(
        "trend, 200 projects x 12 quarters",
        &time(&client, &trend, &token).await,
    );
    show(
        "portfolio now",
        &time(&client, &format!("{base}/api/v1/portfolio"), &token).await,
    );
    let _ = server.stop(Duration::from_secs(600)).await;
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for db in kit::backends().await {
            bench(&db).await;
        }
    });
}
