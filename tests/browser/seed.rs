//! A realistic project, posted through the HTTP API as its facts were recorded over four months,
//! for the page tests (`tests/web.rs`) and the browser tests (`tests/browser/`).
//!
//! The story: a council's adult social care team redesigns its support for unpaid carers with
//! the carers themselves. In January (commissioning) carers help decide what is needed; in
//! February and March they co-design the new offer, lead training for staff and share decisions;
//! one payment is recorded wrongly and corrected; in April the new offer starts and its first
//! results are reviewed together. So the assessment at the end of January differs from the one
//! at the end of April. The council registered it as co-production; officers took the first
//! (scoping) decision alone, so the facts place it lower on the ladder, and the assessment says so.
//!
//! The story is written for 2025 and told in the year after the current one: the store never
//! stamps an entry earlier than the real time (it takes the later of the server's clock and its
//! own), so the server's clock (this module's [`clock`]) is set ahead to when each batch was
//! recorded, and stays a few days after the story ends ([`Seeded::today`]). Every date the tests
//! use comes from [`Seeded`].

#![allow(dead_code)]

use coprod::clock::Clock;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::kit::facts::{joined_on, minimal_registration, stage_started_on, workshop_on};

/// A clock for one site's store and server, at the start of the story; the seed moves it as it
/// tells the story, so every entry is stamped on its day (and sites never share a clock).
pub fn story_clock() -> Clock {
    Clock::fixed(instant("2025-01-07T09:00:00Z"))
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("seed instant")
        .with_timezone(&Utc)
}

fn set_clock(clock: &Clock, text: &str) {
    assert!(clock.set(instant(text)), "the site's clock is fixed");
}

/// The organisation of the seeded project.
pub const ORGANISATION: &str = "haringey";
/// How people know it: the registration names it.
pub const ORGANISATION_NAME: &str = "London Borough of Haringey";

/// What was seeded.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub project_id: String,
    /// A project of another organisation, which the seeded organisation's people must not see.
    pub other_project_id: String,
    /// The sequence of the payment recorded wrongly (withdrawn by `correction`).
    pub withdrawn: u64,
    pub correction: u64,
    /// How many entries the project has.
    pub entries: u64,
    /// A day before the project was registered.
    pub before: String,
    /// A day by whose end only the commissioning stage had been recorded (31 January).
    pub early: String,
    /// A day by whose end everything had been recorded (30 April).
    pub late: String,
    /// The server's "today" once seeded (2 May).
    pub today: String,
}

pub async fn post(client: &reqwest::Client, url: &str, token: &str, body: &Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "POST {url}: {status}: {text}\nbody: {body}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: not JSON ({e}): {text}"))
}

