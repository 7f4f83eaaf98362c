//! Importing registers kept in spreadsheets: a messy real-world CSV (byte order mark, Windows line
//! ends, blank lines, a date written 03/02/2025, an unknown person, a duplicate row), the dry run
//! and the commit agreeing, importing again recording nothing, and files refused as a whole.

use serde_json::Value;

use crate::helpers::*;

const CSV: &str = "text/csv";

async fn import(app: &TestApp, id: &str, query: &str, file: &str) -> Resp {
    app.post_raw(
        Some(&app.tokens.recorder),
        &format!("/projects/{id}/imports?{query}"),
        CSV,
        file.as_bytes().to_vec(),
    )
    .await
}

fn rows(plan: &Value, list: &str) -> Vec<u64> {
    plan[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {plan}"))
        .iter()
        .map(|r| r["row"].as_u64().expect("row"))
        .collect()
}

/// As a spreadsheet saves it: a byte order mark, Windows line ends, a blank line, a date in the
/// British style, and the first person typed twice.
const MESSY_PEOPLE: &str = "\u{feff}participant_id,kind,groups,occurred_on\r\n\
p1,carer,carers;young carers,2025-02-03\r\n\
\r\n\
p2,carer,Somali community,03/02/2025\r\n\
s1,professional,,2025-02-03\r\n\
p1,carer,carers;young carers,2025-02-03\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messy_register_is_planned_row_by_row_and_refused_whole_until_corrected() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let before = app.sequence(&id).await;

        let plan = import(app, &id, "kind=people&dry_run=true", MESSY_PEOPLE)
            .await
            .json_with(200);
        assert_eq!(plan["rows"], 4, "the blank line is not a row: {plan}");
        assert_eq!(rows(&plan, "accepted"), [2, 5]);
        assert_eq!(rows(&plan, "refused"), [4]);
        let refused = &plan["refused"][0];
        assert_eq!(refused["column"], "occurred_on", "{refused}");
        assert_eq!(refused["code"], "validation_failed");
        assert!(
            refused["message"].as_str().unwrap().contains("YYYY-MM-DD"),
            "the API's own words: {refused}"
        );
        assert_eq!(rows(&plan, "already_recorded"), [6]);
        assert_eq!(plan["already_recorded"][0]["same_as_row"], 2);
        assert_eq!(plan["accepted"][0]["entry"]["groups"][1], "young carers");
        app.assert_sequence(&id, before, "a dry run").await;

        // Committed with a refused row: nothing at all.
        let problem = import(app, &id, "kind=people", MESSY_PEOPLE)
            .await
            .problem_at(422, "import_refused", "/rows/4/occurred_on");
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was recorded"));
        app.assert_sequence(&id, before, "a refused import").await;

        // Corrected, the dry run and the commit agree, and the entries are in the trail.
        let corrected = MESSY_PEOPLE.replace("03/02/2025", "2025-02-03");
        let dry = import(app, &id, "kind=people&dry_run=true", &corrected)
            .await
            .json_with(200);
        let done = import(app, &id, "kind=people", &corrected)
            .await
            .json_with(201);
        assert_eq!(dry["accepted"], done["accepted"]);
        assert_eq!(dry["already_recorded"], done["already_recorded"]);
        assert_eq!(done["first_sequence"], before + 1);
        assert_eq!(done["last_sequence"], before + 3);
        let trail = app.trail(&id).await;
        let joined: Vec<&str> = trail
            .iter()
            .filter(|e| e["type"] == "participant_joined")
            .map(|e| e["data"]["participant_id"].as_str().unwrap())
            .collect();
        assert_eq!(joined, ["p1", "p2", "s1"]);

        // Importing the same file again records nothing new, and succeeds.
        let again = import(app, &id, "kind=people", &corrected)
            .await
            .json_with(200);
        assert_eq!(rows(&again, "accepted"), Vec::<u64>::new());
        assert_eq!(rows(&again, "already_recorded"), [2, 4, 5, 6]);
        assert!(again.get("first_sequence").is_none(), "{again}");
        app.assert_sequence(&id, before + 3, "importing again")
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_rewards_and_contributions_import_by_the_same_rules_as_the_api() {
    each_backend(async |app| {
        let id = app.new_project().await;
        app.record(
            &id,
            batch(&[
                joined("p1", "carer", &["carers"]),
                joined("s1", "professional", &[]),
                stage_started("commission"),
            ]),
        )
        .await;

        // An unknown person is refused with the API's code, at the column that names them.
        let activities =
            "activity_id,stage,kind,title,facilitators,attendees,occurred_on,duration_minutes\n\
a1,commission,workshop,Carers' workshop,p1,s1,2025-02-03,90\n\
a2,commission,workshop,Second workshop,p9,s1,2025-02-04,\n";
        let plan = import(app, &id, "kind=activities&dry_run=true", activities)
            .await
            .json_with(200);
        assert_eq!(rows(&plan, "accepted"), [2]);
        assert_eq!(plan["refused"][0]["row"], 3);
        assert_eq!(plan["refused"][0]["code"], "unknown_participant");
        assert_eq!(plan["refused"][0]["column"], "facilitators");
        let fixed = activities.replace(",p9,", ",p1,");
        import(app, &id, "kind=activities", &fixed)
            .await
            .json_with(201);

        let rewards = "participant_id,kind,amount_pence,activity_id,occurred_on\n\
p1,payment,3000,a1,2025-02-03\n\
p1,payment,thirty pounds,a2,2025-02-04\n";
        let plan = import(app, &id, "kind=rewards&dry_run=true", rewards)
            .await
            .json_with(200);
        assert_eq!(rows(&plan, "accepted"), [2]);
        assert_eq!(plan["refused"][0]["column"], "amount_pence");
        let fixed = rewards.replace("thirty pounds", "3000");
        let done = import(app, &id, "kind=rewards", &fixed)
            .await
            .json_with(201);
        assert_eq!(rows(&done, "accepted"), [2, 3]);
        // The same payments again are already recorded.
        let again = import(app, &id, "kind=rewards", &fixed)
            .await
            .json_with(200);
        assert_eq!(rows(&again, "already_recorded"), [2, 3]);

        let contributions = "contribution_id,participant_id,stage,kind,summary,occurred_on\n\
c1,p1,commission,idea,\"Meet in the evening, after caring hours.\",2025-02-03\n";
        let done = import(app, &id, "kind=contributions", contributions)
            .await
            .json_with(201);
        assert_eq!(
            done["accepted"][0]["entry"]["summary"],
            "Meet in the evening, after caring hours."
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_templates_give_each_kinds_header_row() {
    each_backend(async |app| {
        let people = app
            .get(Some(&app.tokens.recorder), "/imports/templates/people.csv")
            .await
            .expect(200);
        assert!(people.content_type().starts_with("text/csv"));
        assert_eq!(
            people.text(),
            "participant_id,kind,groups,occurred_on,lived_experience\r\n"
        );
        app.get(
            Some(&app.tokens.recorder),
            "/imports/templates/donations.csv",
        )
        .await
        .problem(404, "not_found");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_what_it_should_be_is_refused_before_any_row_and_records_nothing() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let before = app.sequence(&id).await;
        let path = format!("/projects/{id}/imports?kind=people");
        let recorder = Some(app.tokens.recorder.as_str());
        let post = |content_type: &'static str, bytes: Vec<u8>| {
            app.post_raw(recorder, &path, content_type, bytes)
        };

        let missing = post(
            CSV,
            b"participant_id,kind,groups\np1,carer,carers\n".to_vec(),
        )
        .await;
        let problem = missing.problem(400, "invalid_csv");
        assert!(
            problem["detail"].as_str().unwrap().contains("occurred_on"),
            "{problem}"
        );

        let extra = post(
            CSV,
            b"participant_id,kind,groups,occurred_on,age\np1,carer,carers,2025-02-03,71\n".to_vec(),
        )
        .await;
        let problem = extra.problem(400, "invalid_csv");
        assert!(
            problem["detail"].as_str().unwrap().contains("age"),
            "{problem}"
        );

        let mut latin1 = b"participant_id,kind,groups,occurred_on\np1,carer,".to_vec();
        latin1.extend_from_slice(&[0xe9, b'\n']);
        post(CSV, latin1).await.problem(400, "invalid_csv");

        let mut huge = b"participant_id,kind,groups,occurred_on\n".to_vec();
        while huge.len() <= 1024 * 1024 {
            huge.extend_from_slice(b"p1,carer,carers,2025-02-03\n");
        }
        post(CSV, huge).await.problem(413, "payload_too_large");

        post("application/json", b"{}".to_vec())
            .await
            .problem(415, "unsupported_media_type");
        app.post_raw(
            recorder,
            &format!("/projects/{id}/imports?kind=donations"),
            CSV,
            b"participant_id\n".to_vec(),
        )
        .await
        .problem_at(400, "validation_failed", "kind");
        app.post_raw(
            Some(&app.tokens.panel),
            &path,
            CSV,
            MESSY_PEOPLE.as_bytes().to_vec(),
        )
        .await
        .problem(403, "forbidden");
        app.assert_sequence(&id, before, "refused files").await;
    })
    .await;
}
