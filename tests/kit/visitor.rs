//! Someone using the pages: signs in on one server and may carry the session cookie to another
//! server of the same database (as a load balancer without sticky sessions would send them).

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;

/// A page as it was answered.
#[derive(Debug)]
pub struct Seen {
    pub status: StatusCode,
    pub body: String,
    pub retry_after: Option<String>,
    pub content_type: String,
    /// The value of each cookie the answer set (`""` for one it removed).
    pub set_cookies: Vec<(String, String)>,
}

impl Seen {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the page is a signed-in page (it has the sign-out button).
    pub fn signed_in(&self) -> bool {
        self.status == StatusCode::OK && self.body.contains(r#"action="/sign-out""#)
    }
}

/// A browser without redirects, holding a session cookie once signed in.
pub struct Visitor {
    client: reqwest::Client,
    pub session: Option<String>,
}

impl Default for Visitor {
    fn default() -> Self {
        Visitor::new()
    }
}

impl Visitor {
    pub fn new() -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            session: None,
        }
    }

    async fn read(&self, request: reqwest::RequestBuilder, what: &str) -> Seen {
        let request = match &self.session {
            Some(session) => request.header(COOKIE, format!("coprod_session={session}")),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(reqwest::header::RETRY_AFTER);
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next()?.split_once('='))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let body = response.text().await.unwrap_or_default();
        assert!(!status.is_server_error(), "{what}: {status} {body}");
        Seen {
            status,
            body,
            retry_after,
            content_type,
            set_cookies,
        }
    }

    /// `GET base+path` with the session cookie, if any.
    pub async fn get(&self, base: &str, path: &str) -> Seen {
        self.read(
            self.client.get(format!("{base}{path}")),
            &format!("GET {base}{path}"),
        )
        .await
    }

    /// Opens `base`'s sign-in form and signs in with `token` from `address` (sent as
    /// `X-Forwarded-For`, if given); keeps the session cookie of a 303.
    pub async fn sign_in_from(&mut self, base: &str, token: &str, address: Option<&str>) -> Seen {
        self.session = None;
        let form = self.get(base, "/").await;
        let value = form
            .cookie("coprod_sign_in")
            .unwrap_or_else(|| panic!("no sign-in cookie from {base}/: {}", form.status))
            .to_string();
        let mut request = self
            .client
            .post(format!("{base}/sign-in"))
            .header(COOKIE, format!("coprod_sign_in={value}"))
            .form(&[("token", token), ("csrf", value.as_str())]);
        if let Some(address) = address {
            request = request.header("x-forwarded-for", address);
        }
        let answer = self.read(request, &format!("POST {base}/sign-in")).await;
        if answer.status == StatusCode::SEE_OTHER {
            self.session = answer.cookie("coprod_session").map(str::to_string);
        }
        answer
    }

    /// [`Visitor::sign_in_from`] with no forwarded address; the answer must be a 303.
    pub async fn sign_in(&mut self, base: &str, token: &str) {
        let answer = self.sign_in_from(base, token, None).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "signing in on {base}: {}",
            answer.body
        );
        assert!(self.session.is_some(), "no session cookie from {base}");
    }

    /// Signs out on `base` with the sign-out form of its project list; the answer.
    pub async fn sign_out(&self, base: &str) -> Seen {
        let page = self.get(base, "/projects").await;
        assert!(page.signed_in(), "not signed in on {base}: {}", page.status);
        let marker = r#"name="csrf" value=""#;
        let at = page.body.find(marker).expect("sign-out form") + marker.len();
        let csrf = &page.body[at..at + page.body[at..].find('"').expect("end of value")];
        let request = self
            .client
            .post(format!("{base}/sign-out"))
            .form(&[("csrf", csrf)]);
        self.read(request, &format!("POST {base}/sign-out")).await
    }
}
