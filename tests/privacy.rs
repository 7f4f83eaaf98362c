//! Privacy, through real HTTP on each store: a panel cannot tell which groups fewer than five
//! people belong to (two projects differing only in a lone participant's groups read the same
//! to a panel, in the API, the CSV, the pages, the report, the portfolio and seals), nor how many
//! people below five did something, nor who; readers who may see personal data keep every
//! figure. Answers that carry personal data are kept by no cache; metrics are for administrators
//! of every organisation; every log line of a request carries its request id.

mod kit;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use coprod::store::AccessRole;
use coprod_domain::assessment::{
    COUNT_NOT_SHOWN, COUNT_NOT_SHOWN_VALUE, GROUPS_NOT_SHOWN, GROUP_INDICATORS,
};
use kit::app::token;
use kit::facts::*;
use kit::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The priority groups of the projects below.
const PRIORITIES: [&str; 3] = ["Muslim", "Carers", "Somali community"];
/// The one person with lived experience who took part.
const LONE: &str = "le-03";
/// One set of groups the lone participant may have: one priority group and a health condition.
const ONE_SET: [&str; 2] = ["Muslim", "HIV positive"];
/// Another: every priority group, a dimension, and more.
const ANOTHER_SET: [&str; 5] = [
    "Carers",
    "Somali community",
    "ethnicity: Somali",
    "Deaf",
    "young carers",
];
/// Version 1 of the rubric, as a query.
const VERSION_1: &str = "rubric=oxfordshire-six-point@1";

/// Every store's clock stands still here, so that two projects recorded one after the other
/// have the same instants.
fn still() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap()
}

/// A project whose one person with lived experience, [`LONE`], with `groups`, took part in a
/// commissioning workshop, made a suggestion that was answered and shared a decision with a
/// professional; registered in `service_area`.
async fn lone_participant_project(app: &TestApp, service_area: &str, groups: &[&str]) -> String {
    let registration = json!({
        "title": "Mosque outreach", "organisation": "oxfordshire", "service_area": service_area,
        "priority_groups": PRIORITIES, "started_on": "2025-01-06",
    });
    let receipt = app
        .register_as(&app.tokens.recorder, &registration)
        .await
        .json_with(201);
    let id = receipt["project_id"]
        .as_str()
        .expect("project_id")
        .to_string();
    app.record(
        &id,
        batch(&[
            joined(LONE, "lived_experience", groups),
            joined("pro-1", "professional", &[]),
            stage_started("commission"),
            activity("a1", "commission", &["pro-1"], &[LONE]),
            contribution("c1", LONE, "commission"),
        ]),
    )
    .await;
    app.record(&id, responded("c1")).await;
    app.record(&id, decision("d1", "commission", &[LONE, "pro-1"], &["c1"]))
        .await;
    id
}

/// Two projects alike but for the lone participant's groups (and their service areas, so that
/// each has a portfolio of its own).
struct Twins {
    one: String,
    another: String,
}

const ONE_AREA: &str = "alpha-services";
const ANOTHER_AREA: &str = "omega-services";

impl Twins {
    async fn record(app: &TestApp) -> Twins {
        Twins {
            one: lone_participant_project(app, ONE_AREA, &ONE_SET).await,
            another: lone_participant_project(app, ANOTHER_AREA, &ANOTHER_SET).await,
        }
    }

    /// `text` with what tells the twins apart whatever their groups (their ids, service areas
    /// and digests, which cover the ciphertext of the groups) put the same way.
    fn alike(&self, text: &str) -> String {
        let text = text
            .replace(&self.one, "PROJECT")
            .replace(&self.another, "PROJECT")
            .replace(ONE_AREA, "SERVICE_AREA")
            .replace(ANOTHER_AREA, "SERVICE_AREA");
        without_digests(&text)
    }
}

