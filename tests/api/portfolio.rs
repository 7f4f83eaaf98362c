//! The portfolio: figures equal to what the per-project assessments say, replayed as of each
//! period end (a later correction does not change an earlier period), organisations kept apart,
//! the comparison of organisations, determinism, CSV, rebuilt views, and every bad parameter.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::helpers::*;

const CRITERIA: [&str; 6] = [
    "whole_life_involvement",
    "blurred_boundaries",
    "reciprocal_reward",
    "diverse_group_involvement",
    "equal_valuation_of_assets",
    "shared_responsibility",
];

/// The year the clock-driven stories are told in (after the fixtures' `DAY`): the servers' clock is fixed to it, so the
/// entries are stamped on the story's days.
const YEAR: i32 = 2026;

fn story_instant(month_day_time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{YEAR}-{month_day_time}"))
        .expect("instant")
        .with_timezone(&Utc)
}

fn set_clock(app: &TestApp, month_day_time: &str) {
    assert!(
        app.store.clock().set(story_instant(month_day_time)),
        "a fixed clock"
    );
}

fn date(month_day: &str) -> String {
    format!("{YEAR}-{month_day}")
}

async fn portfolio(app: &TestApp, token: &str, query: &str) -> Value {
    app.get(Some(token), &format!("/portfolio{query}"))
        .await
        .json_with(200)
}

fn criterion<'a>(figures: &'a Value, key: &str) -> &'a Value {
    figures["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no criterion {key} in {figures}"))
}

fn indicator<'a>(figures: &'a Value, criterion_key: &str, key: &str) -> &'a Value {
    criterion(figures, criterion_key)["indicators"]
        .as_array()
        .expect("indicators")
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no indicator {key} in {figures}"))
}

fn stage_row<'a>(figures: &'a Value, stage: &str) -> &'a Value {
    figures["projects"]["by_stage"]
        .as_array()
        .expect("by_stage")
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {figures}"))
}

