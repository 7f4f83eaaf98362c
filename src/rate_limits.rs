//! Rate limits: sign-in attempts per client address, and API requests per token (per client
//! address for requests without one), each a `governor` bucket that fills at the rate given and
//! holds that many at most (so `10/min` allows 10 at once, then one every 6 seconds). An API
//! request with a token that is not accepted (unknown, revoked, expired) also counts as a
//! sign-in attempt of its address, so that tokens cannot be guessed at the API any faster than at
//! the form. Past a limit the answer is `429 rate_limited` (problem+json) with `Retry-After`.
//!
//! The client's address is the connection's, or, with `--trust-proxy`, the last one in
//! `X-Forwarded-For`: the address the proxy in front saw (the ones before it are whatever the
//! client claimed). Each server keeps its own buckets: behind N servers a client may make up to
//! N times the rate.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::app::AppState;
use crate::http::problem::ApiError;
use crate::store::{token_hash, TokenCheck};

/// How a rate is written, for the errors that name it.
pub const RATE_FORMS: &str = "a whole number per s, min or h (e.g. 10/min, 5/s, 1000/h), or off";
/// Buckets a limiter keeps before it forgets the full ones.
const MAX_BUCKETS: usize = 100_000;

/// A rate: `count` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    fn quota(self) -> Quota {
        let period = self.per / self.count.get();
        Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(self.count))
            .allow_burst(self.count)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// A rate limit as `coprod serve` is given it: a [`Rate`], or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting(pub Option<Rate>);

impl FromStr for RateSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a rate: write {RATE_FORMS}");
        if text == "off" {
            return Ok(RateSetting(None));
        }
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        if count.is_empty() || count.len() > 9 || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let count = count
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(bad)?;
        let per = match unit {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(60 * 60),
            _ => return Err(bad()),
        };
        Ok(RateSetting(Some(Rate { count, per })))
    }
}

/// `coprod serve`'s rate-limit flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitArgs {
    /// Sign-in attempts each client address may make (N/s, N/min or N/h, or off); API requests
    /// with a token that is not accepted count as attempts too.
    #[arg(long, env = "COPROD_SIGN_IN_LIMIT", value_name = "RATE", default_value = "10/min",
          value_parser = clap::value_parser!(RateSetting))]
    pub sign_in_limit: RateSetting,
    /// API requests each token may make (N/s, N/min or N/h, or off); requests without a token
    /// count against the client's address.
    #[arg(long, env = "COPROD_API_LIMIT", value_name = "RATE", default_value = "1200/min",
          value_parser = clap::value_parser!(RateSetting))]
    pub api_limit: RateSetting,
    /// Take the client's address from the last entry of X-Forwarded-For (set this only behind
    /// a proxy that sets that header; otherwise clients could choose their address).
    #[arg(long, env = "COPROD_TRUST_PROXY")]
    pub trust_proxy: bool,
}

impl RateLimitArgs {
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits::new(self.sign_in_limit.0, self.api_limit.0, self.trust_proxy)
    }
}

/// The rate limits of one server (none by default: the tests and the demo's stories set them).
#[derive(Clone, Default)]
pub struct RateLimits(Option<Arc<Limiters>>);

struct Limiters {
    sign_in: Option<DefaultKeyedRateLimiter<String>>,
    api: Option<DefaultKeyedRateLimiter<String>>,
    trust_proxy: bool,
    /// The rates, as given (for the log).
    rates: (Option<Rate>, Option<Rate>),
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("RateLimits(none)"),
            Some(limiters) => {
                let rate = |rate: Option<Rate>| rate.map_or("off".to_string(), |r| r.to_string());
                write!(
                    f,
                    "RateLimits(sign-in {} per address, api {} per token, trust proxy {})",
                    rate(limiters.rates.0),
                    rate(limiters.rates.1),
                    limiters.trust_proxy
                )
            }
        }
    }
}

impl RateLimits {
    /// Sign-in attempts per client address, and API requests per token, at these rates (`None`:
    /// unlimited); the client's address from `X-Forwarded-For` when `trust_proxy`.
    pub fn new(sign_in: Option<Rate>, api: Option<Rate>, trust_proxy: bool) -> RateLimits {
        let limiter =
            |rate: Option<Rate>| rate.map(|rate| DefaultKeyedRateLimiter::keyed(rate.quota()));
        RateLimits(Some(Arc::new(Limiters {
            sign_in: limiter(sign_in),
            api: limiter(api),
            trust_proxy,
            rates: (sign_in, api),
        })))
    }
}

