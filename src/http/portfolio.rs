//! `GET /portfolio`, `/portfolio/trend` and `/portfolio/comparison`: the application's
//! portfolio questions ([`crate::app::portfolio`]) asked over HTTP, answered as JSON or, with
//! `Accept: text/csv`, as CSV, each with its `ETag`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use super::respond::json_or_csv;
use crate::app::answer::json_bytes;
use crate::app::portfolio::figures::Every;
use crate::app::portfolio::{
    comparison_of, portfolio_of, trend_of, Comparison, ComparisonQuery, Portfolio, PortfolioQuery,
    Trend, TrendQuery,
};
use crate::app::{AppState, Caller};

#[utoipa::path(get, path = "/api/v1/portfolio", tag = "portfolio",
    params(
        ("organisation" = Option<String>, Query, description = "default: your own; `*` (or another organisation) only with a token for every organisation"),
        ("service_area" = Option<String>, Query, description = "only the projects of this service area"),
        ("as_of" = Option<String>, Query, description = "RFC 3339 instant, or a date (end of that day, UTC): as recorded by then"),
        ("happened_by" = Option<String>, Query, description = "A date: what had happened by the end of that day, by the facts' own dates, as known now (or as recorded by as_of, when both are given)"),
        ("rubric" = Option<String>, Query, description = "id@version; default the latest")),
    responses((status = 200, body = Portfolio, description = "How many projects meet each criterion and indicator; byte-identical for the same question; 'Accept: text/csv' gives one figure per row"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn portfolio(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    StrictQuery(query): StrictQuery<PortfolioQuery>,
) -> Result<Response, ApiError> {
    let (portfolio, _) = portfolio_of(&state, &caller, &query).await?;
    json_or_csv(&headers, || json_bytes(&portfolio), || portfolio.csv())
}

#[utoipa::path(get, path = "/api/v1/portfolio/trend", tag = "portfolio",
    params(
        ("organisation" = Option<String>, Query, description = "as for /portfolio"),
        ("service_area" = Option<String>, Query),
        ("from" = Option<String>, Query, description = "RFC 3339 instant or date; default: the start of the 12th period back"),
        ("to" = Option<String>, Query, description = "RFC 3339 instant or date (end of that day, UTC); default: everything recorded so far"),
        ("every" = Option<Every>, Query, description = "quarter (default) or month: calendar periods, UTC"),
        ("happened_by" = Option<String>, Query, description = "A date, instead of to: periods up to the end of that day, each counting what had happened by the period's end, by the facts' own dates, as known now"),
        ("rubric" = Option<String>, Query, description = "id@version; default the latest")),
    responses((status = 200, body = Trend, description = "The portfolio at the end of each period, each replayed as recorded by then (at most 120 periods)"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    StrictQuery(query): StrictQuery<TrendQuery>,
) -> Result<Response, ApiError> {
    let trend = trend_of(&state, &caller, &query).await?;
    json_or_csv(&headers, || json_bytes(&trend), || trend.csv())
}

#[utoipa::path(get, path = "/api/v1/portfolio/comparison", tag = "portfolio",
    params(
        ("service_area" = Option<String>, Query),
        ("as_of" = Option<String>, Query, description = "RFC 3339 instant, or a date (end of that day, UTC)"),
        ("happened_by" = Option<String>, Query, description = "A date: what had happened by the end of that day, by the facts' own dates (with as_of, as recorded by then)"),
        ("rubric" = Option<String>, Query, description = "id@version; default the latest")),
    responses((status = 200, body = Comparison, description = "One row per organisation; fewer than 3 projects: too few to compare"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn comparison(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    StrictQuery(query): StrictQuery<ComparisonQuery>,
) -> Result<Response, ApiError> {
    let comparison = comparison_of(&state, &caller, &query).await?;
    json_or_csv(&headers, || json_bytes(&comparison), || comparison.csv())
}