/// A project whose people with lived experience joined only at the design stage, took part in
/// an activity there and were not rewarded; closed when `close`.
async fn late_project(app: &TestApp, close: bool) -> String {
    let id = app.new_project_titled("Day services review").await;
    let mut events = vec![
        joined("q1", "lived_experience", &["learning disability"]),
        joined("q2", "professional", &[]),
        stage_started("commission"),
        activity("k1", "commission", &["q2"], &[]),
        stage_started("design"),
        activity("k2", "design", &["q2"], &["q1"]),
    ];
    if close {
        events.push(closed());
    }
    app.record(&id, batch(&events)).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_counts_what_each_projects_assessment_says() {
    each_backend(async |app| {
        let rich = rich_project(app).await;
        let late = late_project(app, false).await;
        let bare = app.new_project_titled("Advocacy contract").await;
        app.record(&bare, closed()).await;
        let rich_closed = rich_project(app).await;
        app.record(&rich_closed, closed()).await;
        let late_closed = late_project(app, true).await;
        // Another organisation's project is not counted.
        app.register_as(&app.tokens.bucks, &registration("Bucks project", "bucks"))
            .await
            .expect(201);
        let ids = [&rich, &late, &bare, &rich_closed, &late_closed];

        let panel = app.tokens.panel.clone();
        let figures = portfolio(app, &panel, "").await;
        assert_eq!(figures["organisation"], "oxfordshire");
        assert_eq!(figures["service_area"], Value::Null);
        assert_eq!(figures["rubric"]["id"], "oxfordshire-six-point");
        assert_eq!(
            figures["rubric"]["version"], 2,
            "the latest rubric by default"
        );
        assert_eq!(figures["projects"]["total"], 5, "{figures}");
        assert_eq!(figures["projects"]["open"], 2);
        assert_eq!(figures["projects"]["closed"], 3);

        // Every figure equals the count of the per-project assessments that say so, under
        // version 1 as under version 2.
        let version_1 = portfolio(app, &panel, "?rubric=oxfordshire-six-point@1").await;
        assert_eq!(version_1["rubric"]["version"], 1);
        assert_figures_match(app, &panel, &version_1, &ids).await;
        let assessments = assert_figures_match(app, &panel, &figures, &ids).await;
        // The project with nothing but its registration cannot be judged on any point, and
        // no indicator of it counts as met.
        for key in CRITERIA {
            assert!(
                criterion(&figures, key)["insufficient_evidence"]["count"]
                    .as_u64()
                    .unwrap()
                    >= 1,
                "{key}: {figures}"
            );
        }
        let latest = assessments
            .iter()
            .map(|a| a["as_of"].as_str().unwrap().to_string())
            .max()
            .unwrap();
        assert_eq!(
            figures["as_of"],
            latest.as_str(),
            "the latest entry counted"
        );
        // The rich projects are meeting more than nothing: the counts are not all zero.
        assert!(
            criterion(&figures, "whole_life_involvement")["indicators"][0]["met"]["count"]
                .as_u64()
                .unwrap()
                >= 2,
            "{figures}"
        );

        // Open and closed by the latest stage reached.
        assert_eq!(stage_row(&figures, "commission")["open"], 1);
        assert_eq!(stage_row(&figures, "commission")["closed"], 1);
        assert_eq!(stage_row(&figures, "design")["open"], 1);
        assert_eq!(stage_row(&figures, "design")["closed"], 1);
        assert_eq!(stage_row(&figures, "none")["closed"], 1);
        assert_eq!(
            stage_row(&figures, "deliver"),
            &json!({"stage": "deliver", "open": 0, "closed": 0})
        );
        // Involvement started late and rewards missing: the two day-services projects.
        assert_eq!(
            figures["attention"]["involvement_started_late"],
            json!({"count": 2, "per_cent": 40})
        );
        assert_eq!(
            figures["attention"]["rewards_missing"],
            json!({"count": 2, "per_cent": 40})
        );

        // A service area narrows it down.
        let carers = portfolio(app, &panel, "?service_area=carers").await;
        assert_eq!(carers["projects"]["total"], 5);
        assert_eq!(carers["service_area"], "carers");
        let none = portfolio(app, &panel, "?service_area=housing").await;
        assert_eq!(none["projects"]["total"], 0);
        assert_eq!(none["as_of"], Value::Null);
        assert_eq!(
            criterion(&none, "reciprocal_reward")["met"],
            json!({"count": 0, "per_cent": null})
        );
    })
    .await;
}

/// Asserts that every criterion and indicator figure of `figures` is the count of the projects
/// `ids` whose own assessment (`GET /projects/{id}/assessment`, under the figures' rubric) says
/// so; returns those assessments. Under version 2 every rating and every state is counted;
/// under version 1 there are no such figures.
async fn assert_figures_match(
    app: &TestApp,
    token: &str,
    figures: &Value,
    ids: &[&String],
) -> Vec<Value> {
    let total = ids.len() as u64;
    assert_eq!(figures["projects"]["total"], total, "{figures}");
    let version = figures["rubric"]["version"].as_u64().expect("a version");
    let mut assessments = Vec::new();
    for id in ids {
        let assessment = app
            .get(
                Some(token),
                &format!("/projects/{id}/assessment?rubric=oxfordshire-six-point@{version}"),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["rubric"], figures["rubric"]);
        assessments.push(assessment);
    }
    let (ratings, states): (&[&str], &[&str]) = if version >= 2 {
        (
            &["met", "partly_met", "not_met", "insufficient_evidence"],
            &["met", "not_met", "not_applicable", "not_recorded"],
        )
    } else {
        (&["met", "partly_met", "not_met"], &["met"])
    };
    for (c, key) in CRITERIA.iter().enumerate() {
        let row = criterion(figures, key);
        for rating in ratings {
            let expected = assessments
                .iter()
                .filter(|a| a["criteria"][c]["rating"] == *rating)
                .count() as u64;
            assert_eq!(row[rating]["count"], expected, "{key} {rating}: {row}");
            assert_eq!(
                row[rating]["per_cent"],
                expected * 100 / total,
                "{key} {rating}"
            );
        }
        if version < 2 {
            assert!(row.get("insufficient_evidence").is_none(), "{row}");
        }
        let indicators = row["indicators"].as_array().unwrap();
        assert_eq!(
            indicators.len(),
            assessments[0]["criteria"][c]["indicators"]
                .as_array()
                .unwrap()
                .len()
        );
        for (i, indicator) in indicators.iter().enumerate() {
            assert_eq!(
                indicator["key"],
                assessments[0]["criteria"][c]["indicators"][i]["key"]
            );
            // A panel is also told where an indicator is not shown to it.
            let mut states = states.to_vec();
            if indicator.get("not_shown").is_some() {
                states.push("not_shown");
            }
            for state in &states {
                let expected = assessments
                    .iter()
                    .filter(|a| {
                        let said = &a["criteria"][c]["indicators"][i];
                        if version >= 2 {
                            said["state"] == *state
                        } else {
                            said["met"] == true
                        }
                    })
                    .count() as u64;
                assert_eq!(
                    indicator[state]["count"], expected,
                    "{key} {state}: {indicator}"
                );
                assert_eq!(indicator[state]["per_cent"], expected * 100 / total);
            }
            // What cannot be judged is never counted as met.
            if version >= 2 {
                let counted: u64 = states
                    .iter()
                    .map(|state| indicator[state]["count"].as_u64().unwrap())
                    .sum();
                assert_eq!(counted, total, "every project is in one state: {indicator}");
            } else {
                assert!(indicator.get("not_recorded").is_none(), "{indicator}");
            }
        }
    }
    assessments
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_erasure_the_portfolio_still_counts_what_each_assessment_says() {
    each_backend(async |app| {
        let a = rich_project(app).await;
        let b = app.new_project_titled("Young carers' forum").await;
        app.record(
            &b,
            batch(&[
                joined("y1", "carer", &["young carers"]),
                joined("y2", "carer", &["carers"]),
                joined("y3", "lived_experience", &["Somali community"]),
                stage_started("commission"),
                activity("f1", "commission", &["y1"], &["y2", "y3"]),
            ]),
        )
        .await;
        let panel = app.tokens.panel.clone();
        let before = portfolio(app, &panel, "").await;
        assert_figures_match(app, &panel, &before, &[&a, &b]).await;
        let before_1 = portfolio(app, &panel, "?rubric=oxfordshire-six-point@1").await;
        assert_figures_match(app, &panel, &before_1, &[&a, &b]).await;
        let erasure = json!({"reason": "The participant asked for their data to be erased.",
                             "legal_basis": "UK GDPR Article 17(1)(b)"});
        app.post(
            Some(&app.tokens.admin),
            &format!("/projects/{b}/participants/y3/erase"),
            &erasure,
        )
        .await
        .expect(201);
        let after = portfolio(app, &panel, "").await;
        assert_figures_match(app, &panel, &after, &[&a, &b]).await;
        let after_1 = portfolio(app, &panel, "?rubric=oxfordshire-six-point@1").await;
        assert_figures_match(app, &panel, &after_1, &[&a, &b]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_question_gives_the_same_bytes_etag_and_csv_and_a_rebuild_changes_nothing() {
    each_backend(async |app| {
        rich_project(app).await;
        late_project(app, true).await;
        let panel = Some(app.tokens.panel.as_str());
        for path in ["/portfolio", "/portfolio/trend"] {
            let first = app.get(panel, path).await.expect(200);
            let second = app.get(panel, path).await.expect(200);
            assert_eq!(first.body, second.body, "{path}: byte-identical");
            let etag = first.header("etag").expect("ETag");
            assert_eq!(
                etag,
                format!("\"{}\"", hex::encode(Sha256::digest(&first.body)))
            );
            assert_eq!(second.header("etag"), Some(etag.clone()));
            let cached = app
                .send(
                    app.request(Method::GET, path, panel)
                        .header("if-none-match", &etag),
                )
                .await
                .expect(304);
            assert!(cached.body.is_empty());

            // Rebuilding the views gives the same answer.
            app.store.rebuild_views(&|_, _| {}).await.expect("rebuild");
            let rebuilt = app.get(panel, path).await.expect(200);
            assert_eq!(rebuilt.body, first.body, "{path}: after a rebuild");
        }
        let csv_of = |path: &'static str| async move {
            let csv = app
                .send(
                    app.request(Method::GET, path, panel)
                        .header("accept", "text/csv"),
                )
                .await
                .expect(200);
            assert!(csv.content_type().starts_with("text/csv"));
            csv.text()
        };
        for text in [
            csv_of("/portfolio").await,
            csv_of("/portfolio?rubric=oxfordshire-six-point@1").await,
        ] {
            let mut lines = text.lines();
            assert_eq!(
                lines.next(),
                Some("organisation,service_area,period,as_of,figure,criterion,key,status,rating,count,per_cent,of_projects")
            );
            assert!(text.contains(",projects,,total,,,2,,2"), "{text}");
            assert!(
                text.contains(",attention,,involvement_started_late,,,1,50,2"),
                "{text}"
            );
        }
        // Version 1: 3 project rows, 10 stage rows, 6 × (3 + 3) criterion and indicator rows,
        // 2 attention rows.
        let version_1 = csv_of("/portfolio?rubric=oxfordshire-six-point@1").await;
        assert_eq!(version_1.lines().count(), 1 + 3 + 10 + 36 + 2);
        // Version 2 (the default): four ratings per criterion, four states per indicator, and
        // (asked by a panel) how many projects it is not shown for.
        let version_2 = csv_of("/portfolio").await;
        assert_eq!(version_2.lines().count(), 1 + 3 + 10 + 6 * 4 + 26 * 5 + 2);
        assert!(
            version_2.contains(",criterion,shared_responsibility,,,insufficient_evidence,"),
            "{version_2}"
        );
        assert!(
            version_2.contains(",indicator,reciprocal_reward,fair_rate,,not_recorded,"),
            "{version_2}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_period_is_replayed_as_recorded_by_its_end_so_a_later_correction_leaves_it_alone() {
    each_backend_with_clock(story_instant("01-10T10:00:00Z"), async |app| {
        let a = app.new_project_titled("Carers' breaks").await;
        app.record(
            &a,
            batch(&[
                joined("p1", "carer", &["carers"]),         // 2
                joined("p2", "professional", &[]),          // 3
                stage_started("commission"),                // 4
                activity("a1", "commission", &["p1"], &[]), // 5
                reward("p1", Some("a1")),                   // 6
            ]),
        )
        .await;
        set_clock(app, "02-15T10:00:00Z");
        let b = app.new_project_titled("Home care charter").await;
        set_clock(app, "04-20T10:00:00Z");
        // The payment was recorded against the wrong person: withdrawn in April.
        app.record(&a, correction(6)).await;
        set_clock(app, "05-05T10:00:00Z");
        app.new_project_titled("Reablement pathway").await;
        set_clock(app, "07-05T10:00:00Z");

        let panel = app.tokens.panel.clone();
        let trend = app
            .get(
                Some(&panel),
                &format!(
                    "/portfolio/trend?from={}&to={}&every=quarter",
                    date("01-01"),
                    date("06-30")
                ),
            )
            .await
            .json_with(200);
        assert_eq!(trend["every"], "quarter");
        assert_eq!(trend["from"], date("01-01").as_str());
        let periods = trend["periods"].as_array().expect("periods");
        assert_eq!(periods.len(), 2, "{trend}");
        let (q1, q2) = (&periods[0], &periods[1]);
        assert_eq!(q1["period"], format!("{YEAR}-Q1"));
        assert_eq!(q1["as_of"], format!("{YEAR}-03-31T23:59:59.999999Z"));
        assert_eq!(q1["complete"], true);
        assert_eq!(q1["projects"]["total"], 2, "A and B by the end of March");
        assert_eq!(
            indicator(q1, "reciprocal_reward", "rewarded_beyond_expenses")["met"],
            json!({"count": 1, "per_cent": 50}),
            "the payment stood at the end of March"
        );
        assert_eq!(q2["projects"]["total"], 3);
        assert_eq!(
            indicator(q2, "reciprocal_reward", "rewarded_beyond_expenses")["met"]["count"],
            0,
            "withdrawn in April"
        );
        assert_eq!(q2["attention"]["rewards_missing"]["count"], 1);

        // Q1 is exactly the portfolio as of its end, and the project's own assessment then.
        let at_q1 = portfolio(app, &panel, &format!("?as_of={}", date("03-31"))).await;
        for key in ["projects", "criteria", "attention"] {
            assert_eq!(q1[key], at_q1[key], "{key}");
        }
        let assessment = app
            .get(
                Some(&panel),
                &format!("/projects/{a}/assessment?as_of={}", date("03-31")),
            )
            .await
            .json_with(200);
        assert_eq!(assessment["criteria"][2]["indicators"][0]["met"], true);

        // Month by month: registrations and the correction land in their months.
        let months = app
            .get(
                Some(&panel),
                &format!(
                    "/portfolio/trend?from={}&to={}&every=month",
                    date("01-01"),
                    date("06-30")
                ),
            )
            .await
            .json_with(200);
        let months = months["periods"].as_array().expect("periods");
        let totals: Vec<u64> = months
            .iter()
            .map(|m| m["projects"]["total"].as_u64().unwrap())
            .collect();
        assert_eq!(totals, [1, 2, 2, 2, 3, 3]);
        let rewarded: Vec<u64> = months
            .iter()
            .map(|m| {
                indicator(m, "reciprocal_reward", "rewarded_beyond_expenses")["met"]["count"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(rewarded, [1, 1, 1, 0, 0, 0]);
        assert_eq!(months[0]["period"], format!("{YEAR}-01"));

        // A `to` inside a period: that period is taken at `to`, marked incomplete.
        let partial = app
            .get(
                Some(&panel),
                &format!(
                    "/portfolio/trend?from={}&to={}",
                    date("01-01"),
                    date("02-20")
                ),
            )
            .await
            .json_with(200);
        let periods = partial["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 1);
        assert_eq!(periods[0]["complete"], false);
        assert_eq!(
            periods[0]["as_of"],
            format!("{YEAR}-02-20T23:59:59.999999Z")
        );
        assert_eq!(periods[0]["projects"]["total"], 2);

        // Without `to`: up to everything recorded so far, the quarter under way incomplete.
        let so_far = app
            .get(
                Some(&panel),
                &format!("/portfolio/trend?from={}", date("01-01")),
            )
            .await
            .json_with(200);
        let periods = so_far["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 3, "Q1, Q2 and the quarter under way");
        assert_eq!(periods[2]["complete"], false);
        assert_eq!(periods[2]["projects"]["total"], 3);
        let latest = portfolio(app, &panel, "").await;
        assert_eq!(periods[2]["as_of"], latest["as_of"]);
        assert_eq!(so_far["to"], Value::Null);
        // And by default, twelve quarters back.
        let default = app
            .get(Some(&panel), "/portfolio/trend")
            .await
            .json_with(200);
        assert_eq!(default["periods"].as_array().unwrap().len(), 12);
        let _ = b;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_are_kept_apart_and_compared_only_by_those_who_see_them_all() {
    each_backend(async |app| {
        for _ in 0..3 {
            rich_project(app).await;
        }
        for title in ["Bucks one", "Bucks two"] {
            app.register_as(&app.tokens.bucks, &registration(title, "bucks"))
                .await
                .expect(201);
        }
        let own = portfolio(app, &app.tokens.bucks, "").await;
        assert_eq!(own["organisation"], "bucks");
        assert_eq!(own["projects"]["total"], 2);
        let oxon = portfolio(app, &app.tokens.assurance, "?organisation=oxfordshire").await;
        assert_eq!(oxon["projects"]["total"], 3);
        // Another organisation's portfolio is refused, not emptied.
        for token in [
            &app.tokens.panel,
            &app.tokens.recorder,
            &app.tokens.assurance,
        ] {
            app.get(Some(token), "/portfolio?organisation=bucks")
                .await
                .problem_at(403, "forbidden", "organisation");
            app.get(Some(token), "/portfolio?organisation=*")
                .await
                .problem_at(403, "forbidden", "organisation");
            app.get(Some(token), "/portfolio/trend?organisation=bucks")
                .await
                .problem_at(403, "forbidden", "organisation");
        }
        // The administrator sees every organisation, together or one at a time.
        let all = portfolio(app, &app.tokens.admin, "").await;
        assert_eq!(all["organisation"], "*");
        assert_eq!(all["projects"]["total"], 5);
        let bucks = portfolio(app, &app.tokens.admin, "?organisation=bucks").await;
        assert_eq!(bucks["projects"]["total"], 2);
        assert_eq!(bucks["criteria"], own["criteria"]);

        // The comparison: one row per organisation; fewer than 3 projects are too few.
        let comparison = app
            .get(Some(&app.tokens.admin), "/portfolio/comparison")
            .await
            .json_with(200);
        assert_eq!(comparison["minimum_projects"], 3);
        let rows = comparison["organisations"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["organisation"], "bucks");
        assert_eq!(rows[0]["projects"], 2);
        assert_eq!(rows[0]["too_few_to_compare"], true);
        assert_eq!(rows[0]["figures"], Value::Null);
        assert_eq!(rows[1]["organisation"], "oxfordshire");
        assert_eq!(rows[1]["too_few_to_compare"], false);
        assert_eq!(rows[1]["figures"]["criteria"], oxon["criteria"]);
        let star_assurance = app
            .store
            .create_token(coprod::store::AccessRole::Assurance, "*", "assurance-all")
            .await
            .unwrap();
        let star_panel = app
            .store
            .create_token(coprod::store::AccessRole::Panel, "*", "panel-all")
            .await
            .unwrap();
        let seen = app
            .get(Some(&star_assurance), "/portfolio/comparison")
            .await
            .json_with(200);
        assert_eq!(seen["organisations"], comparison["organisations"]);
        for token in [
            &star_panel,
            &app.tokens.assurance,
            &app.tokens.panel,
            &app.tokens.bucks,
        ] {
            app.get(Some(token), "/portfolio/comparison")
                .await
                .problem(403, "forbidden");
        }
    })
    .await;
}

/// (token, path, status, code, path of the error).
type Case<'a> = (Option<&'a str>, &'a str, u16, &'a str, Option<&'a str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_parameter_is_a_clear_problem_and_writes_nothing() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let panel = Some(app.tokens.panel.as_str());
        let admin = Some(app.tokens.admin.as_str());
        let cases: &[Case] = &[
            (
                panel,
                "/portfolio?colour=red",
                400,
                "unknown_field",
                Some("query"),
            ),
            (
                panel,
                "/portfolio?as_of=yesterday",
                400,
                "validation_failed",
                Some("as_of"),
            ),
            (
                panel,
                "/portfolio?as_of=2025-02-30",
                400,
                "validation_failed",
                Some("as_of"),
            ),
            (
                panel,
                "/portfolio?as_of=2999-01-01",
                422,
                "validation_failed",
                Some("as_of"),
            ),
            (
                panel,
                "/portfolio?rubric=nope@1",
                422,
                "unknown_rubric",
                Some("rubric"),
            ),
            (
                panel,
                "/portfolio?rubric=oxfordshire-six-point@99",
                422,
                "unknown_rubric",
                Some("rubric"),
            ),
            (
                panel,
                "/portfolio?organisation=",
                400,
                "validation_failed",
                Some("organisation"),
            ),
            (
                admin,
                "/portfolio?organisation=%20",
                400,
                "validation_failed",
                Some("organisation"),
            ),
            (
                panel,
                "/portfolio?service_area=",
                400,
                "validation_failed",
                Some("service_area"),
            ),
            (
                panel,
                "/portfolio?as_of=2025-01-01&as_of=2025-01-02",
                400,
                "validation_failed",
                Some("query"),
            ),
            (
                panel,
                "/portfolio/trend?every=week",
                400,
                "validation_failed",
                Some("query"),
            ),
            (
                panel,
                "/portfolio/trend?at_sequence=3",
                400,
                "unknown_field",
                Some("query"),
            ),
            (
                panel,
                "/portfolio/trend?from=2025-06-01&to=2025-03-01",
                422,
                "validation_failed",
                Some("from"),
            ),
            (
                panel,
                "/portfolio/trend?from=1990-01-01&to=2025-01-01&every=month",
                422,
                "too_many_periods",
                Some("from"),
            ),
            (
                panel,
                "/portfolio/trend?from=2999-01-01",
                422,
                "validation_failed",
                Some("from"),
            ),
            (
                panel,
                "/portfolio/trend?to=2999-01-01",
                422,
                "validation_failed",
                Some("to"),
            ),
            (
                panel,
                "/portfolio/trend?to=soon",
                400,
                "validation_failed",
                Some("to"),
            ),
            (
                panel,
                "/portfolio/trend?from=",
                400,
                "validation_failed",
                Some("from"),
            ),
            (
                admin,
                "/portfolio/comparison?organisation=bucks",
                400,
                "unknown_field",
                Some("query"),
            ),
            (
                admin,
                "/portfolio/comparison?as_of=2999-01-01",
                422,
                "validation_failed",
                Some("as_of"),
            ),
            (
                admin,
                "/portfolio/comparison?service_area=",
                400,
                "validation_failed",
                Some("service_area"),
            ),
            (None, "/portfolio", 401, "unauthorized", None),
            (
                Some("coprod_nonsense"),
                "/portfolio/trend",
                401,
                "unauthorized",
                None,
            ),
            (None, "/portfolio/comparison", 401, "unauthorized", None),
        ];
        for (token, path, status, code, at) in cases {
            let resp = app.get(*token, path).await;
            match at {
                Some(at) => resp.problem_at(*status, code, at),
                None => resp.problem(*status, code),
            };
        }
        let resp = app
            .send(
                app.request(Method::POST, "/portfolio", panel)
                    .json(&json!({})),
            )
            .await;
        resp.problem(405, "method_not_allowed");
        // Nothing was recorded by any of them.
        app.assert_sequence(&id, 11, "bad portfolio questions")
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_portfolio() {
    let app = TestApp::spawn(crate::kit::sqlite().into()).await;
    let doc = app.get(None, "/openapi.json").await.json_with(200);
    for path in [
        "/api/v1/portfolio",
        "/api/v1/portfolio/trend",
        "/api/v1/portfolio/comparison",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is not documented"
        );
    }
    for schema in ["Portfolio", "Trend", "Comparison", "Figures"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    app.stop().await;
}