/// Which limit a request counts against, and under which key.
fn bucket<'a>(
    limiters: &'a Limiters,
    request: &Request,
) -> Option<(Limit, &'a DefaultKeyedRateLimiter<String>, String)> {
    let path = request.uri().path();
    let address = || {
        client_address(request, limiters.trust_proxy)
            .map(|address| format!("address:{address}"))
            .unwrap_or_else(|| "address:unknown".to_string())
    };
    if path == "/sign-in" && request.method() == Method::POST {
        let limiter = limiters.sign_in.as_ref()?;
        return Some((Limit::SignIn, limiter, address()));
    }
    if path.starts_with("/api/") {
        let limiter = limiters.api.as_ref()?;
        let key = bearer(request.headers())
            .map(|token| format!("token:{}", token_hash(token)))
            .unwrap_or_else(address);
        return Some((Limit::Api, limiter, key));
    }
    None
}

#[derive(Debug, Clone, Copy)]
enum Limit {
    SignIn,
    Api,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The client's address: the connection's, or with `trust_proxy` the last address in
/// `X-Forwarded-For` (the one the proxy appended), when there is one.
pub fn client_address(request: &Request, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .rfind(|item| !item.is_empty())
            .and_then(|item| item.parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// The middleware: a request past its limit is answered 429 at once.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiters) = state.rate_limits.0.as_deref() else {
        return next.run(request).await;
    };
    let Some((which, limiter, key)) = bucket(limiters, &request) else {
        return next.run(request).await;
    };
    if limiter.len() > MAX_BUCKETS {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    if let Err(not_until) = limiter.check_key(&key) {
        return too_many(which, not_until.wait_time_from(limiter.clock().now()));
    }
    if let Some(guess) = guess(limiters, &request) {
        if let Some(refused) = refuse_guess(&state, limiters, guess).await {
            return refused;
        }
    }
    next.run(request).await
}

/// An API request with a token the store does not accept counts as a sign-in attempt of the
/// client's address: a per-token limit alone would let anyone guess tokens as fast as they
/// like, each guess being a token of its own. The token and the address key, for an API
/// request with a token when sign-in attempts are limited.
fn guess(limiters: &Limiters, request: &Request) -> Option<(String, String)> {
    limiters.sign_in.as_ref()?;
    if !request.uri().path().starts_with("/api/") {
        return None;
    }
    let token = bearer(request.headers())?.to_string();
    let address = client_address(request, limiters.trust_proxy)
        .map(|address| format!("address:{address}"))
        .unwrap_or_else(|| "address:unknown".to_string());
    Some((token, address))
}

/// The 429 for a guess past the address's sign-in attempts; `None` for a token that is accepted
/// (which counts nothing), or when the store cannot answer (the handler then answers 503).
async fn refuse_guess(
    state: &AppState,
    limiters: &Limiters,
    (token, address): (String, String),
) -> Option<Response> {
    let attempts = limiters.sign_in.as_ref()?;
    if let Ok(TokenCheck::Valid(_)) | Err(_) = state.store.check_token(&token).await {
        return None;
    }
    attempts.check_key(&address).err().map(|not_until| {
        too_many(
            Limit::SignIn,
            not_until.wait_time_from(attempts.clock().now()),
        )
    })
}

fn too_many(which: Limit, wait: Duration) -> Response {
    // Whole seconds, rounded up: a client that waits as long is let through.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let detail = match which {
        Limit::SignIn => format!(
            "Too many sign-in attempts (or requests with tokens that are not accepted) from your \
             address. Wait {seconds} seconds, then try again."
        ),
        Limit::Api => format!(
            "Too many requests with this token. Wait {seconds} seconds, then try again; spread \
             requests out, or ask for a higher limit."
        ),
    };
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_a_count_per_second_minute_or_hour_or_off() {
        let rate = |text: &str| text.parse::<RateSetting>().map(|r| r.0);
        assert_eq!(rate("off"), Ok(None));
        let ten_a_minute = rate("10/min").unwrap().unwrap();
        assert_eq!(ten_a_minute.count.get(), 10);
        assert_eq!(ten_a_minute.per, Duration::from_secs(60));
        assert_eq!(ten_a_minute.to_string(), "10/min");
        assert_eq!(rate("5/s").unwrap().unwrap().per, Duration::from_secs(1));
        assert_eq!(
            rate("1000/h").unwrap().unwrap().per,
            Duration::from_secs(3600)
        );
        for bad in [
            "",
            "10",
            "0/min",
            "-1/min",
            "10/minute",
            "10 /min",
            "1.5/s",
            "/s",
            "9999999999/s",
            "ten/s",
            "10/m",
        ] {
            let error = rate(bad).expect_err(bad);
            assert!(error.contains("10/min"), "{error}");
        }
    }
}
