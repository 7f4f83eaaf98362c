//! `/api/v1/tokens`: administrators make, list and revoke tokens; a token is shown once; a
//! revoked token is refused `401 token_revoked`; every bad request is refused and makes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::kit::refusals::{assert_all_refused, refused, Request, Who};

fn listed_ids(list: &Value) -> Vec<String> {
    list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_make_list_and_revoke_tokens_and_a_token_is_shown_once() {
    each_backend(async |app| {
        let admin = Some(app.tokens.admin.as_str());
        let made = app
            .send(app.request(Method::POST, "/tokens", admin).json(&json!({
                "role": "panel", "organisation": "oxfordshire",
                "label": "Cllr <b>Smith</b>", "expires_in": "2w"
            })))
            .await;
        assert_eq!(made.header("cache-control").as_deref(), Some("no-store"));
        let location = made.header("location").expect("Location");
        let made = made.json_with(201);
        let token = made["token"].as_str().expect("the token").to_string();
        let id = made["id"].as_str().expect("id").to_string();
        assert_eq!(id, coprod::store::token_id(&token));
        assert_eq!(location, format!("/api/v1/tokens/{id}"));
        assert_eq!(made["role"], "panel");
        assert_eq!(made["label"], "Cllr <b>Smith</b>");
        assert_eq!(made["status"], "active");
        assert_eq!(made["last_used_at"], Value::Null);
        assert!(is_stored_instant(&made["expires_at"]), "{made}");

        // The new token works; only its hash is stored; the list and the record never show it.
        app.get(Some(&token), "/projects").await.expect(200);
        let list = app.get(admin, "/tokens").await;
        assert_eq!(list.header("cache-control").as_deref(), Some("no-store"));
        assert!(!list.text().contains(&token));
        let list = list.json();
        assert!(listed_ids(&list).contains(&id));
        assert_eq!(list["tokens"].as_array().unwrap().len(), 6, "{list}");
        let record = app
            .get(admin, &format!("/tokens/{id}"))
            .await
            .json_with(200);
        assert!(record.get("token").is_none());
        assert!(is_stored_instant(&record["last_used_at"]), "{record}");
        let stored: Vec<String> = app
            .store
            .list_tokens()
            .await
            .unwrap()
            .into_iter()
            .map(|t| serde_json::to_string(&t).unwrap())
            .collect();
        assert!(!stored.concat().contains(&token));

        // Revoked: refused at once on this server (and on another within a second: see
        // tests/access.rs); revoking again changes nothing.
        let revoked = app
            .send(app.request(Method::DELETE, &format!("/tokens/{id}"), admin))
            .await
            .json_with(200);
        assert_eq!(revoked["status"], "revoked");
        assert!(is_stored_instant(&revoked["revoked_at"]));
        app.get(Some(&token), "/projects")
            .await
            .problem(401, "token_revoked");
        let again = app
            .send(app.request(Method::DELETE, &format!("/tokens/{id}"), admin))
            .await
            .json_with(200);
        assert_eq!(again["revoked_at"], revoked["revoked_at"]);

        // An unknown token is still 401 unauthorized.
        app.get(Some("coprod_0000"), "/projects")
            .await
            .problem(401, "unauthorized");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisations_administrator_manages_its_own_tokens_only() {
    each_backend(async |app| {
        let admin = Some(app.tokens.admin.as_str());
        let made = app
            .post(
                admin,
                "/tokens",
                &json!({"role": "admin", "organisation": "bucks", "label": "Bucks admin"}),
            )
            .await
            .json_with(201);
        let bucks_admin = made["token"].as_str().unwrap().to_string();
        let bucks = Some(bucks_admin.as_str());
        let listed = app.get(bucks, "/tokens").await.json_with(200);
        let organisations: Vec<&str> = listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["organisation"].as_str().unwrap())
            .collect();
        assert_eq!(organisations, ["bucks", "bucks"], "{listed}");
        let own = app
            .post(
                bucks,
                "/tokens",
                &json!({"role": "recorder", "organisation": "bucks"}),
            )
            .await
            .json_with(201);
        assert_eq!(own["organisation"], "bucks");
        // Another organisation's token is not found; a token for another organisation, or for
        // every one, is forbidden.
        let oxford_recorder = coprod::store::token_id(&app.tokens.recorder);
        for method in [Method::GET, Method::DELETE] {
            app.send(app.request(method, &format!("/tokens/{oxford_recorder}"), bucks))
                .await
                .problem(404, "not_found");
        }
        app.get(Some(&app.tokens.recorder), "/projects")
            .await
            .expect(200);
        for organisation in ["oxfordshire", "*"] {
            app.post(
                bucks,
                "/tokens",
                &json!({"role": "recorder", "organisation": organisation}),
            )
            .await
            .problem_at(403, "forbidden", "/organisation");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_requests_are_refused_and_make_or_revoke_nothing() {
    each_backend(async |app| {
        let before = app.store.list_tokens().await.unwrap();
        let recorder_id = coprod::store::token_id(&app.tokens.recorder);
        let create = |body: Value| Request::post("/tokens", &body).by(Who::Admin);
        let valid = json!({"role": "recorder", "organisation": "oxfordshire"});
        let with = |field: &str, value: Value| {
            let mut body = valid.clone();
            body[field] = value;
            create(body)
        };
        assert_all_refused(
            app,
            None,
            vec![
                refused(
                    "no token",
                    Request::get("/tokens").by(Who::Nobody),
                    401,
                    "unauthorized",
                ),
                refused(
                    "a recorder lists",
                    Request::get("/tokens"),
                    403,
                    "forbidden",
                ),
                refused(
                    "a panel member lists",
                    Request::get("/tokens").by(Who::Panel),
                    403,
                    "forbidden",
                ),
                refused(
                    "an assurance officer makes one",
                    Request::post("/tokens", &valid).by(Who::Assurance),
                    403,
                    "forbidden",
                ),
                refused(
                    "a recorder revokes",
                    Request::call(Method::DELETE, format!("/tokens/{recorder_id}")),
                    403,
                    "forbidden",
                ),
                refused(
                    "unknown role",
                    with("role", json!("superuser")),
                    400,
                    "validation_failed",
                )
                .at("/role"),
                refused(
                    "role not text",
                    with("role", json!(1)),
                    400,
                    "validation_failed",
                )
                .at("/role"),
                refused(
                    "no organisation",
                    create(json!({"role": "panel"})),
                    400,
                    "validation_failed",
                )
                .at("/organisation"),
                refused(
                    "organisation with spaces",
                    with("organisation", json!("no spaces")),
                    422,
                    "validation_failed",
                )
                .at("/organisation"),
                refused(
                    "empty organisation",
                    with("organisation", json!("")),
                    422,
                    "validation_failed",
                )
                .at("/organisation"),
                refused(
                    "label with a line break",
                    with("label", json!("a\nb")),
                    422,
                    "validation_failed",
                )
                .at("/label"),
                refused(
                    "label too long",
                    with("label", json!("x".repeat(201))),
                    422,
                    "validation_failed",
                )
                .at("/label"),
                refused(
                    "lifetime without a unit",
                    with("expires_in", json!("90")),
                    422,
                    "validation_failed",
                )
                .at("/expires_in")
                .and("names the forms", |p| {
                    p["errors"][0]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("90d"))
                }),
                refused(
                    "lifetime of nothing",
                    with("expires_in", json!("0d")),
                    422,
                    "validation_failed",
                )
                .at("/expires_in"),
                refused(
                    "lifetime in months",
                    with("expires_in", json!("3mo")),
                    422,
                    "validation_failed",
                )
                .at("/expires_in"),
                refused(
                    "lifetime past ten years",
                    with("expires_in", json!("3651d")),
                    422,
                    "validation_failed",
                )
                .at("/expires_in"),
                refused(
                    "lifetime as a number",
                    with("expires_in", json!(90)),
                    400,
                    "validation_failed",
                )
                .at("/expires_in"),
                refused(
                    "unknown field",
                    with("expires_at", json!("2030-01-01")),
                    400,
                    "unknown_field",
                )
                .at("/expires_at"),
                refused(
                    "not JSON",
                    Request::post_bytes("/tokens", Some("application/json"), "{").by(Who::Admin),
                    400,
                    "invalid_json",
                ),
                refused(
                    "revoke an unknown id",
                    Request::call(Method::DELETE, "/tokens/0123456789abcdef").by(Who::Admin),
                    404,
                    "not_found",
                ),
                refused(
                    "revoke a malformed id",
                    Request::call(Method::DELETE, "/tokens/ZZZ").by(Who::Admin),
                    404,
                    "not_found",
                ),
                refused(
                    "revoke by the token itself",
                    Request::call(Method::DELETE, format!("/tokens/{}", app.tokens.recorder))
                        .by(Who::Admin),
                    404,
                    "not_found",
                )
                .and("does not echo the token", |p| {
                    !p.to_string().contains("coprod_")
                }),
                refused(
                    "read an unknown id",
                    Request::get("/tokens/0123456789abcdef").by(Who::Admin),
                    404,
                    "not_found",
                ),
                refused(
                    "put",
                    Request::call(Method::PUT, "/tokens").by(Who::Admin),
                    405,
                    "method_not_allowed",
                ),
            ],
        )
        .await;
        let after = app.store.list_tokens().await.unwrap();
        assert_eq!(after.len(), before.len(), "a refused request made a token");
        assert!(
            after.iter().all(|t| t.revoked_at.is_none()),
            "a refused request revoked one"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_token_endpoints() {
    each_backend(async |app| {
        let document = app.get(None, "/openapi.json").await.json_with(200);
        let paths = &document["paths"];
        for (path, methods) in [
            ("/api/v1/tokens", &["get", "post"][..]),
            ("/api/v1/tokens/{id}", &["get", "delete"][..]),
        ] {
            for method in methods {
                assert!(paths[path][method].is_object(), "{path} {method} missing");
            }
        }
        assert!(document["components"]["schemas"]["CreatedToken"].is_object());
    })
    .await;
}
