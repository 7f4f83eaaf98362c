//! Authentication (401), roles (403) and organisations (404 for another organisation's project).

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::*;

/// Every `/api/v1` call that needs a token, for project `id`.
fn protected_calls(app: &TestApp, id: &str, token: Option<&str>) -> Vec<RequestBuilder> {
    let mut calls = vec![
        app.request(Method::GET, "/projects", token),
        app.request(Method::POST, "/projects", token)
            .json(&registration("Unauthorised", "oxfordshire")),
        app.request(Method::GET, &format!("/projects/{id}"), token),
        app.request(Method::GET, &format!("/projects/{id}/events"), token),
        app.request(Method::POST, &format!("/projects/{id}/events"), token)
            .json(&joined("p9", "carer", &[])),
        app.request(Method::GET, &format!("/projects/{id}/verify"), token),
        app.request(Method::GET, &format!("/projects/{id}/assessment"), token),
        app.request(Method::GET, "/rubrics", token),
        app.request(Method::GET, "/rubrics/oxfordshire-six-point@1", token),
    ];
    // Unknown projects too: authentication comes before looking anything up.
    calls.push(app.request(
        Method::GET,
        &format!("/projects/{}", uuid::Uuid::new_v4()),
        token,
    ));
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_a_valid_token_are_401_except_the_openapi_document() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let forged = format!("coprod_{}", "ab".repeat(32));
        for token in [None, Some("not-a-token"), Some(forged.as_str()), Some("")] {
            for call in protected_calls(app, &id, token) {
                app.send(call).await.problem(401, "unauthorized");
            }
        }
        // Not a Bearer scheme, or a token with the wrong case of prefix.
        for header in [
            format!("Basic {}", app.tokens.admin),
            app.tokens.admin.clone(),
            format!("bearer{}", app.tokens.admin),
            format!("Bearer {}x", app.tokens.admin),
        ] {
            app.send(
                app.request(Method::GET, "/projects", None)
                    .header("authorization", header),
            )
            .await
            .problem(401, "unauthorized");
        }
        app.assert_sequence(&id, 1, "unauthenticated posts").await;
        app.get(None, "/openapi.json").await.json_with(200);
        app.get(Some("not-a-token"), "/openapi.json")
            .await
            .json_with(200);
    })
    .await;
}

