//! The web pages through real HTTP, without a browser: signing in and out (cookies, CSRF),
//! roles and organisations as in the API, the project page now and at a past date, comparing
//! dates, the trail, the report and its downloads, helpful error pages, and the API unchanged.
//! The browser tests (`tests/browser/`) check the same pages in Chromium, with axe-core.

mod kit;
#[path = "browser/seed.rs"]
mod seed;
#[path = "browser/site.rs"]
mod site;

use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use site::Site;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_for_officers_and_panels() {
    for db in kit::backends().await {
        let site = Site::start(db.store().await).await;
        let backend = db.backend;
        let t = site.tokens.clone();
        let id = site.seeded.project_id.clone();
        let (early, late) = (site.seeded.early.clone(), site.seeded.late.clone());
        let year = &early[..4];
        let mut b = Browser::new(&site.base);

        // The start page without a session is the sign-in form.
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

        // Wrong token, missing CSRF value, another site's form: refused, with a helpful page.
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

        // The right token: a session cookie and a 303 to the start page.
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

        // The project list: this organisation's projects only, six ratings in words.
        let list = b.get("/").await.expect(200).html();
        list.has("Redesigning support for unpaid carers")
            .lacks("Day opportunities review")
            .has("Whole life involvement: ")
            .has("Shared responsibility: ")
            .has("Joe (assurance)");
        b.get("/projects")
            .await
            .expect(200)
            .html()
            .has(&format!("/projects/{id}"));

        // The project page: summary, six criteria with indicators, chart and table, evidence links.
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
        assert_ne!(overall(&january), overall(&project), "[{backend}]");
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

        // Comparing two dates.
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

        // Unknown or other organisations' projects: not found, said plainly.
        for path in [
            format!("/projects/{}", site.seeded.other_project_id),
            "/projects/not-a-project".to_string(),
            format!("/projects/{}/trail", uuid::Uuid::new_v4()),
            format!("/projects/{}/report", site.seeded.other_project_id),
        ] {
            b.get(&path)
                .await
                .expect(404)
                .html()
                .has("Project not found")
                .lacks("Day opportunities review");
        }

        // The trail: who and when, digests, corrections and withdrawals, the check.
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

        // The report, and its downloads byte for byte as the API gives them.
        let report = b
            .get(&format!("/projects/{id}/report?as_of={late}"))
            .await
            .expect(200)
            .html();
        report
            .has("Panel report")
            .has("Stream digest")
            .has("oxfordshire-six-point, version 1")
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
                .bearer_auth(&t.assurance)
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
        // The latest report links to its exact entries, so that its data never moves on.
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

        // Signing out needs the form's token; then the pages ask to sign in again.
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

        // A panel member: assessments and reports, and the trail without entries' contents.
        let mut panel = Browser::new(&site.base);
        panel.sign_in(&t.panel).await.expect(303);
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

        // Another organisation's panel sees only its own project.
        let mut harrow = Browser::new(&site.base);
        harrow.sign_in(&t.other_panel).await.expect(303);
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

        // A session whose id the server does not know (it restarted, or it expired).
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

        // The API is unchanged by the pages.
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
        site.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_tls_and_assets_are_served() {
    let db = kit::sqlite();
    let site = Site::start(db.store().await).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
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
    // The accessibility statement needs no sign-in.
    let statement = client
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_pages_count_projects_link_to_them_and_download_as_csv() {
    for db in kit::backends().await {
        let site = Site::start(db.store().await).await;
        let t = site.tokens.clone();
        let own = seed::seed_portfolio(&site.base, &t.recorder, &t.other_recorder, &t.admin).await;
        let early = site.seeded.early.clone();
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

        // The projects behind a figure.
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
        b.get("/portfolio/projects?stage=none&status=open")
            .await
            .expect(200)
            .html()
            .has("No project.");

        // At the end of a past day: only what had been recorded by then.
        b.get(&format!("/portfolio?as_of={early}"))
            .await
            .expect(200)
            .html()
            .has("The projects at the end of 31 January")
            .has(">3<span class=\"govuk-visually-hidden\"> projects: all</span></a> projects");

        // Bad choices: the page says what is wrong.
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
        b.get("/portfolio?organisation=harrow")
            .await
            .expect(403)
            .html()
            .has("You cannot see this page");
        b.get("/portfolio/comparison.csv").await.expect(403).html();

        // Every table downloads as CSV.
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

        // The administrator compares organisations: camden has too few projects.
        let mut admin = Browser::new(&site.base);
        admin.sign_in(&t.admin).await.expect(303);
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
        site.stop().await;
    }
}
