//! The participants' own voice (docs/api.md, docs/privacy.md): a one-time invitation, answered
//! on a public page once, recorded as `participant_answered` with its answer encrypted under the
//! participant's key, and counted beside the rating from the record with no count below five.

use chrono::{DateTime, Duration, Utc};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::kit::refusals::{assert_all_refused, refused, Request, Who};
use crate::kit::{Backend, TestDb};

/// Words only the answers in these tests hold, to look for in the database.
const COMMENT: &str = "The minibus never came on Tuesdays";

const ERASURE: &str = "{\"reason\": \"The participant asked for their data to be erased.\", \"legal_basis\": \"UK GDPR Article 17(1)(b)\"}";

fn invitations_path(id: &str, participant: &str) -> String {
    format!("/projects/{id}/participants/{participant}/invitations")
}

/// Issues an invitation for `participant` as the recorder; returns the API's answer.
async fn invite(app: &TestApp, id: &str, participant: &str, body: &Value) -> Value {
    app.post(
        Some(&app.tokens.recorder),
        &invitations_path(id, participant),
        body,
    )
    .await
    .json_with(201)
}

/// The link's path (`/your-say/…`), from an invitation.
fn link(invitation: &Value) -> String {
    invitation["path"].as_str().expect("path").to_string()
}

/// The page at `path` (a path from the site's root).
async fn open(app: &TestApp, path: &str) -> Resp {
    app.get(None, &format!("/{path}")).await
}

/// The form's CSRF value, read from the page.
fn form_value(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("the form has a csrf field") + marker.len();
    page[start..start + 64].to_string()
}

/// Answers through the link at `path`, as a browser posting the page's form would.
async fn answer(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Resp {
    let page = open(app, path).await.expect(200).text();
    post_form(app, path, &form_value(&page), fields, None).await
}

async fn post_form(
    app: &TestApp,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    origin: Option<&str>,
) -> Resp {
    let mut pairs = vec![("csrf", csrf)];
    pairs.extend_from_slice(fields);
    let body = serde_urlencoded::to_string(&pairs).unwrap();
    let mut builder = app
        .request(Method::POST, &format!("/{path}"), None)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(origin) = origin {
        builder = builder.header("Origin", origin);
    }
    app.send(builder).await
}

/// A full answer placing the project at `placement`.
fn answers(placement: &'static str, comment: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("placement", placement),
        ("listened_to", "agree"),
        ("could_influence", "disagree"),
        ("paid_or_thanked_fairly", "strongly_agree"),
        ("comment", comment),
        ("accessible_format", "easy_read"),
    ]
}

/// The stored payloads of the project's `participant_answered` entries, read raw.
async fn answered_payloads(db: &TestDb, id: &str) -> Vec<String> {
    let sql = "SELECT CAST(payload AS TEXT) FROM events \
               WHERE aggregate_id = $1 AND event_type = 'participant_answered' ORDER BY sequence";
    match db.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).bind(id).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|(p,)| p).collect()
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).bind(id).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|(p,)| p).collect()
        }
    }
}

/// How many invitations the database holds.
async fn invitation_count(db: &TestDb) -> i64 {
    let sql = "SELECT COUNT(*) FROM invitations";
    match db.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .0
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .0
        }
    }
}

/// A project with `people` participants with lived experience (`p1`…), who all attended one
/// training session in the commission stage.
async fn project_with_people(app: &TestApp, people: usize) -> String {
    let id = app.new_project().await;
    let ids: Vec<String> = (1..=people).map(|i| format!("p{i}")).collect();
    let mut facts: Vec<Value> = ids
        .iter()
        .map(|p| joined(p, "lived_experience", &["carers"]))
        .collect();
    facts.push(stage_started("commission"));
    let attendees: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut training = activity("a1", "commission", &[], &attendees);
    training["kind"] = json!("training");
    facts.push(training);
    app.record(&id, batch(&facts)).await;
    id
}