/// Every run of 64 hexadecimal digits (a SHA-256, as digests and ETags show it) as `DIGEST`.
fn without_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if run >= 64 {
            out.push_str("DIGEST");
            i += run;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// What a reader is given about a project through the API: its assessment under both rubric
/// versions, as JSON and CSV, its summary, its row in the list and its service area's
/// portfolio; each named.
async fn api_answers(app: &TestApp, token: &str, id: &str, area: &str) -> Vec<(String, String)> {
    let mut answers = Vec::new();
    for query in ["", VERSION_1] {
        let path = format!("/projects/{id}/assessment?{query}");
        let json = app.get(Some(token), &path).await.expect(200);
        answers.push((format!("JSON {path}"), json.text()));
        let csv = app
            .send(
                app.request(Method::GET, &path, Some(token))
                    .header("accept", "text/csv"),
            )
            .await
            .expect(200);
        answers.push((format!("CSV {path}"), csv.text()));
    }
    let summary = app
        .get(Some(token), &format!("/projects/{id}"))
        .await
        .json_with(200);
    answers.push(("the project's summary".into(), summary.to_string()));
    let list = app.get(Some(token), "/projects").await.json_with(200);
    let row = list["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["project_id"] == id)
        .cloned()
        .expect("the project is listed");
    answers.push(("the project's row in the list".into(), row.to_string()));
    for path in [
        format!("/portfolio?service_area={area}"),
        format!("/portfolio?service_area={area}&{VERSION_1}"),
    ] {
        let portfolio = app.get(Some(token), &path).await.expect(200);
        answers.push((path, portfolio.text()));
    }
    answers
}

/// A browser signed in with a token: cookies kept by hand, no redirects followed.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn signed_in(app: &TestApp, token: &str) -> Browser {
        let mut browser = Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        };
        let (status, _) = browser.get("/").await;
        assert_eq!(status, 200, "[{}] the sign-in page", app.backend);
        let csrf = browser
            .cookies
            .iter()
            .find(|(name, _)| name == "coprod_sign_in")
            .map(|(_, value)| value.clone())
            .expect("the sign-in cookie");
        let request = browser
            .client
            .post(format!("{}/sign-in", browser.base))
            .header("origin", browser.base.clone())
            .form(&[("token", token), ("csrf", csrf.as_str())]);
        let (status, body) = browser.send(request).await;
        assert_eq!(status, 303, "[{}] signing in: {body}", app.backend);
        browser
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, String) {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies.join("; "))
        };
        let response = request.send().await.expect("an answer");
        for cookie in response.headers().get_all("set-cookie") {
            let cookie = cookie.to_str().expect("a cookie");
            let Some((name, value)) = cookie.split(';').next().and_then(|p| p.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(k, _)| k != name);
            if !cookie.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }
}

