//! The web pages through real HTTP, without a browser: signing in and out (cookies, CSRF),
//! roles and organisations as in the API, the project page now and at a past date, comparing
//! dates, the trail, the report and its downloads, helpful error pages, and the API unchanged.
//! The browser tests (`tests/browser/`) check the same pages in Chromium, with axe-core.
//!
//! Each test starts its own seeded site (`Site`) on each backend, on a clock of its own, so the
//! tests run in parallel.

mod kit;
#[path = "browser/seed.rs"]
mod seed;
#[path = "browser/site.rs"]
mod site;

use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use site::{each_site, Site};

/// A browser-like client: no automatic redirects, cookies kept by hand.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    what: String,
}

impl Page {
    #[track_caller]
    fn expect(self, status: u16) -> Page {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}: expected {status}, got {}:\n{}",
            self.what,
            self.status,
            self.body
        );
        self
    }

    /// A well-formed page: HTML, one h1, a skip link, labelled main content, never a trace.
    #[track_caller]
    fn html(self) -> Page {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/html"),
            "{}: content-type {content_type}",
            self.what
        );
        assert_eq!(
            self.body.matches("<h1").count(),
            1,
            "{}: one h1 per page",
            self.what
        );
        assert!(
            self.body.contains(r##"href="#main-content""##),
            "{}: skip link",
            self.what
        );
        assert!(self.body.contains(r#"<html lang="en-GB""#), "{}", self.what);
        for leak in ["panicked", "RUST_BACKTRACE", "sqlx", "StoreError"] {
            assert!(!self.body.contains(leak), "{}: shows {leak}", self.what);
        }
        let csp = self
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'"),
            "{}: CSP {csp:?}",
            self.what
        );
        self
    }

    /// The main content, shortened, for failure messages.
    fn main(&self) -> String {
        let start = self.body.find("<main").unwrap_or(0);
        self.body[start..].chars().take(4000).collect()
    }

    #[track_caller]
    fn has(&self, text: &str) -> &Page {
        assert!(
            self.body.contains(text),
            "{}: expected {text:?} in:\n{}",
            self.what,
            self.main()
        );
        self
    }

    #[track_caller]
    fn lacks(&self, text: &str) -> &Page {
        assert!(
            !self.body.contains(text),
            "{}: did not expect {text:?} in:\n{}",
            self.what,
            self.main()
        );
        self
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, page: &Page) {
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(k, _)| k != name);
            let removed = cookie.contains("Max-Age=0");
            if !removed {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
    }

    async fn read(&mut self, request: reqwest::RequestBuilder, what: String) -> Page {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let page = Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: String::new(),
            what: what.clone(),
        };
        let body = response.text().await.unwrap_or_default();
        let page = Page { body, ..page };
        assert!(
            !page.status.is_server_error(),
            "{what}: {} {}",
            page.status,
            page.body
        );
        self.keep(&page);
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.read(request, format!("GET {path}")).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        self.read(request, format!("POST {path}")).await
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Opens the sign-in page and signs in with `token`; returns the answer to the POST.
    async fn sign_in(&mut self, token: &str) -> Page {
        self.get("/").await.expect(200).html();
        let csrf = self.cookie("coprod_sign_in").expect("sign-in cookie");
        let origin = self.base.clone();
        self.post(
            "/sign-in",
            &[("token", token), ("csrf", &csrf)],
            Some(&origin),
        )
        .await
    }

    /// The CSRF token of the sign-out form on a page.
    fn sign_out_token(page: &Page) -> String {
        let at = page
            .body
            .find(r#"name="csrf" value=""#)
            .expect("sign-out form");
        let rest = &page.body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').expect("end of value")].to_string()
    }
}

/// A browser signed in with `token` (the sign-in is answered with a 303).
async fn signed_in(site: &Site, token: &str) -> Browser {
    let mut browser = Browser::new(&site.base);
    browser.sign_in(token).await.expect(303);
    browser
}

// ---- signing in and out ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_the_start_page_is_the_sign_in_form_and_other_pages_offer_it() {
    each_site(async |site| {
        let backend = site.db.backend;
        let id = &site.seeded.project_id;
        let mut b = Browser::new(&site.base);
        let start = b.get("/").await.expect(200).html();
        start
            .has(r#"name="token""#)
            .has(r#"<label class="govuk-label govuk-label--m" for="token">"#);
        let sign_in_cookie = start.cookie("coprod_sign_in").expect("sign-in cookie");
        assert!(
            sign_in_cookie.contains("HttpOnly") && sign_in_cookie.contains("SameSite=Strict"),
            "[{backend}] {sign_in_cookie}"
        );
        // A page asked for without a session offers the sign-in form, and comes back to it.
        b.get(&format!("/projects/{id}"))
            .await
            .expect(401)
            .html()
            .has("Sign in to see this page")
            .has(&format!(r#"name="next" value="/projects/{id}""#));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_no_csrf_value_another_sites_form_or_a_blank_token_is_refused_helpfully() {
    each_site(async |site| {
        let t = &site.tokens;
        let mut b = Browser::new(&site.base);
        b.get("/").await.expect(200).html();
        let csrf = b.cookie("coprod_sign_in").expect("cookie kept");
        let origin = site.base.clone();
        let wrong = b
            .post(
                "/sign-in",
                &[("token", "coprod_wrong"), ("csrf", &csrf)],
                Some(&origin),
            )
            .await
            .expect(401)
            .html();
        wrong
            .has("That token was not recognised")
            .has("govuk-error-summary");
        assert!(wrong.cookie("coprod_session").is_none());
        b.post("/sign-in", &[("token", &t.assurance)], Some(&origin))
            .await
            .expect(400)
            .html()
            .has("Allow cookies");
        b.post(
            "/sign-in",
            &[("token", &t.assurance), ("csrf", &csrf)],
            Some("http://evil.example"),
        )
        .await
        .expect(403)
        .html()
        .has("another website");
        b.post(
            "/sign-in",
            &[("token", "  "), ("csrf", &csrf)],
            Some(&origin),
        )
        .await
        .expect(400)
        .html()
        .has("Enter your access token");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_token_gives_a_session_cookie_and_the_token_stays_on_the_server() {
    each_site(async |site| {
        let backend = site.db.backend;
        let t = &site.tokens;
        let mut b = Browser::new(&site.base);
        let signed_in = b.sign_in(&t.assurance).await.expect(303);
        assert_eq!(signed_in.headers[LOCATION], "/");
        let session = signed_in.cookie("coprod_session").expect("session cookie");
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Strict"),
            "[{backend}] {session}"
        );
        assert!(!session.contains("Secure"), "no TLS here: {session}");
        assert!(
            !session.contains(&t.assurance),
            "the token stays on the server"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_needs_the_forms_token_and_then_the_pages_ask_to_sign_in_again() {
    each_site(async |site| {
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let list = b.get("/").await.expect(200).html();
        let origin = site.base.clone();
        b.post("/sign-out", &[("csrf", "forged")], Some(&origin))
            .await
            .expect(400)
            .html()
            .has("You have not been signed out");
        let csrf = Browser::sign_out_token(&list);
        let out = b
            .post("/sign-out", &[("csrf", &csrf)], Some(&origin))
            .await
            .expect(303);
        assert!(out.cookie("coprod_session").unwrap().contains("Max-Age=0"));
        let location = out.headers[LOCATION].to_str().unwrap().to_string();
        b.get(&location)
            .await
            .expect(200)
            .html()
            .has("You have signed out");
        b.get("/projects")
            .await
            .expect(401)
            .html()
            .has("Sign in to see this page");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_server_does_not_know_has_ended() {
    each_site(async |site| {
        // Its id is unknown to the server: it restarted, or the session expired.
        let id = &site.seeded.project_id;
        let mut stale = Browser::new(&site.base);
        stale
            .cookies
            .push(("coprod_session".into(), "0".repeat(64)));
        stale
            .get(&format!("/projects/{id}/trail"))
            .await
            .expect(401)
            .html()
            .has("Your session has ended");
    })
    .await;
}

// ---- the project pages, as an assurance officer --------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_list_shows_the_organisations_projects_only_with_six_ratings_in_words() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let list = b.get("/").await.expect(200).html();
        list.has("Redesigning support for unpaid carers")
            .lacks("Day opportunities review")
            .has("Whole life involvement: ")
            .has("Shared responsibility: ")
            .has("Joe (assurance)")
            .has("The co-production projects of London Borough of Haringey (haringey)");
        b.get("/projects")
            .await
            .expect(200)
            .html()
            .has(&format!("/projects/{id}"));
        b.get(&format!("/projects/{id}"))
            .await
            .expect(200)
            .html()
            .has(">London Borough of Haringey (haringey)</span>");
        b.get("/portfolio")
            .await
            .expect(200)
            .html()
            .has(">London Borough of Haringey (haringey)");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_page_shows_the_six_criteria_with_indicators_a_chart_a_table_and_evidence() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let year = &site.seeded.early[..4];
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let project = b.get(&format!("/projects/{id}")).await.expect(200).html();
        project
            .has("Redesigning support for unpaid carers")
            .has("<svg")
            .has(r#"role="img""#)
            .has("The six scores")
            .has("Involved from the start")
            .has(&format!("/projects/{id}/trail?page=1#entry-"))
            .has(r#"name="as_of""#)
            .has(&format!(r#"action="/projects/{id}/compare""#))
            .has("fewer than 5")
            .has(&format!(
                r#"the last recorded <time datetime="{year}-04-28T14:30:00.000000Z">"#
            ));
        for title in [
            "Whole life involvement",
            "Blurred boundaries",
            "Reciprocal reward",
            "Diverse group involvement",
            "Equal valuation of assets",
            "Shared responsibility",
        ] {
            project.has(title);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_page_at_a_past_date_shows_what_was_recorded_by_then_and_refuses_bad_dates() {
    each_site(async |site| {
        let backend = site.db.backend;
        let id = &site.seeded.project_id;
        let early = &site.seeded.early;
        let year = &early[..4];
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let now = b.get(&format!("/projects/{id}")).await.expect(200).html();
        // At the end of January, far less had been recorded.
        let january = b
            .get(&format!("/projects/{id}?as_of={early}"))
            .await
            .expect(200)
            .html();
        january.has(&format!("As it stood at the end of 31 January {year}"));
        let overall = |page: &Page| {
            let at = page.body.find(r#"id="overall""#).expect("overall");
            page.body[at..at + 120].to_string()
        };
        assert_ne!(overall(&january), overall(&now), "[{backend}]");
        // Before the project was registered: nothing to assess, said plainly.
        b.get(&format!("/projects/{id}?as_of={}", site.seeded.before))
            .await
            .expect(200)
            .html()
            .has(&format!(
                "Nothing had been recorded for this project by the end of 5 January {year}"
            ));
        // Malformed and future dates: the form again, with the error.
        b.get(&format!("/projects/{id}?as_of=31%2F01%2F2025"))
            .await
            .expect(400)
            .html()
            .has("govuk-error-summary")
            .has("year, month and day");
        b.get(&format!("/projects/{id}?as_of=2025-02-30"))
            .await
            .expect(400)
            .html()
            .has("not a real date");
        b.get(&format!("/projects/{id}?as_of=2999-01-01"))
            .await
            .expect(400)
            .html()
            .has("or in the past");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_say_whether_they_count_what_was_recorded_or_what_had_happened_by_a_day() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let early = &site.seeded.early;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let recorded = b
            .get(&format!("/projects/{id}?as_of={early}"))
            .await
            .expect(200)
            .html();
        recorded
            .has("counting only what had been recorded by then")
            .lacks("What had happened by the end of")
            .has(r#"id="count-recorded" name="count" type="radio" value="recorded" checked"#);
        // The form's choice and the link's parameter ask the same question.
        for path in [
            format!("/projects/{id}?as_of={early}&count=happened"),
            format!("/projects/{id}?happened_by={early}"),
        ] {
            b.get(&path)
                .await
                .expect(200)
                .html()
                .has("What had happened by the end of")
                .has("by the dates the facts give")
                .has(r#"id="count-happened" name="count" type="radio" value="happened" checked"#);
        }
        b.get(&format!("/projects/{id}?happened_by=2024-12-31"))
            .await
            .expect(200)
            .html()
            .has("The project had not started by the end of 31 December 2024");
        b.get(&format!("/projects/{id}?happened_by=2099-01-01"))
            .await
            .expect(400)
            .html()
            .has("The date must be today");
        b.get(&format!("/portfolio?happened_by={early}"))
            .await
            .expect(200)
            .html()
            .has("Counting what had happened by then, by the dates the facts give");
        b.get(&format!("/projects/{id}/report?happened_by={early}"))
            .await
            .expect(200)
            .html()
            .has("What had happened by the end of")
            .has(&format!("happened_by={early}"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparing_two_dates_says_what_changed_and_refuses_dates_out_of_order_or_missing() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let (early, late) = (&site.seeded.early, &site.seeded.late);
        let year = &early[..4];
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let compare = b
            .get(&format!("/projects/{id}/compare?from={early}&to={late}"))
            .await
            .expect(200)
            .html();
        compare
            .has(&format!(
                "What changed between 31 January {year} and 30 April {year}"
            ))
            .has("now met")
            .has("Better");
        b.get(&format!(
            "/projects/{id}/compare?from=2025-04-30&to=2025-01-31"
        ))
        .await
        .expect(400)
        .html()
        .has("before the second date");
        b.get(&format!("/projects/{id}/compare?from=&to=yesterday"))
            .await
            .expect(400)
            .html()
            .has("Enter the first date");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_projects_and_other_organisations_projects_are_not_found_said_plainly() {
    each_site(async |site| {
        let other = &site.seeded.other_project_id;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        for path in [
            format!("/projects/{other}"),
            "/projects/not-a-project".to_string(),
            format!("/projects/{}/trail", uuid::Uuid::new_v4()),
            format!("/projects/{other}/report"),
        ] {
            b.get(&path)
                .await
                .expect(404)
                .html()
                .has("Project not found")
                .lacks("Day opportunities review");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_shows_who_and_when_digests_corrections_withdrawals_and_the_check() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let trail = b
            .get(&format!("/projects/{id}/trail"))
            .await
            .expect(200)
            .html();
        trail
            .has(r#"id="entry-1""#)
            .has(&format!(r#"id="entry-{}""#, site.seeded.withdrawn))
            .has("Withdrawn")
            .has("Withdrawn by the correction in")
            .has("Correction")
            .has("sha256:")
            .has("Verified: all")
            // Groups are stored encrypted; the page shows them decrypted, never the ciphertext.
            .has("learning disability")
            .lacks("AES-256-GCM")
            .lacks("ciphertext")
            .has("Amina (carers' team)")
            .has("Participant id")
            .has("Typed £2,500 instead of £25.00");
        b.get(&format!("/projects/{id}/trail?page=9"))
            .await
            .expect(404)
            .html()
            .has("there is no page 9");
        b.get(&format!("/projects/{id}/trail?page=two"))
            .await
            .expect(400)
            .html()
            .has("whole number");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_links_its_downloads_which_are_byte_for_byte_what_the_api_gives() {
    each_site(async |site| {
        let backend = site.db.backend;
        let id = &site.seeded.project_id;
        let late = &site.seeded.late;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let report = b
            .get(&format!("/projects/{id}/report?as_of={late}"))
            .await
            .expect(200)
            .html();
        report
            .has("Panel report")
            .has("Stream digest")
            .has("oxfordshire-six-point, version 2")
            .has(&format!("/projects/{id}/report.csv?as_of={late}"))
            .has(&format!("/projects/{id}/report.json?as_of={late}"));
        let api = reqwest::Client::new();
        for (path, accept) in [
            ("report.json", "application/json"),
            ("report.csv", "text/csv"),
        ] {
            let page = b
                .get(&format!("/projects/{id}/{path}?as_of={late}"))
                .await
                .expect(200);
            let from_api = api
                .get(format!(
                    "{}/api/v1/projects/{id}/assessment?as_of={late}",
                    site.base
                ))
                .bearer_auth(&site.tokens.assurance)
                .header("accept", accept)
                .send()
                .await
                .expect("api")
                .text()
                .await
                .expect("body");
            assert_eq!(page.body, from_api, "[{backend}] {path}");
            assert!(page.headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_report_links_to_its_exact_entries_and_a_bad_date_is_refused() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        // So that the data it links to never moves on.
        let latest = b
            .get(&format!("/projects/{id}/report"))
            .await
            .expect(200)
            .html();
        latest.has(&format!(
            "/projects/{id}/report.json?at_sequence={}",
            site.seeded.entries
        ));
        b.get(&format!("/projects/{id}/report.csv?as_of=soon"))
            .await
            .expect(400)
            .html();
    })
    .await;
}

// ---- rubric version 2 on the pages -------------------------------------------------------------

/// `GET /api/v1{path}` with `token`, as JSON.
async fn api_get(site: &Site, token: &str, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}/api/v1{path}", site.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json")
}

/// `POST /api/v1{path}` of `body` as the recorder; the receipt.
async fn api_post(site: &Site, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1{path}", site.base))
        .bearer_auth(&site.tokens.recorder)
        .json(body)
        .send()
        .await
        .expect("api");
    assert!(
        response.status().is_success(),
        "POST {path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

/// Text as the pages write it: maud escapes these four characters.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where `text` first appears in the page (it must).
#[track_caller]
fn position(page: &Page, text: &str) -> usize {
    page.has(text);
    page.body.find(text).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_page_gives_the_headline_the_warning_and_the_ladder_before_the_detail() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let api = api_get(
            site,
            &site.tokens.assurance,
            &format!("/projects/{id}/assessment"),
        )
        .await;
        let overall = &api["overall"];
        let headline = overall["headline"].as_str().expect("a headline");
        let flag = overall["flags"][0]["message"].as_str().expect("a flag");
        assert_eq!(
            overall["flags"][0]["key"], "declared_above_evidence",
            "{overall}"
        );
        let rung = overall["ladder"]["rung"].as_str().expect("a rung");
        assert_ne!(rung, "co_production", "{overall}");
        let rung_title = match rung {
            "co_design" => "Co-design",
            "engagement" => "Engagement",
            "consultation" => "Consultation",
            other => panic!("a rung the story does not reach: {other}"),
        };
        let reason = overall["ladder"]["reasons"][0].as_str().expect("a reason");

        let mut b = signed_in(site, &site.tokens.assurance).await;
        let page = b.get(&format!("/projects/{id}")).await.expect(200).html();
        page.has(r#"class="govuk-body-l app-headline" id="headline""#)
            .has(&escaped(headline))
            .has(r#"class="govuk-warning-text app-flag" id="flag-declared_above_evidence""#)
            .has(r#"<span class="govuk-warning-text__icon" aria-hidden="true">!</span>"#)
            .has(&format!(
                r#"<span class="govuk-visually-hidden">Warning</span>{}"#,
                escaped(flag)
            ))
            .has("On the ladder of participation")
            .has("What the facts show")
            .has(&format!("<strong>{rung_title}</strong>"))
            .has("What the project says it is")
            .has("<strong>Co-production</strong>")
            .has(&escaped(reason))
            .has("Says it is");
        // The verdict comes first, then the counts, the chart and the six criteria.
        let order = [
            position(&page, r#"id="headline""#),
            position(&page, r#"id="flag-declared_above_evidence""#),
            position(&page, r#"id="ladder""#),
            position(&page, r#"id="overall""#),
            position(&page, "<svg"),
            position(&page, r#"id="whole_life_involvement""#),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

        // Each indicator's state in words, with what is missing when it is not met.
        let states: Vec<String> = api["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["indicators"].as_array().unwrap().clone())
            .map(|i| i["state"].as_str().unwrap().to_string())
            .collect();
        for (state, words) in [
            ("met", "Met"),
            ("not_met", "Not met"),
            ("not_applicable", "Does not apply yet"),
            ("not_recorded", "Not recorded"),
        ] {
            if states.iter().any(|s| s == state) {
                page.has(&format!("</span>{words}</strong>"));
            }
        }
        assert!(
            states.iter().any(|s| s != "met"),
            "the story leaves something unmet: {states:?}"
        );
        for indicator in api["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["indicators"].as_array().unwrap())
        {
            if let Some(missing) = indicator["missing_evidence"].as_str() {
                page.has(&format!(
                    "<strong>What to record or do: </strong>{}",
                    escaped(missing)
                ));
            }
        }

        // The printable report gives the same verdict.
        let report = b
            .get(&format!("/projects/{id}/report"))
            .await
            .expect(200)
            .html();
        report
            .has(&escaped(headline))
            .has(&escaped(flag))
            .has("What the project says it is")
            .has("What to record or do: ");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_with_only_its_registration_cannot_be_judged_yet_and_its_words_stay_escaped() {
    each_site(async |site| {
        let registered = api_post(
            site,
            "/projects",
            &serde_json::json!({
                "title": "Carers <script>alert(1)</script> & friends",
                "organisation": seed::ORGANISATION,
                "organisation_name": "Haringey <script>alert(2)</script>",
                "service_area": "Carers' support",
                "description": "A \"new\" <b>offer</b>",
                "priority_groups": ["<i>carers</i>"],
                "serves": ["carer_status: <carer>"],
                "started_on": site.seeded.early,
                "declared_level": "co_design",
            }),
        )
        .await;
        let id = registered["project_id"].as_str().unwrap();
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let page = b.get(&format!("/projects/{id}")).await.expect(200).html();
        page.has("Carers &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends")
            .lacks("<script>alert(1)")
            .has("A &quot;new&quot; &lt;b&gt;offer&lt;/b&gt;")
            .lacks("<b>offer")
            .has("&lt;i&gt;carers&lt;/i&gt;")
            .has("Groups it exists for")
            .has("carer_status: &lt;carer&gt;")
            .has("Too little has been recorded to judge this project yet")
            .has("0 met, 0 partly met, 0 not met, 6 cannot be judged yet.")
            .has("Not on the ladder yet")
            .has("<strong>Co-design</strong>")
            .has("none of its 4 indicators could be judged yet.")
            .has("Haringey &lt;script&gt;alert(2)&lt;/script&gt; (haringey)")
            .lacks("<script>alert(2)");
        // Every criterion is rated in words, never by colour alone.
        assert_eq!(
            page.body
                .matches("</span>Cannot be judged yet</strong>")
                .count(),
            12,
            "six in the table and six in the criteria"
        );
        // In the project list too.
        b.get("/projects")
            .await
            .expect(200)
            .html()
            .has("Cannot be judged yet");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparing_dates_says_where_the_project_stood_on_the_ladder_and_how_each_state_changed() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let (early, late) = (&site.seeded.early, &site.seeded.late);
        let mut b = signed_in(site, &site.tokens.assurance).await;
        let compare = b
            .get(&format!("/projects/{id}/compare?from={early}&to={late}"))
            .await
            .expect(200)
            .html();
        compare
            .has(r#"id="ladder-change""#)
            .has("On the ladder of participation: ")
            .has("class=\"govuk-warning-text app-flag\"")
            .has("What to record or do: ");
    })
    .await;
}

// ---- other roles and organisations -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_member_sees_assessments_and_the_trail_without_the_entries_contents() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut panel = signed_in(site, &site.tokens.panel).await;
        panel
            .get(&format!("/projects/{id}"))
            .await
            .expect(200)
            .html();
        let redacted = panel
            .get(&format!("/projects/{id}/trail"))
            .await
            .expect(200)
            .html();
        redacted
            .has(r#"id="entry-1""#)
            .has("sha256:")
            .has("Withdrawn")
            .has("As a member of a scrutiny panel")
            .lacks("Participant id")
            .lacks("carer-01")
            .lacks("Typed £2,500")
            .lacks("Verified");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisations_panel_sees_only_its_own_project() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut harrow = signed_in(site, &site.tokens.other_panel).await;
        harrow
            .get("/projects")
            .await
            .expect(200)
            .html()
            .has("Day opportunities review")
            .lacks("Redesigning support");
        harrow
            .get(&format!("/projects/{id}"))
            .await
            .expect(404)
            .html();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_is_unchanged_by_the_pages() {
    each_site(async |site| {
        let api = reqwest::Client::new();
        let api_list = api
            .get(format!("{}/api/v1/projects", site.base))
            .send()
            .await
            .expect("api");
        assert_eq!(api_list.status(), 401);
        assert_eq!(api_list.headers()[CONTENT_TYPE], "application/problem+json");
        let elsewhere = api
            .get(format!("{}/no/such/page", site.base))
            .send()
            .await
            .expect("api");
        assert_eq!(elsewhere.status(), 404);
        assert_eq!(
            elsewhere.headers()[CONTENT_TYPE],
            "application/problem+json"
        );
    })
    .await;
}

// ---- behind TLS, the stylesheets and the accessibility statement (SQLite) ---------------------

/// A client that does not follow redirects, as a browser's page would see them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_tls() {
    let site = Site::start(kit::sqlite().into()).await;
    let client = no_redirects();
    let start = client
        .get(format!("{}/", site.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = start.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let csrf = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let signed_in = client
        .post(format!("{}/sign-in", site.base))
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("coprod_sign_in={csrf}"))
        .form(&[("token", site.tokens.panel.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("coprod_session="))
        .expect("session cookie");
    assert!(session.contains("; Secure"), "{session}");
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stylesheets_are_served_without_the_gov_uk_font_or_crest() {
    let site = Site::start(kit::sqlite().into()).await;
    let client = no_redirects();
    for (path, marker) in [
        ("/assets/govuk-frontend.min.css", "govuk-frontend-version"),
        ("/assets/coprod.css", "@media print"),
    ] {
        let css = client
            .get(format!("{}{path}", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(css.status(), 200);
        assert!(css.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css"));
        let text = css.text().await.unwrap();
        assert!(text.contains(marker), "{path}");
        assert!(!text.contains("GDS Transport"), "{path}: no GOV.UK font");
        assert!(!text.contains("govuk-crest"), "{path}: no GOV.UK crest");
    }
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_statement_needs_no_sign_in() {
    let site = Site::start(kit::sqlite().into()).await;
    let statement = no_redirects()
        .get(format!("{}/accessibility", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(statement.status(), 200);
    assert!(statement
        .text()
        .await
        .unwrap()
        .contains("Accessibility statement for Coprod"));
    site.stop().await;
}

// ---- the portfolio pages -----------------------------------------------------------------------

/// Seeds the portfolio's projects on `site`; returns how many the seeded organisation has.
async fn portfolio(site: &Site) -> u64 {
    site.seed_portfolio().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_page_needs_a_session_and_gives_the_organisations_figures_as_the_api_does() {
    each_site(async |site| {
        let own = portfolio(site).await;
        let t = &site.tokens;
        let mut b = Browser::new(&site.base);
        b.get("/portfolio")
            .await
            .expect(401)
            .html()
            .has("Sign in to see this page");
        b.sign_in(&t.assurance).await.expect(303);

        let page = b.get("/portfolio").await.expect(200).html();
        page.has("<h1 class=\"govuk-heading-l\">Portfolio</h1>")
            .has(&format!(
                ">{own}<span class=\"govuk-visually-hidden\"> projects: all</span></a> projects"
            ))
            .has("Projects meeting each point of the test")
            .has("Projects meeting each indicator")
            .has("Involvement started late")
            .has("Open and closed projects by the latest stage reached")
            .has("href=\"/portfolio/projects?attention=involvement_started_late\"")
            .has("href=\"/portfolio/figures.csv?\" download")
            .lacks("harrow")
            .lacks("Organisations compared");
        assert_eq!(
            page.body
                .matches("class=\"app-chart app-chart--trend\"")
                .count(),
            6
        );
        assert_eq!(page.body.matches("role=\"img\"").count(), 6);
        assert_eq!(
            page.body
                .matches("class=\"govuk-table app-trend-table\"")
                .count(),
            6
        );
        // The API gives the same figures.
        let api: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/portfolio", site.base))
            .bearer_auth(&t.assurance)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["projects"]["total"], own);
        let late = api["attention"]["involvement_started_late"]["count"]
            .as_u64()
            .unwrap();
        assert_eq!(late, 1, "{api}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projects_behind_a_portfolio_figure_are_listed() {
    each_site(async |site| {
        portfolio(site).await;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        b.get("/portfolio/projects?attention=involvement_started_late")
            .await
            .expect(200)
            .html()
            .has("Day services review")
            .lacks("Home care charter")
            .has("1 of 5 projects");
        b.get("/portfolio/projects?criterion=reciprocal_reward&indicator=development")
            .await
            .expect(200)
            .html()
            .has("Home care charter");
        // Version 2's figures: the projects where a fact was never recorded, and where a
        // criterion cannot be judged yet.
        let page = b.get("/portfolio").await.expect(200).html();
        page.has(">Cannot be judged yet</th>")
            .has(">Does not apply yet</th>")
            .has(">Not recorded</th>")
            .has("state=not_recorded");
        b.get("/portfolio/projects?criterion=reciprocal_reward&indicator=fair_rate&state=not_recorded")
            .await
            .expect(200)
            .html()
            .has("(Reciprocal reward): not recorded");
        b.get("/portfolio/projects?stage=none&status=open")
            .await
            .expect(200)
            .html()
            .has("No project.");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_at_the_end_of_a_past_day_counts_only_what_was_recorded_by_then() {
    each_site(async |site| {
        portfolio(site).await;
        let early = &site.seeded.early;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        b.get(&format!("/portfolio?as_of={early}"))
            .await
            .expect(200)
            .html()
            .has("The projects at the end of 31 January")
            .has(">3<span class=\"govuk-visually-hidden\"> projects: all</span></a> projects");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_portfolio_choices_get_a_page_that_says_what_is_wrong() {
    each_site(async |site| {
        portfolio(site).await;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        b.get("/portfolio?as_of=2025-02-30")
            .await
            .expect(400)
            .html()
            .has("govuk-error-summary")
            .has("not a real date");
        b.get("/portfolio?every=fortnight")
            .await
            .expect(400)
            .html()
            .has("Choose quarters or months");
        b.get("/portfolio/projects?criterion=nonsense")
            .await
            .expect(400)
            .html()
            .has("There is no such criterion");
        b.get("/portfolio/projects?criterion=reciprocal_reward&indicator=fair_rate&state=maybe")
            .await
            .expect(400)
            .html()
            .has("The state must be met, not_met, not_applicable, not_recorded or not_shown");
        b.get("/portfolio?organisation=harrow")
            .await
            .expect(403)
            .html()
            .has("You cannot see this page");
        b.get("/portfolio/comparison.csv").await.expect(403).html();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portfolio_table_downloads_as_csv() {
    each_site(async |site| {
        portfolio(site).await;
        let early = &site.seeded.early;
        let mut b = signed_in(site, &site.tokens.assurance).await;
        for path in [
            "/portfolio/figures.csv".to_string(),
            "/portfolio/trend.csv?every=month".to_string(),
            format!("/portfolio/figures.csv?as_of={early}"),
            "/portfolio/projects.csv?criterion=whole_life_involvement&rating=met".to_string(),
        ] {
            let csv = b.get(&path).await.expect(200);
            let content_type = csv.headers.get(CONTENT_TYPE).unwrap().to_str().unwrap();
            assert!(
                content_type.starts_with("text/csv"),
                "{path}: {content_type}"
            );
            let disposition = csv
                .headers
                .get("content-disposition")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(
                disposition.starts_with("attachment; filename=\"coprod-"),
                "{disposition}"
            );
            assert!(csv.body.lines().count() > 1, "{path}: {}", csv.body);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_compares_organisations_and_one_has_too_few_projects() {
    each_site(async |site| {
        let own = portfolio(site).await;
        let mut admin = signed_in(site, &site.tokens.admin).await;
        admin
            .get("/portfolio")
            .await
            .expect(200)
            .html()
            .has("Organisations compared")
            .has("Too few to compare")
            .has("harrow")
            .has(&format!(
                ">{own}<span class=\"govuk-visually-hidden\"> projects: haringey"
            ));
        // camden has one project: too few.
        let csv = admin.get("/portfolio/comparison.csv").await.expect(200);
        assert!(csv.body.contains("camden,,,"), "{}", csv.body);
        assert!(
            csv.body.contains(",too_few_to_compare,,total,,,1,,1"),
            "{}",
            csv.body
        );
        admin
            .get("/portfolio?organisation=harrow")
            .await
            .expect(200)
            .html()
            .lacks("Organisations compared")
            .has(">3<span class=\"govuk-visually-hidden\"> projects: all");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_projects_the_pages_say_how_projects_arrive_and_the_portfolio_draws_no_charts() {
    each_site(async |site| {
        // An organisation with no projects on the seeded site.
        let empty = kit::app::token(
            &site.store,
            coprod::store::AccessRole::Assurance,
            "rutland",
            "Rutland officer",
        )
        .await;
        let mut b = signed_in(site, &empty).await;
        b.get("/")
            .await
            .expect(200)
            .html()
            .has("There are no projects you can see yet.")
            .has("POST /api/v1/projects")
            .has("coprod serve --demo");
        b.get("/portfolio")
            .await
            .expect(200)
            .html()
            .has("No projects to count")
            .has("coprod serve --demo")
            .lacks("app-chart")
            .lacks("criteria-table")
            .lacks("Over time");
    })
    .await;
}

// ---- a participant's own view ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_opens_a_plain_form_once_and_the_project_page_counts_answers_without_names() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let link = site.invite("carer-01").await;
        let mut person = Browser::new(&site.base);
        let form = person.get(&link).await.expect(200).html();
        form.has("Tell us what you think")
            .has("How much say did people like you have in this project?")
            .has("Doing it together")
            .has("We talked things through with staff, but staff made the big decisions.")
            .has("I was paid or thanked fairly")
            .has("Strongly disagree")
            .has(r#"<textarea class="govuk-textarea""#)
            .has("Easy Read")
            .lacks("Sign out")
            .lacks("<script");
        let csrf = Browser::sign_out_token(&form);
        let origin = site.base.clone();
        let comment = "Evening sessions <b>worked</b> for me";
        let answers = [
            ("csrf", csrf.as_str()),
            ("placement", "co_production"),
            ("listened_to", "strongly_agree"),
            ("could_influence", "agree"),
            ("paid_or_thanked_fairly", "disagree"),
            ("comment", comment),
            ("accessible_format", "no"),
        ];
        // Without an answer to every question: the form again, saying what is missing.
        person
            .post(&link, &answers[..2], Some(&origin))
            .await
            .expect(400)
            .html()
            .has("There is a problem")
            .has(r##"href="#listened_to""##)
            .has("Error: Tell us what you think");
        person
            .post(&link, &answers, Some(&origin))
            .await
            .expect(200)
            .html()
            .has("Thank you");
        person
            .get(&link)
            .await
            .expect(410)
            .html()
            .has("This link has already been used")
            .has("ask the person who gave you the link");
        person
            .get("/your-say/not-a-link")
            .await
            .expect(404)
            .html()
            .has("This link does not work");

        // One answer: beside the rating, but no count, comment or name.
        for token in [&site.tokens.assurance, &site.tokens.panel] {
            let mut officer = signed_in(site, token).await;
            officer
                .get(&format!("/projects/{id}"))
                .await
                .expect(200)
                .html()
                .has("What the people involved say")
                .has("Fewer than 5 people involved have said what they think")
                .lacks(r#"id="people-say-ladder""#)
                .lacks("Evening sessions")
                .lacks("people_place_it_differently");
            officer
                .get(&format!("/projects/{id}/trail"))
                .await
                .expect(200)
                .html()
                .has("A participant said what they think")
                .has("participant via invitation")
                .lacks("Evening sessions")
                .lacks("strongly_agree");
        }

        // Five answers: the counts of five or more, the middle placement and the comments for
        // an officer; no comment for a panel.
        for participant in ["carer-02", "carer-03", "resident-04", "resident-05"] {
            let link = site.invite(participant).await;
            let form = person.get(&link).await.expect(200);
            let csrf = Browser::sign_out_token(&form);
            let mut answers = answers;
            answers[0] = ("csrf", csrf.as_str());
            answers[5] = ("comment", "");
            person
                .post(&link, &answers, Some(&origin))
                .await
                .expect(200);
        }
        let mut officer = signed_in(site, &site.tokens.assurance).await;
        officer
            .get(&format!("/projects/{id}"))
            .await
            .expect(200)
            .html()
            .has(r#"id="people-say-ladder""#)
            .has(r#"<td class="govuk-table__cell govuk-table__cell--numeric">5</td>"#)
            .has("5 people involved have said what they think")
            .has("Evening sessions &lt;b&gt;worked&lt;/b&gt; for me")
            .lacks("<b>worked</b>");
        let mut panel = signed_in(site, &site.tokens.panel).await;
        panel
            .get(&format!("/projects/{id}"))
            .await
            .expect(200)
            .html()
            .has(r#"id="people-say-ladder""#)
            .lacks("Evening sessions");
    })
    .await;
}

// ---- recording through the forms ---------------------------------------------------------------

/// The value of the input named `name` on a form page (hidden or pre-filled).
fn input_value(page: &Page, name: &str) -> String {
    let marker = format!(r#"name="{name}""#);
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("{}: no input {name}", page.what));
    let tag_start = page.body[..at].rfind('<').expect("tag start");
    let tag_end = at + page.body[at..].find('>').expect("tag end");
    let tag = &page.body[tag_start..tag_end];
    let Some(value_at) = tag.find(r#"value=""#) else {
        return String::new();
    };
    let rest = &tag[value_at + r#"value=""#.len()..];
    rest[..rest.find('"').expect("end of value")].to_string()
}

impl Browser {
    /// Opens the form at `path` and sends it with `fields`, its CSRF token, its idempotency key
    /// and its pre-filled date; returns the answer to the POST.
    async fn fill(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let form = self.get(path).await.expect(200).html();
        let mut sent: Vec<(String, String)> = vec![
            ("csrf".into(), input_value(&form, "csrf")),
            (
                "idempotency_key".into(),
                input_value(&form, "idempotency_key"),
            ),
        ];
        for prefilled in ["occurred_on", "started_on", "organisation"] {
            if form.body.contains(&format!(r#"name="{prefilled}""#))
                && !fields.iter().any(|(name, _)| *name == prefilled)
            {
                sent.push((prefilled.into(), input_value(&form, prefilled)));
            }
        }
        sent.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let pairs: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let origin = self.base.clone();
        self.post(path, &pairs, Some(&origin)).await
    }

    /// Fills the form at `path`, expects the redirect to a receipt, and opens it.
    async fn record(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let saved = self.fill(path, fields).await.expect(303);
        let receipt = saved
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .expect("the receipt's address")
            .to_string();
        self.get(&receipt).await.expect(200).html()
    }
}

/// The number of the entry a receipt page names.
fn receipt_sequence(receipt: &Page) -> u64 {
    let marker = "Recorded as entry ";
    let at = receipt.body.find(marker).expect("receipt heading") + marker.len();
    let digits: String = receipt.body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("entry number")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorder_registers_a_project_and_records_every_kind_of_fact_through_the_forms() {
    each_site(async |site| {
        let mut recorder = signed_in(site, &site.tokens.recorder).await;
        recorder
            .get("/projects")
            .await
            .expect(200)
            .html()
            .has(r#"href="/projects/new""#);
        let registered = recorder
            .record(
                "/projects/new",
                &[
                    ("title", "Short breaks for carers <review>"),
                    ("organisation_name", "London Borough of Haringey"),
                    ("service_area", "Carers' support"),
                    (
                        "priority_groups",
                        "carer_status: carer\r\nlanguage: Turkish",
                    ),
                    ("declared_level", "co_production"),
                ],
            )
            .await;
        registered
            .has("Recorded as entry 1")
            .has("Project registered")
            .has(&escaped("Short breaks for carers <review>"))
            .has("its assessment starts here");
        let start = registered.body.find("/projects/").expect("project link") + "/projects/".len();
        let id = registered.body[start..start + 36].to_string();
        let form = |slug: &str| format!("/projects/{id}/record/{slug}");

        let index = recorder
            .get(&format!("/projects/{id}/record"))
            .await
            .expect(200)
            .html();
        for slug in [
            "someone-joined",
            "someone-left",
            "stage-started",
            "stage-completed",
            "activity",
            "reward",
            "role",
            "contribution",
            "response",
            "feedback",
            "decision",
            "people-told",
            "outcome",
            "correction",
            "close",
        ] {
            index.has(&format!(r#"href="/projects/{id}/record/{slug}""#));
        }
        for (person, kind) in [
            ("carer-a", "carer"),
            ("le-b", "lived_experience"),
            ("staff-c", "professional"),
        ] {
            recorder
                .record(
                    &form("someone-joined"),
                    &[
                        ("participant_id", person),
                        ("kind", kind),
                        ("groups", "carer_status: carer"),
                    ],
                )
                .await
                .has("Someone joined");
        }
        recorder
            .record(&form("stage-started"), &[("stage", "commission")])
            .await;
        // Attendees are ticked from the people who joined, not typed.
        let activity_form = recorder.get(&form("activity")).await.expect(200).html();
        activity_form
            .has(r#"type="checkbox" value="carer-a""#)
            .has("carer-a (a carer)")
            .has(r#"value="activity-1""#);
        recorder
            .record(
                &form("activity"),
                &[
                    ("title", "What carers need"),
                    ("activity_id", "activity-1"),
                    ("stage", "commission"),
                    ("kind", "workshop"),
                    ("facilitators", "le-b"),
                    ("attendees", "carer-a"),
                    ("attendees", "staff-c"),
                    ("mode", "in_person"),
                    ("duration_minutes", "120"),
                ],
            )
            .await;
        recorder
            .record(
                &form("reward"),
                &[
                    ("participant_id", "carer-a"),
                    ("kind", "payment"),
                    ("amount_pence", "£30"),
                    ("activity_id", "activity-1"),
                    ("as_preferred", "yes"),
                ],
            )
            .await;
        recorder
            .record(
                &form("role"),
                &[("participant_id", "le-b"), ("role", "co_chair")],
            )
            .await;
        recorder
            .record(
                &form("contribution"),
                &[
                    ("participant_id", "carer-a"),
                    ("contribution_id", "contribution-1"),
                    ("stage", "commission"),
                    ("kind", "idea"),
                    ("summary", "Evening sessions"),
                ],
            )
            .await;
        recorder
            .record(
                &form("response"),
                &[
                    ("contribution_id", "contribution-1"),
                    ("response", "adopted"),
                    ("explanation", "Sessions now run until 8pm"),
                ],
            )
            .await;
        recorder
            .record(
                &form("feedback"),
                &[("contribution_ids", "contribution-1"), ("method", "letter")],
            )
            .await;
        let decision = recorder
            .record(
                &form("decision"),
                &[
                    ("subject", "Which day to meet"),
                    ("decision_id", "decision-1"),
                    ("stage", "commission"),
                    ("method", "vote"),
                    ("participants", "carer-a"),
                    ("participants", "le-b"),
                    ("vote-carer-a", "for"),
                    ("vote-le-b", "against"),
                    ("vote-staff-c", ""),
                    ("influenced_by", "contribution-1"),
                    ("outcome", "Thursdays"),
                    ("importance", "key"),
                ],
            )
            .await;
        decision.has("What this changed in the assessment");
        recorder
            .record(
                &form("people-told"),
                &[("decision_id", "decision-1"), ("method", "email")],
            )
            .await;
        recorder
            .record(
                &form("outcome"),
                &[
                    ("outcome_id", "outcome-1"),
                    ("kind", "success"),
                    ("description", "More carers came"),
                    ("accountable", "le-b"),
                    ("reviewed_by", "carer-a"),
                ],
            )
            .await;
        recorder
            .record(&form("stage-completed"), &[("stage", "commission")])
            .await;
        let correction_form = recorder.get(&form("correction")).await.expect(200).html();
        correction_form.has(r#"<option value="7">Entry 7: Reward given"#);
        recorder
            .record(
                &form("correction"),
                &[
                    ("corrects_sequence", "7"),
                    ("reason", "Paid twice by mistake"),
                ],
            )
            .await;
        recorder
            .record(
                &form("someone-left"),
                &[("participant_id", "staff-c"), ("reason_code", "personal")],
            )
            .await;
        let closed = recorder
            .record(&form("close"), &[("summary", "The review is done")])
            .await;
        assert_eq!(receipt_sequence(&closed), 18);

        // What the forms recorded is what an API client would have posted.
        let trail = api_get(
            site,
            &site.tokens.recorder,
            &format!("/projects/{id}/events"),
        )
        .await;
        let events = trail["events"].as_array().expect("events");
        let of_type = |t: &str| {
            events
                .iter()
                .find(|e| e["type"] == t)
                .map(|e| &e["data"])
                .unwrap_or_else(|| panic!("no {t} in {trail}"))
        };
        assert_eq!(events.len(), 18);
        assert_eq!(
            of_type("project_registered")["priority_groups"],
            serde_json::json!(["carer_status: carer", "language: Turkish"])
        );
        assert_eq!(
            of_type("activity_held")["attendees"],
            serde_json::json!(["carer-a", "staff-c"])
        );
        assert_eq!(of_type("activity_held")["duration_minutes"], 120);
        assert_eq!(of_type("reward_given")["amount_pence"], 3000);
        assert_eq!(of_type("reward_given")["as_preferred"], true);
        assert_eq!(
            of_type("decision_made")["votes"],
            serde_json::json!({"for": ["carer-a"], "against": ["le-b"], "abstain": []})
        );
        assert_eq!(of_type("correction_recorded")["corrects_sequence"], 7);
        // The receipt's digest is the trail's.
        let last_digest = events[17]["digest"].as_str().expect("digest").to_string();
        closed.has(&last_digest);
        // A closed project offers only corrections.
        recorder
            .get(&format!("/projects/{id}/record"))
            .await
            .expect(200)
            .has("This project is closed")
            .has(&form("correction"))
            .lacks(&form("activity"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_refusal_of_a_form_names_its_field_keeps_the_values_and_records_nothing() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut recorder = signed_in(site, &site.tokens.recorder).await;
        let before = site.seeded.entries;
        let projects_before = site.store.project_ids().await.expect("projects").len();
        let count = async || {
            api_get(site, &site.tokens.recorder, &format!("/projects/{id}")).await["sequence"]
                .as_u64()
                .expect("sequence")
        };
        assert_eq!(count().await, before);
        let joined = format!("/projects/{id}/record/someone-joined");
        // Left empty: asked for in the summary and by the field, the other values kept.
        recorder
            .fill(
                &joined,
                &[
                    ("participant_id", ""),
                    ("kind", "carer"),
                    ("groups", "age_band: 65+"),
                ],
            )
            .await
            .expect(400)
            .html()
            .has("There is a problem")
            .has(r##"<a href="#participant_id">Enter their reference</a>"##)
            .has("govuk-form-group--error")
            .has(r#"value="carer" checked"#)
            .has("age_band: 65+")
            .has("<title>Error: ");
        // The API's own rules: a reference already used, a date it cannot read, one in the future.
        recorder
            .fill(
                &joined,
                &[("participant_id", "carer-01"), ("kind", "carer")],
            )
            .await
            .expect(409)
            .has(r##"href="#participant_id""##)
            .has("already used in this project");
        recorder
            .fill(
                &joined,
                &[
                    ("participant_id", "new-1"),
                    ("kind", "carer"),
                    ("occurred_on", "03/02/2025"),
                ],
            )
            .await
            .expect(400)
            .has(r##"<a href="#occurred_on">When it happened must be a real day"##)
            .has(r#"value="03/02/2025""#);
        recorder
            .fill(
                &joined,
                &[
                    ("participant_id", "new-1"),
                    ("kind", "carer"),
                    ("occurred_on", "2999-01-01"),
                ],
            )
            .await
            .expect(422)
            .has(r##"href="#occurred_on""##)
            .has("When it happened must not be after");
        recorder
            .fill(&joined, &[("participant_id", "new 1!"), ("kind", "carer")])
            .await
            .expect(422)
            .has("Their reference may contain only letters");
        // Numbers and money a form cannot read, said before anything is sent on.
        recorder
            .fill(
                &format!("/projects/{id}/record/reward"),
                &[
                    ("participant_id", "carer-01"),
                    ("kind", "payment"),
                    ("amount_pence", "thirty pounds"),
                ],
            )
            .await
            .expect(400)
            .has("Amount must be an amount of money in pounds");
        // A rule about no one field: the stage order, at the form's first field.
        recorder
            .fill(
                &format!("/projects/{id}/record/stage-started"),
                &[("stage", "commission")],
            )
            .await
            .expect(422)
            .has("There is a problem")
            .has(r##"href="#stage""##);
        // A person who is not in the project, sent by hand.
        recorder
            .fill(
                &format!("/projects/{id}/record/role"),
                &[("participant_id", "nobody"), ("role", "co_chair")],
            )
            .await
            .expect(422)
            .has("has not joined this project");
        // Registration: another organisation is refused at its field.
        recorder
            .fill(
                "/projects/new",
                &[
                    ("title", "Theirs"),
                    ("organisation", "somewhere-else"),
                    ("service_area", "Care"),
                ],
            )
            .await
            .expect(403)
            .has(r##"href="#organisation""##)
            .has("only for your own organisation");
        assert_eq!(count().await, before, "nothing was recorded");
        assert_eq!(
            site.store.project_ids().await.expect("projects").len(),
            projects_before,
            "no project was registered"
        );
        // A form that does not exist, and a receipt of an entry that does not.
        recorder
            .get(&format!("/projects/{id}/record/no-such-form"))
            .await
            .expect(404)
            .html();
        recorder
            .get(&format!("/projects/{id}/recorded/999"))
            .await
            .expect(404)
            .html();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_refuse_other_sites_missing_tokens_and_readers_and_a_double_submit_records_once() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let path = format!("/projects/{id}/record/role");
        let mut recorder = signed_in(site, &site.tokens.recorder).await;
        let form = recorder.get(&path).await.expect(200).html();
        let csrf = input_value(&form, "csrf");
        let key = input_value(&form, "idempotency_key");
        let today = input_value(&form, "occurred_on");
        let fields = |csrf: &'static str| -> Vec<(&'static str, String)> {
            vec![
                ("csrf", csrf.to_string()),
                ("idempotency_key", key.clone()),
                ("participant_id", "carer-02".into()),
                ("role", "co_trainer".into()),
                ("occurred_on", today.clone()),
            ]
        };
        let send = async |browser: &mut Browser,
                          fields: Vec<(&'static str, String)>,
                          origin: Option<&str>| {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post(&path, &pairs, origin).await
        };
        let sequence = async || {
            api_get(site, &site.tokens.recorder, &format!("/projects/{id}")).await["sequence"]
                .as_u64()
                .expect("sequence")
        };
        let before = sequence().await;
        let csrf: &'static str = Box::leak(csrf.into_boxed_str());
        let origin = site.base.clone();
        send(&mut recorder, fields(""), Some(&origin))
            .await
            .expect(403)
            .html()
            .has("Nothing was recorded");
        send(&mut recorder, fields("0000"), Some(&origin))
            .await
            .expect(403);
        send(
            &mut recorder,
            fields(csrf),
            Some("https://elsewhere.example"),
        )
        .await
        .expect(403)
        .has("another website");
        assert_eq!(sequence().await, before);
        // Sent twice (a double click, or the back button): recorded once, the same receipt.
        let first = send(&mut recorder, fields(csrf), Some(&origin))
            .await
            .expect(303);
        let second = send(&mut recorder, fields(csrf), Some(&origin))
            .await
            .expect(303);
        assert_eq!(first.headers.get(LOCATION), second.headers.get(LOCATION));
        assert_eq!(sequence().await, before + 1);
        // Readers may not record: no link, no form, and a post is refused.
        for token in [&site.tokens.panel, &site.tokens.assurance] {
            let mut reader = signed_in(site, token).await;
            reader
                .get(&format!("/projects/{id}"))
                .await
                .expect(200)
                .lacks(&format!("/projects/{id}/record"));
            reader.get(&path).await.expect(403).html();
            reader.get("/projects/new").await.expect(403).html();
            let page = reader.get(&format!("/projects/{id}")).await;
            let csrf = Browser::sign_out_token(&page);
            reader
                .post(
                    &path,
                    &[
                        ("csrf", &csrf),
                        ("participant_id", "carer-02"),
                        ("role", "learner"),
                    ],
                    Some(&origin),
                )
                .await
                .expect(403);
        }
        // Another organisation's recorder does not find the project.
        let mut other = signed_in(site, &site.tokens.other_recorder).await;
        other.get(&path).await.expect(404).html();
        assert_eq!(sequence().await, before + 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spreadsheet_is_checked_then_imported_from_the_upload_page_and_bad_files_are_refused() {
    each_site(async |site| {
        let id = &site.seeded.project_id;
        let mut recorder = signed_in(site, &site.tokens.recorder).await;
        let page = recorder.get(&format!("/projects/{id}/import")).await.expect(200).html();
        page.has(r#"enctype="multipart/form-data""#)
            .has(r#"href="/imports/templates/people.csv""#);
        let template = recorder.get("/imports/templates/people.csv").await.expect(200);
        assert!(template.body.starts_with("participant_id,kind,groups,occurred_on"), "{}", template.body);
        let csrf = input_value(&page, "csrf");
        let today = input_value(
            &recorder.get(&format!("/projects/{id}/record/someone-joined")).await,
            "occurred_on",
        );
        let sequence = async || {
            api_get(site, &site.tokens.recorder, &format!("/projects/{id}"))
                .await["sequence"]
                .as_u64()
                .expect("sequence")
        };
        let before = sequence().await;
        let upload = async |browser: &Browser, csrf: &str, action: &str, file: Vec<u8>, origin: &str| {
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf.to_string())
                .text("kind", "people")
                .text("action", action.to_string())
                .part("file", reqwest::multipart::Part::bytes(file).file_name("register.csv").mime_str("text/csv").expect("mime"));
            let response = browser
                .client
                .post(format!("{}/projects/{id}/import", browser.base))
                .header("cookie", browser.cookie_header())
                .header("origin", origin)
                .multipart(form)
                .send()
                .await
                .expect("upload");
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        };
        let origin = site.base.clone();
        let good = format!(
            "\u{feff}participant_id,kind,groups,occurred_on\r\nnew-1,carer,carer_status: carer;language: Somali,{today}\r\n\r\ncarer-01,carer,,{today}\r\n"
        )
        .into_bytes();
        let (status, body) = upload(&recorder, &csrf, "check", good.clone(), &origin).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("nothing was recorded") && body.contains("1 row can be recorded"), "{body}");
        assert!(body.contains("1 row already recorded, skipped"), "{body}");
        assert_eq!(sequence().await, before);
        let (status, body) = upload(&recorder, &csrf, "import", good, &origin).await;
        assert_eq!(status, 201, "{body}");
        assert!(body.contains("1 row recorded") && body.contains(&format!("Entries {}", before + 1)), "{body}");
        assert_eq!(sequence().await, before + 1);
        // Refused rows are listed by row and column, and nothing is recorded.
        let bad = b"participant_id,kind,groups,occurred_on\r\nnew-2,carer,,03/02/2025\r\nnew-3,alien,,2025-01-10\r\n".to_vec();
        let (status, body) = upload(&recorder, &csrf, "import", bad, &origin).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("Nothing was recorded") && body.contains("2 rows were refused"), "{body}");
        assert!(body.contains("<td class=\"govuk-table__cell\">occurred_on</td>"), "{body}");
        assert!(body.contains("<td class=\"govuk-table__cell\">kind</td>"), "{body}");
        // A file that is not UTF-8, or lacks a column: refused as a whole.
        let (status, body) = upload(&recorder, &csrf, "check", vec![0xff, 0xfe, 0x00, 0x41], &origin).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("There is a problem") && body.contains(r##"href="#file""##), "{body}");
        let (status, body) = upload(&recorder, &csrf, "check", b"participant_id,kind\r\np,carer\r\n".to_vec(), &origin).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("occurred_on"), "{body}");
        // Another site's form, or none of the form's token: 403.
        let (status, _) = upload(&recorder, &csrf, "import", b"x".to_vec(), "https://elsewhere.example").await;
        assert_eq!(status, 403);
        let (status, _) = upload(&recorder, "", "import", b"x".to_vec(), &origin).await;
        assert_eq!(status, 403);
        assert_eq!(sequence().await, before + 1);
    })
    .await;
}