/// Posts the story through the API at `base` (e.g. `http://127.0.0.1:1234`), as a recorder of
/// [`ORGANISATION`] (`recorder`) and of another organisation (`other_recorder`).
pub async fn seed(base: &str, clock: &Clock, recorder: &str, other_recorder: &str) -> Seeded {
    let client = reqwest::Client::new();
    let api = format!("{base}/api/v1");

    set_clock(clock, "2025-01-07T09:15:00Z");
    let registered = post(
        &client,
        &format!("{api}/projects"),
        recorder,
        &json!({
            "title": "Redesigning support for unpaid carers",
            "organisation": ORGANISATION,
            "organisation_name": ORGANISATION_NAME,
            "service_area": "Carers' support",
            "description": "Unpaid carers and council staff redesign the support the council offers carers: short breaks, advice, and the carer's assessment.",
            "priority_groups": ["carers", "young carers", "Somali community"],
            "started_on": "2025-01-06",
            "declared_level": "co_production"
        }),
    )
    .await;
    let project_id = registered["project_id"]
        .as_str()
        .expect("project_id")
        .to_string();
    let events = format!("{api}/projects/{project_id}/events");
    let batch = |recorded_at: &'static str, events: Vec<Value>| (recorded_at, events);

    let january = vec![
        batch(
            "2025-01-08T10:02:11Z",
            vec![
                joined_on("carer-01", "carer", &["carers"], "2025-01-08"),
                joined_on("carer-02", "carer", &["young carers"], "2025-01-08"),
                joined_on(
                    "carer-03",
                    "carer",
                    &["Somali community", "carers"],
                    "2025-01-08",
                ),
                joined_on(
                    "resident-04",
                    "lived_experience",
                    &["learning disability"],
                    "2025-01-08",
                ),
                joined_on(
                    "officer-01",
                    "professional",
                    &["commissioning"],
                    "2025-01-08",
                ),
                joined_on("officer-02", "professional", &["social work"], "2025-01-08"),
                joined_on(
                    "org-01",
                    "community_organisation",
                    &["Somali community"],
                    "2025-01-08",
                ),
                json!({"type": "stage_started", "stage": "commission", "occurred_on": "2025-01-08"}),
            ],
        ),
        batch(
            "2025-01-15T16:40:00Z",
            vec![
                json!({"type": "activity_held", "activity_id": "what-carers-need", "stage": "commission",
                       "kind": "workshop", "title": "What do carers need from us?",
                       "facilitators": ["officer-01"],
                       "attendees": ["carer-01", "carer-02", "carer-03", "resident-04", "org-01"],
                       "occurred_on": "2025-01-15"}),
                json!({"type": "contribution_made", "contribution_id": "short-breaks", "participant_id": "carer-01",
                       "stage": "commission", "kind": "lived_expertise",
                       "summary": "Short breaks must be bookable at a week's notice, not three months.",
                       "occurred_on": "2025-01-15"}),
                json!({"type": "contribution_made", "contribution_id": "school-hours", "participant_id": "carer-02",
                       "stage": "commission", "kind": "idea",
                       "summary": "Hold sessions for young carers after school, not during the day.",
                       "occurred_on": "2025-01-15"}),
                json!({"type": "reward_given", "participant_id": "carer-01", "kind": "expenses",
                       "amount_pence": 640, "activity_id": "what-carers-need", "occurred_on": "2025-01-15"}),
            ],
        ),
        batch(
            "2025-01-29T11:05:30Z",
            vec![
                json!({"type": "decision_made", "decision_id": "scope", "stage": "commission",
                       "subject": "What the new carers' offer must cover",
                       "method": "professional_only", "participants": ["officer-01", "officer-02"],
                       "influenced_by": [], "outcome": "Short breaks, advice line and assessments are in scope.",
                       "occurred_on": "2025-01-29"}),
            ],
        ),
    ];
    let february_to_april = vec![
        batch(
            "2025-02-03T09:30:00Z",
            vec![
                json!({"type": "contribution_responded", "contribution_id": "short-breaks", "response": "adopted",
                       "explanation": "Short breaks will be bookable at a week's notice from April.",
                       "occurred_on": "2025-02-03"}),
                json!({"type": "contribution_responded", "contribution_id": "school-hours", "response": "adapted",
                       "explanation": "Young carers' sessions move to 4pm on weekdays and Saturday mornings.",
                       "occurred_on": "2025-02-03"}),
                json!({"type": "stage_started", "stage": "design", "occurred_on": "2025-02-03"}),
                joined_on(
                    "resident-05",
                    "lived_experience",
                    &["older people"],
                    "2025-02-03",
                ),
                joined_on("provider-01", "provider", &["carers centre"], "2025-02-03"),
                json!({"type": "role_taken", "participant_id": "carer-01", "role": "co_chair", "occurred_on": "2025-02-03"}),
                json!({"type": "role_taken", "participant_id": "carer-03", "role": "co_facilitator", "occurred_on": "2025-02-03"}),
            ],
        ),
        batch(
            "2025-02-12T15:20:45Z",
            vec![
                json!({"type": "activity_held", "activity_id": "design-day", "stage": "design", "kind": "workshop",
                       "title": "Designing the carers' offer together",
                       "facilitators": ["carer-01", "carer-03", "officer-01"],
                       "attendees": ["carer-02", "resident-04", "resident-05", "officer-02", "provider-01", "org-01"],
                       "occurred_on": "2025-02-12"}),
                json!({"type": "activity_held", "activity_id": "young-carers-training", "stage": "design", "kind": "training",
                       "title": "What it is like to be a young carer: training for staff",
                       "facilitators": ["carer-02"], "attendees": ["officer-01", "officer-02", "provider-01"],
                       "occurred_on": "2025-02-12"}),
                json!({"type": "contribution_made", "contribution_id": "one-number", "participant_id": "carer-03",
                       "stage": "design", "kind": "design",
                       "summary": "One phone number for carers, answered by someone who speaks Somali on Tuesdays.",
                       "occurred_on": "2025-02-12"}),
                json!({"type": "contribution_made", "contribution_id": "easy-read", "participant_id": "resident-04",
                       "stage": "design", "kind": "feedback",
                       "summary": "The carer's assessment form needs an easy read version.",
                       "occurred_on": "2025-02-12"}),
                json!({"type": "contribution_made", "contribution_id": "provider-capacity", "participant_id": "provider-01",
                       "stage": "design", "kind": "professional_expertise",
                       "summary": "The carers centre can take 40 more short-break bookings a month.",
                       "occurred_on": "2025-02-12"}),
            ],
        ),
    ];

    for (recorded_at, events_batch) in january {
        set_clock(clock, recorded_at);
        post(
            &client,
            &events,
            recorder,
            &json!({ "events": events_batch }),
        )
        .await;
    }
    for (recorded_at, events_batch) in february_to_april {
        set_clock(clock, recorded_at);
        post(
            &client,
            &events,
            recorder,
            &json!({ "events": events_batch }),
        )
        .await;
    }

    // A payment recorded with the wrong amount, then corrected and recorded again.
    set_clock(clock, "2025-02-14T10:00:00Z");
    let wrong = post(
        &client,
        &events,
        recorder,
        &json!({"type": "reward_given", "participant_id": "carer-01", "kind": "payment",
                "amount_pence": 250000, "activity_id": "design-day", "occurred_on": "2025-02-13"}),
    )
    .await;
    let withdrawn = wrong["last_sequence"].as_u64().expect("sequence");
    set_clock(clock, "2025-02-17T08:45:00Z");
    let corrected = post(
        &client,
        &events,
        recorder,
        &json!({"events": [
            {"type": "correction_recorded", "corrects_sequence": withdrawn,
             "reason": "Typed £2,500 instead of £25.00 for the design day.", "occurred_on": "2025-02-17"},
            {"type": "reward_given", "participant_id": "carer-01", "kind": "payment",
             "amount_pence": 2500, "activity_id": "design-day", "occurred_on": "2025-02-13"}
        ]}),
    )
    .await;
    let correction = corrected["first_sequence"].as_u64().expect("sequence");

    let later = vec![
        (
            "2025-02-20T13:10:00Z",
            vec![
                json!({"type": "reward_given", "participant_id": "carer-02", "kind": "voucher", "amount_pence": 2500,
                       "activity_id": "young-carers-training", "occurred_on": "2025-02-14"}),
                json!({"type": "reward_given", "participant_id": "carer-03", "kind": "payment", "amount_pence": 2500,
                       "activity_id": "design-day", "occurred_on": "2025-02-14"}),
                json!({"type": "reward_given", "participant_id": "resident-04", "kind": "voucher", "amount_pence": 2000,
                       "activity_id": "design-day", "occurred_on": "2025-02-14"}),
                json!({"type": "reward_given", "participant_id": "resident-05", "kind": "learning",
                       "activity_id": "design-day", "occurred_on": "2025-02-20"}),
                json!({"type": "contribution_responded", "contribution_id": "one-number", "response": "adopted",
                       "explanation": "One number from April; Somali-speaking staff answer on Tuesdays.",
                       "occurred_on": "2025-02-20"}),
                json!({"type": "contribution_responded", "contribution_id": "easy-read", "response": "adopted",
                       "explanation": "People with a learning disability will co-write the easy read form.",
                       "occurred_on": "2025-02-20"}),
                json!({"type": "contribution_responded", "contribution_id": "provider-capacity", "response": "adopted",
                       "explanation": "Built into the short-breaks contract.", "occurred_on": "2025-02-20"}),
            ],
        ),
        (
            "2025-03-05T17:00:00Z",
            vec![
                json!({"type": "decision_made", "decision_id": "offer", "stage": "design",
                       "subject": "The new carers' offer", "method": "vote",
                       "participants": ["carer-01", "carer-02", "carer-03", "resident-04", "officer-01", "officer-02"],
                       "votes": {"for": ["carer-01", "carer-02", "carer-03", "resident-04", "officer-01"], "against": [], "abstain": ["officer-02"]},
                       "influenced_by": ["short-breaks", "school-hours", "one-number", "easy-read"],
                       "outcome": "Agreed: short breaks at a week's notice, one phone number, easy read assessment.",
                       "occurred_on": "2025-03-05"}),
                json!({"type": "decision_made", "decision_id": "launch-date", "stage": "design",
                       "subject": "When the new offer starts", "method": "consensus",
                       "participants": ["carer-01", "carer-03", "officer-01"],
                       "influenced_by": [], "outcome": "It starts on 1 April.", "occurred_on": "2025-03-05"}),
                json!({"type": "reward_given", "participant_id": "carer-01", "kind": "opportunity",
                       "occurred_on": "2025-03-05"}),
            ],
        ),
        (
            "2025-04-01T09:00:00Z",
            vec![
                json!({"type": "stage_started", "stage": "deliver", "occurred_on": "2025-04-01"}),
                json!({"type": "activity_held", "activity_id": "launch", "stage": "deliver", "kind": "meeting",
                       "title": "Launch of the carers' offer at the carers centre",
                       "facilitators": ["carer-01", "provider-01"],
                       "attendees": ["carer-02", "carer-03", "resident-05", "officer-01", "org-01"],
                       "occurred_on": "2025-04-01"}),
            ],
        ),
        (
            "2025-04-28T14:30:00Z",
            vec![
                json!({"type": "reward_given", "participant_id": "carer-02", "kind": "voucher", "amount_pence": 1500,
                       "activity_id": "launch", "occurred_on": "2025-04-02"}),
                json!({"type": "reward_given", "participant_id": "resident-05", "kind": "voucher", "amount_pence": 1500,
                       "activity_id": "launch", "occurred_on": "2025-04-02"}),
                json!({"type": "outcome_reviewed", "outcome_id": "bookings", "kind": "success",
                       "description": "Short breaks booked within a week for 31 carers in April.",
                       "accountable": ["officer-01", "carer-01"], "reviewed_by": ["carer-01", "carer-03", "officer-01"],
                       "occurred_on": "2025-04-28"}),
                json!({"type": "outcome_reviewed", "outcome_id": "phone-line", "kind": "shortfall",
                       "description": "The phone line missed one call in five in its first fortnight.",
                       "accountable": ["officer-02"], "reviewed_by": ["carer-03", "officer-02"],
                       "actions": "A second person answers on Tuesdays from May.",
                       "occurred_on": "2025-04-28"}),
            ],
        ),
    ];
    let mut last = 0;
    for (recorded_at, events_batch) in later {
        set_clock(clock, recorded_at);
        let receipt = post(
            &client,
            &events,
            recorder,
            &json!({ "events": events_batch }),
        )
        .await;
        last = receipt["last_sequence"].as_u64().expect("sequence");
    }

    // Another organisation's project, recorded on the same days.
    set_clock(clock, "2025-01-10T12:00:00Z");
    let other = post(
        &client,
        &format!("{api}/projects"),
        other_recorder,
        &json!({
            "title": "Day opportunities review",
            "organisation": "harrow",
            "service_area": "Day services",
            "priority_groups": [],
            "started_on": "2025-01-10"
        }),
    )
    .await;
    set_clock(clock, "2025-05-02T09:00:00Z");
    let day = |text: &str| text.to_string();
    Seeded {
        project_id,
        other_project_id: other["project_id"].as_str().expect("project_id").into(),
        withdrawn,
        correction,
        entries: last,
        before: day("2025-01-05"),
        early: day("2025-01-31"),
        late: day("2025-04-30"),
        today: day("2025-05-02"),
    }
}