/// What one role gets from each call on an oxfordshire project.
async fn statuses(app: &TestApp, token: &str, id: &str) -> Vec<(&'static str, u16)> {
    let token = Some(token);
    let mut seen = Vec::new();
    let calls: Vec<(&'static str, RequestBuilder)> = vec![
        (
            "register",
            app.request(Method::POST, "/projects", token)
                .json(&registration("Role check", "oxfordshire")),
        ),
        (
            "post",
            app.request(Method::POST, &format!("/projects/{id}/events"), token)
                .json(&batch(&[joined(
                    &format!("p{}", rand_suffix()),
                    "carer",
                    &[],
                )])),
        ),
        ("list", app.request(Method::GET, "/projects", token)),
        (
            "read",
            app.request(Method::GET, &format!("/projects/{id}"), token),
        ),
        (
            "trail",
            app.request(Method::GET, &format!("/projects/{id}/events"), token),
        ),
        (
            "export",
            app.request(Method::GET, &format!("/projects/{id}/events"), token)
                .header("accept", "application/x-ndjson"),
        ),
        (
            "verify",
            app.request(Method::GET, &format!("/projects/{id}/verify"), token),
        ),
        (
            "assessment",
            app.request(Method::GET, &format!("/projects/{id}/assessment"), token),
        ),
        ("rubrics", app.request(Method::GET, "/rubrics", token)),
    ];
    for (name, call) in calls {
        let resp = app.send(call).await;
        if resp.status.as_u16() == 403 {
            resp.problem(403, "forbidden");
        }
        seen.push((name, resp.status.as_u16()));
    }
    seen
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_may_do_what_api_md_says_and_no_more() {
    each_backend(async |app| {
        let id = app.new_project().await;
        let t = app.tokens.clone();
        let expected = |register, post, trail, verify| {
            vec![
                ("register", register),
                ("post", post),
                ("list", 200),
                ("read", 200),
                ("trail", trail),
                ("export", trail),
                ("verify", verify),
                ("assessment", 200),
                ("rubrics", 200),
            ]
        };
        assert_eq!(
            statuses(app, &t.recorder, &id).await,
            expected(201, 201, 200, 200),
            "[{}] recorder",
            app.backend
        );
        assert_eq!(
            statuses(app, &t.assurance, &id).await,
            expected(403, 403, 200, 200),
            "[{}] assurance",
            app.backend
        );
        assert_eq!(
            statuses(app, &t.panel, &id).await,
            expected(403, 403, 403, 403),
            "[{}] panel",
            app.backend
        );
        assert_eq!(
            statuses(app, &t.admin, &id).await,
            expected(201, 201, 200, 200),
            "[{}] admin",
            app.backend
        );
        // Only the recorder's and the admin's posts were appended.
        assert_eq!(app.sequence(&id).await, 3);
        let trail = app.trail(&id).await;
        assert_eq!(
            trail[1]["recorded_by"],
            recorded_by(&t.recorder, "recorder")
        );
        assert_eq!(trail[2]["recorded_by"], recorded_by(&t.admin, "admin"));

        // The admin may read metrics; a panel member may not.
        app.get(Some(&t.admin), "//metrics").await.expect(200);
        app.get(Some(&t.panel), "//metrics")
            .await
            .problem(403, "forbidden");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_may_not_register_for_another_organisation() {
    each_backend(async |app| {
        app.register_as(&app.tokens.recorder, &registration("Elsewhere", "bucks"))
            .await
            .problem_at(403, "forbidden", "/organisation");
        app.register_as(&app.tokens.bucks, &registration("Elsewhere", "oxfordshire"))
            .await
            .problem(403, "forbidden");
        // The admin may register for any organisation.
        app.register_as(&app.tokens.admin, &registration("Anywhere", "bucks"))
            .await
            .expect(201);
        let all = app
            .get(Some(&app.tokens.admin), "/projects")
            .await
            .json_with(200);
        assert_eq!(all["projects"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_project_is_not_found_and_not_listed() {
    each_backend(async |app| {
        let id = rich_project(app).await;
        let bucks = Some(app.tokens.bucks.as_str());
        let digest = app.summary(&id).await["digest"]
            .as_str()
            .unwrap()
            .to_string();
        for path in [
            format!("/projects/{id}"),
            format!("/projects/{id}/events"),
            format!("/projects/{id}/events?after=1&limit=5"),
            format!("/projects/{id}/verify"),
            format!("/projects/{id}/verify?sequence=11&digest={digest}"),
            format!("/projects/{id}/assessment"),
            format!("/projects/{id}/assessment?at_sequence=2"),
        ] {
            let hidden = app.get(bucks, &path).await.problem(404, "not_found");
            // Exactly the answer for a project that does not exist.
            let missing = app
                .get(bucks, &path.replace(&id, &uuid::Uuid::new_v4().to_string()))
                .await
                .problem(404, "not_found");
            assert_eq!(hidden, missing, "{path}");
        }
        app.send(
            app.request(Method::GET, &format!("/projects/{id}/events"), bucks)
                .header("accept", "application/x-ndjson"),
        )
        .await
        .problem(404, "not_found");
        app.post(
            bucks,
            &format!("/projects/{id}/events"),
            &joined("p9", "carer", &[]),
        )
        .await
        .problem(404, "not_found");
        app.assert_sequence(&id, 11, "another organisation's post")
            .await;

        let list = |query: &'static str| {
            let app = &app;
            async move {
                app.get(bucks, &format!("/projects{query}"))
                    .await
                    .json_with(200)
            }
        };
        assert_eq!(list("").await, json!({"projects": []}));
        assert_eq!(
            list("?organisation=oxfordshire").await,
            json!({"projects": []})
        );
        assert_eq!(list("?status=open").await, json!({"projects": []}));

        // Its own project it sees, and only that.
        let own = app
            .register_as(&app.tokens.bucks, &registration("Bucks carers", "bucks"))
            .await
            .json_with(201);
        let listed: Vec<Value> = list("").await["projects"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["project_id"], own["project_id"]);
        // And the oxfordshire roles do not see it.
        for token in [
            &app.tokens.recorder,
            &app.tokens.assurance,
            &app.tokens.panel,
        ] {
            let oxon = app.get(Some(token), "/projects").await.json_with(200);
            let ids: Vec<&Value> = oxon["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| &p["project_id"])
                .collect();
            assert_eq!(ids, [&json!(id)]);
            app.get(
                Some(token),
                &format!("/projects/{}", own["project_id"].as_str().unwrap()),
            )
            .await
            .problem(404, "not_found");
        }
    })
    .await;
}