/// What a reader is given about a project through the pages: the project page, the printed
/// report and its downloads.
async fn page_answers(browser: &mut Browser, id: &str) -> Vec<(String, String)> {
    let mut answers = Vec::new();
    for path in [
        format!("/projects/{id}"),
        format!("/projects/{id}/report"),
        format!("/projects/{id}/report.json"),
        format!("/projects/{id}/report.csv"),
    ] {
        let (status, body) = browser.get(&path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        answers.push((path, body));
    }
    answers
}

/// Seals the twin's assessment as `token`; the seal and the exact assessment it covers.
async fn seal(app: &TestApp, token: &str, id: &str) -> (Value, Value) {
    let answer = app
        .post(
            Some(token),
            &format!("/projects/{id}/assessments"),
            &json!({"purpose": "Adults scrutiny panel 2025-03-04"}),
        )
        .await
        .json_with(201);
    (answer["seal"].clone(), answer["assessment"].clone())
}

/// The verdict on the seal in entry `sequence`, as `token` asks for it.
async fn verdict(app: &TestApp, token: &str, id: &str, sequence: &Value) -> Value {
    app.get(
        Some(token),
        &format!("/projects/{id}/assessments/{sequence}/verify"),
    )
    .await
    .json_with(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_cannot_tell_which_groups_a_lone_participant_belongs_to_anywhere_it_reads() {
    each_backend_with_clock(still(), async |app| {
        let backend = app.backend;
        let twins = Twins::record(app).await;
        let panel = &app.tokens.panel;

        let one = api_answers(app, panel, &twins.one, ONE_AREA).await;
        let another = api_answers(app, panel, &twins.another, ANOTHER_AREA).await;
        let mut browser = Browser::signed_in(app, panel).await;
        let one_pages = page_answers(&mut browser, &twins.one).await;
        let another_pages = page_answers(&mut browser, &twins.another).await;

        let read = one
            .iter()
            .chain(&one_pages)
            .zip(another.iter().chain(&another_pages));
        for ((what, one), (_, another)) in read {
            assert_eq!(
                twins.alike(one),
                twins.alike(another),
                "[{backend}] {what}: a panel reads the lone participant's groups"
            );
            for told in [LONE, "HIV positive", "Deaf"] {
                assert!(
                    !one.contains(told) && !another.contains(told),
                    "[{backend}] {what}: a panel is told {told:?}"
                );
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_seal_is_of_the_body_a_panel_reads_and_still_holds_as_every_seal_does() {
    each_backend_with_clock(still(), async |app| {
        let backend = app.backend;
        let twins = Twins::record(app).await;
        let (panel, assurance) = (&app.tokens.panel, &app.tokens.assurance);

        let (one_seal, one_body) = seal(app, panel, &twins.one).await;
        let (another_seal, another_body) = seal(app, panel, &twins.another).await;
        assert_eq!(
            one_seal["disclosure"], "protected",
            "[{backend}] {one_seal}"
        );
        assert_eq!(
            twins.alike(&one_body.to_string()),
            twins.alike(&another_body.to_string()),
            "[{backend}] the sealed bodies tell the groups apart"
        );
        let read = app
            .get(Some(panel), &format!("/projects/{}/assessment", twins.one))
            .await
            .json_with(200);
        assert_eq!(
            one_body["criteria"], read["criteria"],
            "[{backend}] a panel's seal covers what a panel reads"
        );

        let (full_seal, full_body) = seal(app, assurance, &twins.one).await;
        assert!(
            full_seal.get("disclosure").is_none(),
            "[{backend}] a full seal is written as before: {full_seal}"
        );
        assert_ne!(
            full_body["criteria"], one_body["criteria"],
            "[{backend}] the assurance officer's seal keeps every figure"
        );

        for (id, seal) in [
            (&twins.one, &one_seal),
            (&twins.another, &another_seal),
            (&twins.one, &full_seal),
        ] {
            for token in [panel, assurance] {
                let check = verdict(app, token, id, &seal["sequence"]).await;
                assert_eq!(check["outcome"], "holds", "[{backend}] {seal}: {check}");
                assert_eq!(check["valid"], true, "[{backend}] {check}");
            }
        }
        let verified = app
            .get(
                Some(&app.tokens.admin),
                &format!("/projects/{}/verify", twins.one),
            )
            .await
            .json_with(200);
        assert!(
            !verified.to_string().contains("\"differs\""),
            "[{backend}] {verified}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_who_may_see_personal_data_keep_every_figure_and_name() {
    each_backend_with_clock(still(), async |app| {
        let backend = app.backend;
        let twins = Twins::record(app).await;
        for token in [
            &app.tokens.assurance,
            &app.tokens.recorder,
            &app.tokens.admin,
        ] {
            for query in ["", VERSION_1] {
                let read = async |id: &str| {
                    app.get(Some(token), &format!("/projects/{id}/assessment?{query}"))
                        .await
                        .json_with(200)
                };
                let (one, another) = (read(&twins.one).await, read(&twins.another).await);
                assert_ne!(
                    one["criteria"], another["criteria"],
                    "[{backend}] {query}: the full figures follow the groups"
                );
                let text = one.to_string();
                assert!(
                    text.contains("'Carers'") && !text.contains(GROUPS_NOT_SHOWN),
                    "[{backend}] {query}: {text}"
                );
            }
        }
        let version_1 = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{}/assessment?{VERSION_1}", twins.one),
            )
            .await
            .text();
        assert!(
            version_1.contains(&format!("Not rewarded beyond expenses: '{LONE}'")),
            "[{backend}] version 1 names who was not rewarded to those who may see it: {version_1}"
        );
    })
    .await;
}

/// Whether `text` states a count of people from one to four ("3 people", "one person", "1 of
/// the 2 people", "2 professional(s)").
fn states_a_small_count_of_people(text: &str) -> bool {
    const SMALL: [&str; 8] = ["1", "2", "3", "4", "one", "two", "three", "four"];
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.windows(2).any(|pair| {
        SMALL.contains(&pair[0].as_str())
            && ["people", "person", "professional", "professionals"].contains(&pair[1].as_str())
    })
}

#[test]
fn small_counts_of_people_are_recognised_and_others_are_not() {
    for small in [
        "1 person with lived experience in 'commission'",
        "Only 0 of the 1 people took part",
        "3 of the 4 people with lived experience",
        "2 professional(s) learning",
        "one person took part",
    ] {
        assert!(states_a_small_count_of_people(small), "{small}");
    }
    for fine in [
        "fewer than five people",
        "1 of 3 groups",
        "6 of the 8 people",
        "none of the people",
        "0 people with lived experience",
        "1 of the 1 contributions from people with lived experience",
    ] {
        assert!(!states_a_small_count_of_people(fine), "{fine}");
    }
}

/// Every indicator's value and explanation, each criterion's summary and the overall texts.
fn texts(assessment: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    for criterion in assessment["criteria"].as_array().expect("criteria") {
        texts.push(
            criterion["summary"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        for indicator in criterion["indicators"].as_array().expect("indicators") {
            for field in ["value", "explanation", "missing_evidence"] {
                texts.push(indicator[field].as_str().unwrap_or_default().to_string());
            }
        }
    }
    texts.push(
        assessment["overall"]["summary"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    texts.push(
        assessment["overall"]["headline"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_is_told_no_count_of_people_below_five_and_nobody_by_name() {
    each_backend_with_clock(still(), async |app| {
        let backend = app.backend;
        let twins = Twins::record(app).await;
        // Six people with lived experience, none rewarded beyond expenses: enough to count them,
        // and version 1 would name each of them.
        let many = app.new_project().await;
        let people: Vec<String> = (1..=6).map(|n| format!("carer-{n}")).collect();
        let ids: Vec<&str> = people.iter().map(String::as_str).collect();
        let mut facts: Vec<Value> = ids
            .iter()
            .map(|p| joined(p, "carer", &["carers"]))
            .collect();
        facts.push(joined("pro-1", "professional", &[]));
        facts.push(stage_started("commission"));
        facts.push(activity("a1", "commission", &["pro-1"], &ids));
        app.record(&many, batch(&facts)).await;

        for id in [&twins.one, &many] {
            for query in ["", VERSION_1] {
                let path = format!("/projects/{id}/assessment?{query}");
                let panel = app.get(Some(&app.tokens.panel), &path).await.json_with(200);
                for text in texts(&panel) {
                    assert!(
                        !states_a_small_count_of_people(&text),
                        "[{backend}] {path}: a panel is told {text:?}"
                    );
                    for person in ids.iter().chain(&[LONE, "pro-1"]) {
                        assert!(
                            !text.contains(&format!("'{person}'")),
                            "[{backend}] {path}: a panel is told of {person}: {text:?}"
                        );
                    }
                }
                let full = app
                    .get(Some(&app.tokens.assurance), &path)
                    .await
                    .json_with(200);
                if id == &twins.one && query == VERSION_1 {
                    // Where a panel is told less, it is told why, and the rating follows.
                    let indicator = |a: &Value, key: &str| -> Value {
                        a["criteria"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(|c| c["indicators"].as_array().cloned().unwrap_or_default())
                            .find(|i| i["key"] == key)
                            .expect("the indicator")
                    };
                    let started = indicator(&panel, "from_the_start");
                    assert_eq!(
                        started["value"], COUNT_NOT_SHOWN_VALUE,
                        "[{backend}] {started}"
                    );
                    assert_eq!(
                        started["explanation"], COUNT_NOT_SHOWN,
                        "[{backend}] {started}"
                    );
                    assert_eq!(
                        started["met"],
                        indicator(&full, "from_the_start")["met"],
                        "[{backend}] whether it is met is no count of people"
                    );
                    for key in GROUP_INDICATORS {
                        let withheld = indicator(&panel, key);
                        assert_eq!(withheld["state"], "not_shown", "[{backend}] {withheld}");
                        assert_eq!(withheld["evidence"], json!([]), "[{backend}] {withheld}");
                    }
                    let diverse = panel["criteria"]
                        .as_array()
                        .expect("criteria")
                        .iter()
                        .find(|c| c["key"] == "diverse_group_involvement")
                        .expect("criterion 4");
                    assert_eq!(
                        diverse["rating"], "insufficient_evidence",
                        "[{backend}] {diverse}"
                    );
                }
            }
        }
        let full = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{many}/assessment?{VERSION_1}"),
            )
            .await
            .text();
        assert!(
            full.contains("Not rewarded beyond expenses: 'carer-1'"),
            "[{backend}] {full}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_carry_personal_data_are_kept_by_no_cache() {
    each_backend(async |app| {
        let backend = app.backend;
        let id = rich_project(app).await;
        let t = &app.tokens;
        let no_store = |resp: &Resp| resp.header("cache-control").as_deref() == Some("no-store");

        let personal = [
            (&t.admin, format!("/projects/{id}/participants/p1"), None),
            (
                &t.assurance,
                format!("/projects/{id}/participants/p1"),
                None,
            ),
            (&t.recorder, format!("/projects/{id}/events"), None),
            (
                &t.admin,
                format!("/projects/{id}/events"),
                Some("application/x-ndjson"),
            ),
            (&t.assurance, format!("/projects/{id}/assessment"), None),
            (
                &t.recorder,
                format!("/projects/{id}/assessment"),
                Some("text/csv"),
            ),
            (
                &t.admin,
                format!("/projects/{id}/assessment?{VERSION_1}"),
                None,
            ),
        ];
        for (token, path, accept) in personal {
            let mut request = app.request(Method::GET, &path, Some(token));
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let resp = app.send(request).await.expect(200);
            assert!(no_store(&resp), "[{backend}] {path}: {:?}", resp.headers);
        }
        let sealed = app
            .post(
                Some(&t.assurance),
                &format!("/projects/{id}/assessments"),
                &json!({"purpose": "Audit"}),
            )
            .await
            .expect(201);
        assert!(no_store(&sealed), "[{backend}] a full seal's answer");

        // What a panel is given carries no personal data: it may be kept, and revalidated.
        let panel = app
            .get(Some(&t.panel), &format!("/projects/{id}/assessment"))
            .await
            .expect(200);
        assert!(!no_store(&panel), "[{backend}] {:?}", panel.headers);
        assert!(
            panel.header("etag").is_some(),
            "[{backend}] {:?}",
            panel.headers
        );
        let summary = app
            .get(Some(&t.panel), &format!("/projects/{id}"))
            .await
            .expect(200);
        assert!(!no_store(&summary), "[{backend}] {:?}", summary.headers);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_administrators_of_every_organisation_only() {
    each_backend(async |app| {
        let backend = app.backend;
        let local_admin = token(&app.store, AccessRole::Admin, "oxfordshire", "local admin").await;
        let every_assurance = token(
            &app.store,
            AccessRole::Assurance,
            "*",
            "assurance everywhere",
        )
        .await;
        let metrics = app
            .get(Some(&app.tokens.admin), "//metrics")
            .await
            .expect(200);
        assert!(
            metrics.content_type().starts_with("text/plain"),
            "[{backend}] {}",
            metrics.content_type()
        );
        for token in [
            &local_admin,
            &every_assurance,
            &app.tokens.assurance,
            &app.tokens.panel,
            &app.tokens.recorder,
        ] {
            app.get(Some(token), "//metrics")
                .await
                .problem(403, "forbidden");
        }
        app.get(None, "//metrics")
            .await
            .problem(401, "unauthorized");
    })
    .await;
}

/// The log lines written in this test process, from the first time one was asked for.
fn log_lines() -> Arc<Mutex<Vec<u8>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LINES
        .get_or_init(|| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let writer = lines.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info,tower_http=debug"))
                .with_ansi(false)
                .with_writer(move || LogWriter(writer.clone()))
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            lines
        })
        .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let lines = log_lines();
    each_backend(async |app| {
        let backend = app.backend;
        let id = app.new_project().await;
        // The client's own id is kept; without one, the server makes one and answers it.
        let chosen = format!("privacy-check-{backend}");
        let asked = app
            .send(
                app.request(
                    Method::GET,
                    &format!("/projects/{id}/assessment"),
                    Some(&app.tokens.panel),
                )
                .header("x-request-id", &chosen),
            )
            .await
            .expect(200);
        assert_eq!(
            asked.header("x-request-id").as_deref(),
            Some(chosen.as_str())
        );
        let refused = app
            .get(Some(&app.tokens.panel), &format!("/projects/{id}/events"))
            .await;
        refused.problem(403, "forbidden");
        let made = refused
            .header("x-request-id")
            .expect("a request id is answered");

        let written =
            String::from_utf8_lossy(&lines.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
        for request_id in [&chosen, &made] {
            let carried: Vec<&str> = written
                .lines()
                .filter(|line| line.contains(&format!("request_id={request_id}")))
                .collect();
            assert!(
                carried
                    .iter()
                    .any(|line| line.contains("finished processing request")),
                "[{backend}] no line of request {request_id} carries its id:\n{written}"
            );
            assert!(
                carried.iter().all(|line| !line.contains(&id)),
                "[{backend}] the route is logged, not the ids in the address: {carried:?}"
            );
        }
    })
    .await;
}

/// Takes the scorecard kept for panels out of every stored view, as views written before they
/// kept one are.
async fn forget_panel_scorecards(url: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query("UPDATE project_views SET body = json_remove(body, '$.protected_scorecard')")
            .execute(&mut connection)
            .await
            .expect("rewrite the views");
        connection.close().await.ok();
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query("UPDATE project_views SET body = (body::jsonb - 'protected_scorecard')::text")
            .execute(&mut connection)
            .await
            .expect("rewrite the views");
        connection.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_kept_without_a_panel_scorecard_is_scored_for_a_panel_when_it_is_read() {
    each_backend_with_clock(still(), async |app| {
        let backend = app.backend;
        let twins = Twins::record(app).await;
        let before = api_answers(app, &app.tokens.panel, &twins.one, ONE_AREA).await;
        let full = app.summary(&twins.one).await;
        forget_panel_scorecards(&app.db.url).await;

        let after = api_answers(app, &app.tokens.panel, &twins.one, ONE_AREA).await;
        assert_eq!(
            before, after,
            "[{backend}] a panel reads the same as before"
        );
        let another = api_answers(app, &app.tokens.panel, &twins.another, ANOTHER_AREA).await;
        for ((what, one), (_, another)) in after.iter().zip(&another) {
            assert_eq!(twins.alike(one), twins.alike(another), "[{backend}] {what}");
        }
        assert_eq!(
            app.summary(&twins.one).await,
            full,
            "[{backend}] an administrator still reads every figure"
        );
        assert!(
            full.get("protected_scorecard").is_none(),
            "[{backend}] the kept copy is never shown: {full}"
        );
    })
    .await;
}