/// More projects for the portfolio pages, recorded between January and April (the clock is left
/// at [`Seeded::today`] again): four more of [`ORGANISATION`] in three service areas, two more
/// of `harrow` (so that it has three: enough to compare) and one of `camden` (too few),
/// registered by the administrator `admin`. Returns how many projects [`ORGANISATION`] has.
pub async fn seed_portfolio(
    base: &str,
    clock: &Clock,
    recorder: &str,
    other_recorder: &str,
    admin: &str,
) -> u64 {
    let client = reqwest::Client::new();
    let api = format!("{base}/api/v1");
    let activity = |id: &str, stage: &str, facilitators: &[&str], attendees: &[&str], on: &str| {
        workshop_on(id, stage, "Working session", facilitators, attendees, on)
    };
    // (registered at, token, registration, [(recorded at, events)])
    type Story = (
        &'static str,
        &'static str,
        Value,
        Vec<(&'static str, Vec<Value>)>,
    );
    let stories: Vec<Story> = vec![
        (
            "2025-01-20T10:00:00Z",
            "recorder",
            minimal_registration("Home care charter", ORGANISATION, "Home care", "2025-01-20"),
            vec![
                (
                    "2025-01-22T10:00:00Z",
                    vec![
                        joined_on("le-1", "lived_experience", &["older people"], "2025-01-22"),
                        joined_on("le-2", "carer", &["carers"], "2025-01-22"),
                        joined_on("pro-1", "professional", &[], "2025-01-22"),
                        stage_started_on("commission", "2025-01-22"),
                        activity(
                            "charter-1",
                            "commission",
                            &["le-1", "pro-1"],
                            &["le-2"],
                            "2025-01-22",
                        ),
                        json!({"type": "reward_given", "participant_id": "le-1", "kind": "payment", "amount_pence": 3000, "activity_id": "charter-1", "occurred_on": "2025-01-22"}),
                        json!({"type": "reward_given", "participant_id": "le-2", "kind": "learning", "activity_id": "charter-1", "occurred_on": "2025-01-22"}),
                        json!({"type": "role_taken", "participant_id": "le-1", "role": "co_chair", "occurred_on": "2025-01-22"}),
                    ],
                ),
                (
                    "2025-02-10T10:00:00Z",
                    vec![
                        stage_started_on("design", "2025-02-10"),
                        activity(
                            "charter-2",
                            "design",
                            &["le-2"],
                            &["le-1", "pro-1"],
                            "2025-02-10",
                        ),
                        json!({"type": "decision_made", "decision_id": "charter", "stage": "design", "subject": "The charter",
                               "method": "consensus", "participants": ["le-1", "le-2", "pro-1"], "influenced_by": [],
                               "outcome": "Agreed", "occurred_on": "2025-02-10"}),
                    ],
                ),
            ],
        ),
        (
            "2025-02-05T10:00:00Z",
            "recorder",
            minimal_registration(
                "Day services review",
                ORGANISATION,
                "Day services",
                "2025-02-05",
            ),
            vec![
                (
                    "2025-02-06T10:00:00Z",
                    vec![
                        joined_on(
                            "le-1",
                            "lived_experience",
                            &["learning disability"],
                            "2025-02-06",
                        ),
                        joined_on("pro-1", "professional", &[], "2025-02-06"),
                        stage_started_on("commission", "2025-02-06"),
                        activity("scope", "commission", &["pro-1"], &[], "2025-02-06"),
                    ],
                ),
                (
                    "2025-03-03T10:00:00Z",
                    vec![
                        stage_started_on("design", "2025-03-03"),
                        activity("review-1", "design", &["pro-1"], &["le-1"], "2025-03-03"),
                    ],
                ),
            ],
        ),
        (
            "2025-03-10T10:00:00Z",
            "recorder",
            minimal_registration(
                "Reablement pathway",
                ORGANISATION,
                "Home care",
                "2025-03-10",
            ),
            vec![(
                "2025-03-11T10:00:00Z",
                vec![stage_started_on("commission", "2025-03-11")],
            )],
        ),
        (
            "2025-01-13T10:00:00Z",
            "recorder",
            minimal_registration(
                "Carers' advocacy contract",
                ORGANISATION,
                "Carers' support",
                "2025-01-13",
            ),
            vec![(
                "2025-04-10T10:00:00Z",
                vec![
                    json!({"type": "project_closed", "summary": "Contract let.", "occurred_on": "2025-04-10"}),
                ],
            )],
        ),
        (
            "2025-02-12T10:00:00Z",
            "other",
            minimal_registration(
                "Shared lives scheme",
                "harrow",
                "Day services",
                "2025-02-12",
            ),
            vec![],
        ),
        (
            "2025-03-20T10:00:00Z",
            "other",
            minimal_registration(
                "Transport to day centres",
                "harrow",
                "Day services",
                "2025-03-20",
            ),
            vec![],
        ),
        (
            "2025-03-25T10:00:00Z",
            "admin",
            minimal_registration(
                "Direct payments support",
                "camden",
                "Direct payments",
                "2025-03-25",
            ),
            vec![],
        ),
    ];
    for (registered_at, who, registration, batches) in stories {
        let token = match who {
            "recorder" => recorder,
            "other" => other_recorder,
            _ => admin,
        };
        set_clock(clock, registered_at);
        let receipt = post(&client, &format!("{api}/projects"), token, &registration).await;
        let id = receipt["project_id"]
            .as_str()
            .expect("project_id")
            .to_string();
        for (recorded_at, events) in batches {
            set_clock(clock, recorded_at);
            post(
                &client,
                &format!("{api}/projects/{id}/events"),
                token,
                &json!({ "events": events }),
            )
            .await;
        }
    }
    set_clock(clock, "2025-05-02T09:00:00Z");
    5
}