async fn assessment(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(Some(token), &format!("/projects/{id}/assessment"))
        .await
        .json_with(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_answered_once_and_a_second_use_records_nothing() {
    each_backend(async |app| {
        let id = project_with_people(app, 2).await;
        let invitation = invite(app, &id, "p1", &json!({})).await;
        let path = link(&invitation);
        assert!(path.starts_with("/your-say/"), "{invitation}");
        assert_eq!(invitation["participant_id"], "p1");
        assert!(
            invitation["url"]
                .as_str()
                .is_some_and(|url| url.starts_with("http://") && url.ends_with(&path)),
            "{invitation}"
        );
        let expires = DateTime::parse_from_rfc3339(invitation["expires_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        let days = (expires - Utc::now()).num_hours();
        assert!(
            (27 * 24..=28 * 24).contains(&days),
            "28 days by default: {invitation}"
        );

        let page = open(app, &path).await.expect(200);
        let html = page.text();
        assert!(html.contains("Tell us what you think"), "{html}");
        assert!(html.contains("I could influence decisions"));
        assert!(!html.contains("<script"), "no JavaScript");

        let before = app.sequence(&id).await;
        let csrf = form_value(&html);
        let thanks = post_form(app, &path, &csrf, &answers("co_design", COMMENT), None)
            .await
            .expect(200);
        assert!(thanks.text().contains("Thank you"));
        assert_eq!(app.sequence(&id).await, before + 1);
        let trail = app.trail(&id).await;
        let entry = trail.last().unwrap();
        assert_eq!(entry["type"], "participant_answered");
        assert_eq!(entry["recorded_by"], "participant via invitation");
        assert!(
            entry.get("personal_data").is_none(),
            "nobody reading the trail sees what was said: {entry}"
        );
        let verified = app
            .get(
                Some(&app.tokens.assurance),
                &format!("/projects/{id}/verify"),
            )
            .await
            .json_with(200);
        assert_eq!(verified["valid"], true, "the answer is chained: {verified}");
        // What they said is theirs: an officer's correction cannot withdraw it.
        app.assert_refused(
            &id,
            &correction(before + 1),
            422,
            "correction_not_allowed",
            Some("/corrects_sequence"),
        )
        .await;

        // The same link again: a clear page, and nothing recorded.
        let again = open(app, &path).await.expect(410);
        assert!(
            again.text().contains("already been used"),
            "{}",
            again.text()
        );
        assert!(again
            .text()
            .contains("ask the person who gave you the link"));
        let twice = post_form(app, &path, &csrf, &answers("co_production", "again"), None)
            .await
            .expect(410);
        assert!(twice.text().contains("already been used"));
        app.assert_sequence(&id, before + 1, "a second use").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invitation_shows_a_clear_page_and_records_nothing() {
    let start = DateTime::parse_from_rfc3339("2025-06-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    each_backend_with_clock(start, async |app| {
        let id = project_with_people(app, 1).await;
        let invitation = invite(app, &id, "p1", &json!({"expires_in_days": 1})).await;
        assert_eq!(invitation["expires_at"], "2025-06-03T09:00:00.000000Z");
        let path = link(&invitation);
        let page = open(app, &path).await.expect(200).text();
        let before = app.sequence(&id).await;

        app.store.clock().set(start + Duration::days(1));
        let expired = open(app, &path).await.expect(410);
        assert!(
            expired.text().contains("This link has expired"),
            "{}",
            expired.text()
        );
        assert!(expired
            .text()
            .contains("ask the person who gave you the link"));
        post_form(
            app,
            &path,
            &form_value(&page),
            &answers("co_design", COMMENT),
            None,
        )
        .await
        .expect(410);
        app.assert_sequence(&id, before, "an expired link").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_link_is_not_found_and_bad_forms_record_nothing() {
    each_backend(async |app| {
        let id = project_with_people(app, 1).await;
        let before = app.sequence(&id).await;
        for forged in [
            "/your-say/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "/your-say/short",
            "/your-say/%3Cscript%3E",
        ] {
            let page = open(app, forged).await.expect(404);
            assert!(page.text().contains("This link does not work"), "{forged}");
            assert!(page.text().contains("ask the person who gave you the link"));
            post_form(app, forged, "0", &answers("co_design", ""), None)
                .await
                .expect(404);
        }

        let path = link(&invite(app, &id, "p1", &json!({})).await);
        let csrf = form_value(&open(app, &path).await.expect(200).text());
        // Questions left unanswered: the form again, with what is missing.
        let missing = post_form(app, &path, &csrf, &[("placement", "co_design")], None)
            .await
            .expect(400)
            .text();
        assert!(missing.contains("There is a problem"), "{missing}");
        assert!(missing.contains("Choose how far you agree"));
        assert!(
            missing.contains("value=\"co_design\" checked"),
            "answers are kept"
        );
        // Answers no question offers.
        let mut made_up = answers("top_rung", "");
        made_up[1] = ("listened_to", "very_much");
        post_form(app, &path, &csrf, &made_up, None)
            .await
            .expect(400);
        // A comment with a control character, and one too long.
        let long = "x".repeat(2001);
        for comment in ["bell \u{7} here", long.as_str()] {
            let mut fields = answers("co_design", "");
            fields[4] = ("comment", comment);
            post_form(app, &path, &csrf, &fields, None)
                .await
                .expect(400);
        }
        // A form value this server did not make, and a post from another site.
        post_form(app, &path, &"0".repeat(64), &answers("co_design", ""), None)
            .await
            .expect(400);
        let cross = post_form(
            app,
            &path,
            &csrf,
            &answers("co_design", ""),
            Some("http://evil.example"),
        )
        .await
        .expect(403);
        assert!(cross.text().contains("another website"));
        app.assert_sequence(&id, before, "refused answers").await;
        // None of them used the link up.
        answer(app, &path, &answers("co_design", ""))
            .await
            .expect(200);
        app.assert_sequence(&id, before + 1, "the one answer").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_unreadable_in_the_database_and_gone_after_erasure() {
    each_backend(async |app| {
        let id = project_with_people(app, 2).await;
        let path = link(&invite(app, &id, "p1", &json!({})).await);
        answer(app, &path, &answers("co_design", COMMENT))
            .await
            .expect(200);

        let stored = answered_payloads(&app.db, &id).await;
        assert_eq!(stored.len(), 1);
        assert!(
            !stored[0].contains(COMMENT),
            "stored in clear: {}",
            stored[0]
        );
        assert!(
            !stored[0].contains("co_design"),
            "stored in clear: {}",
            stored[0]
        );
        assert!(stored[0].contains("AES-256-GCM"), "{}", stored[0]);

        // Subject access shows the person their own answer.
        let access_path = format!("/projects/{id}/participants/p1");
        let access = app
            .get(Some(&app.tokens.assurance), &access_path)
            .await
            .json_with(200);
        let answered = access["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["type"] == "participant_answered")
            .expect("the answer is among what subject access returns")
            .clone();
        assert_eq!(answered["event"]["answer"]["comment"], COMMENT);
        assert_eq!(answered["event"]["answer"]["placement"], "co_design");
        assert_eq!(answered["recorded_by"], "participant via invitation");

        let outstanding = link(&invite(app, &id, "p1", &json!({})).await);
        let erased = app
            .post_raw(
                Some(&app.tokens.admin),
                &format!("/projects/{id}/participants/p1/erase"),
                "application/json",
                ERASURE.as_bytes().to_vec(),
            )
            .await;
        erased.expect(201);
        let access = app
            .get(Some(&app.tokens.assurance), &access_path)
            .await
            .json_with(200);
        let answered = access["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["type"] == "participant_answered")
            .unwrap()
            .clone();
        assert_eq!(answered["event"]["answer"], "erased", "{answered}");
        let assessed = assessment(app, &app.tokens.assurance, &id).await;
        assert_eq!(
            assessed["people_say"]["answered"],
            json!({"count": null, "suppressed": true})
        );
        // A link given before the erasure no longer works, and records nothing.
        let before = app.sequence(&id).await;
        let gone = open(app, &outstanding).await.expect(410);
        assert!(
            gone.text().contains("can no longer be used"),
            "{}",
            gone.text()
        );
        app.assert_sequence(&id, before, "a link of an erased participant")
            .await;
        // An erased participant can be invited no more.
        app.post(
            Some(&app.tokens.recorder),
            &invitations_path(&id, "p1"),
            &json!({}),
        )
        .await
        .problem(422, "participant_erased");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_below_five_are_suppressed_and_a_placement_two_rungs_away_is_flagged() {
    each_backend(async |app| {
        let id = project_with_people(app, 6).await;
        let before = assessment(app, &app.tokens.assurance, &id).await;
        assert!(
            before.get("people_say").is_none(),
            "nobody has answered yet"
        );
        let record = before["overall"]["ladder"]["rung"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(record, "educating", "{}", before["overall"]["ladder"]);

        // Four people agree with the record.
        for p in ["p1", "p2", "p3", "p4"] {
            let path = link(&invite(app, &id, p, &json!({})).await);
            answer(app, &path, &answers("educating", COMMENT))
                .await
                .expect(200);
        }
        for token in [&app.tokens.assurance, &app.tokens.panel] {
            let say = assessment(app, token, &id).await["people_say"].clone();
            let hidden = json!({"count": null, "suppressed": true});
            assert_eq!(say["answered"], hidden, "{say}");
            assert_eq!(say["placement"]["educating"], hidden, "{say}");
            assert_eq!(say["listened_to"]["agree"], hidden, "{say}");
            assert!(say.get("middle_placement").is_none(), "{say}");
            assert!(say.get("comments").is_none(), "{say}");
            assert!(say.get("flag").is_none(), "{say}");
            assert!(
                !say.to_string().contains('4'),
                "no count of four anywhere: {say}"
            );
        }

        // The fifth: counts of five are shown, smaller ones still not.
        let path = link(&invite(app, &id, "p5", &json!({})).await);
        answer(app, &path, &answers("educating", ""))
            .await
            .expect(200);
        let say = assessment(app, &app.tokens.assurance, &id).await["people_say"].clone();
        assert_eq!(say["answered"], json!({"count": 5, "suppressed": false}));
        assert_eq!(say["placement"]["educating"]["count"], 5);
        assert_eq!(say["placement"]["co_design"]["suppressed"], true);
        assert_eq!(say["listened_to"]["agree"]["count"], 5);
        assert_eq!(say["middle_placement"], "educating");
        assert_eq!(say["record_rung"], "educating");
        assert!(
            say.get("flag").is_none(),
            "they agree with the record: {say}"
        );
        assert_eq!(say["comments"], json!([COMMENT, COMMENT, COMMENT, COMMENT]));
        let panel = assessment(app, &app.tokens.panel, &id).await["people_say"].clone();
        assert!(
            panel.get("comments").is_none(),
            "panels read no comments: {panel}"
        );

        // Three of them answer again, two rungs or more above the record: their latest answer
        // counts, once each.
        for p in ["p1", "p2", "p3"] {
            let path = link(&invite(app, &id, p, &json!({})).await);
            answer(app, &path, &answers("engagement", ""))
                .await
                .expect(200);
        }
        let say = assessment(app, &app.tokens.panel, &id).await["people_say"].clone();
        assert_eq!(say["answered"]["count"], 5, "each person once: {say}");
        assert_eq!(say["middle_placement"], "engagement");
        assert_eq!(say["flag"]["key"], "people_place_it_differently", "{say}");
        assert!(
            say["flag"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("3 rungs higher")),
            "{say}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_assessments_ignore_the_answers() {
    each_backend(async |app| {
        let id = project_with_people(app, 1).await;
        let v1 = format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@1");
        let before = app
            .get(Some(&app.tokens.assurance), &v1)
            .await
            .json_with(200);
        let path = link(&invite(app, &id, "p1", &json!({})).await);
        answer(app, &path, &answers("co_production", COMMENT))
            .await
            .expect(200);
        let after = app
            .get(Some(&app.tokens.assurance), &v1)
            .await
            .json_with(200);
        assert!(after.get("people_say").is_none(), "{after}");
        let strip = |mut v: Value| {
            for key in ["as_of", "at_sequence", "stream_digest"] {
                v.as_object_mut().unwrap().remove(key);
            }
            v
        };
        assert_eq!(strip(before), strip(after));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_invitation_requests_are_refused_and_issue_nothing() {
    each_backend(async |app| {
        let id = project_with_people(app, 1).await;
        app.record(&id, joined("p2", "carer", &[])).await;
        let path = invitations_path(&id, "p1");
        let days = |n: Value| Request::post(&path, &json!({"expires_in_days": n}));
        let rows = vec![
            refused("no token", Request::post(&path, &json!({})).by(Who::Nobody), 401, "unauthorized"),
            refused("a panel", Request::post(&path, &json!({})).by(Who::Panel), 403, "forbidden"),
            refused("assurance", Request::post(&path, &json!({})).by(Who::Assurance), 403, "forbidden"),
            refused(
                "someone who never joined",
                Request::post(invitations_path(&id, "p9"), &json!({})),
                404,
                "not_found",
            ),
            refused(
                "a project that does not exist",
                Request::post(
                    invitations_path("00000000-0000-4000-8000-000000000000", "p1"),
                    &json!({}),
                ),
                404,
                "not_found",
            ),
            refused("no days", days(json!(0)), 422, "validation_failed").at("/expires_in_days"),
            refused("too many days", days(json!(91)), 422, "validation_failed").at("/expires_in_days"),
            refused("days before now", days(json!(-3)), 422, "validation_failed").at("/expires_in_days"),
            refused("days as text", days(json!("seven")), 400, "validation_failed").at("/expires_in_days"),
            refused("a fraction of a day", days(json!(1.5)), 400, "validation_failed").at("/expires_in_days"),
            refused(
                "an unknown field",
                Request::post(&path, &json!({"expires": 3})),
                400,
                "unknown_field",
            )
            .at("/expires"),
            refused(
                "not JSON",
                Request::post_bytes(&path, Some("application/json"), "days=3"),
                400,
                "invalid_json",
            ),
            // The server writes answers; clients cannot post one.
            refused(
                "an answer posted as a fact",
                Request::post(
                    format!("/projects/{id}/events"),
                    &json!({"type": "participant_answered", "participant_id": "p1",
                            "answer": {"placement": "co_production", "listened_to": "agree",
                                       "could_influence": "agree", "paid_or_thanked_fairly": "agree"},
                            "occurred_on": DAY}),
                ),
                400,
                "unknown_event_type",
            )
            .and("says the server writes it", |p| {
                p["detail"].as_str().is_some_and(|d| d.contains("written by the server"))
            }),
        ];
        assert_all_refused(app, Some(&id), rows).await;
        app.post(Some(&app.tokens.bucks), &path, &json!({}))
            .await
            .problem(404, "not_found");
        assert_eq!(invitation_count(&app.db).await, 0, "no refused request issued a link");
    })
    .await;
}
