//! The `portfolio_projects` view: which projects a portfolio covers (by organisation and
//! service area) and since when, so that a portfolio as of a moment reads only the projects
//! registered by then. Written with `project_views` (see `projector.rs`) and rebuilt with it.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::db::{on_db, Db};
use super::{Store, StoreError};

/// One project of a portfolio's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioProject {
    pub project_id: Uuid,
    pub organisation: String,
    pub service_area: String,
    /// When its registration was recorded (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub registered_at: String,
}

impl Db {
    async fn portfolio_projects(
        &self,
        organisation: Option<&str>,
        service_area: Option<&str>,
        registered_by: Option<&str>,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        // PostgreSQL must be told the type of a parameter that is only compared with NULL.
        let sql = "SELECT project_id, organisation, service_area, registered_at \
                   FROM portfolio_projects \
                   WHERE ($1::text IS NULL OR lower(organisation) = lower($1::text)) \
                     AND ($2::text IS NULL OR service_area = $2::text) \
                     AND ($3::text IS NULL OR registered_at <= $3::text) \
                   ORDER BY project_id";
        let sql = match self {
            Db::Postgres(_) => sql.to_string(),
            Db::Sqlite(_) => sql.replace("::text", ""),
        };
        Ok(on_db!(self, |pool| sqlx::query_as(&sql)
            .bind(organisation)
            .bind(service_area)
            .bind(registered_by)
            .fetch_all(pool)
            .await?))
    }
}

impl Db {
    async fn portfolio_scopes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = "SELECT DISTINCT organisation, service_area FROM portfolio_projects \
                   ORDER BY organisation, service_area";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_all(pool)
            .await?))
    }
}

impl Db {
    async fn organisation_names(&self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = "SELECT organisation, organisation_name FROM portfolio_projects \
                   WHERE organisation_name IS NOT NULL ORDER BY registered_at, project_id";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_all(pool)
            .await?))
    }
}

impl Store {
    /// How people know each organisation, by its slug in lower case: the name its latest
    /// registration that gives one gives.
    pub async fn organisation_names(&self) -> Result<BTreeMap<String, String>, StoreError> {
        self.catch_up().await?;
        Ok(self
            .inner
            .db
            .organisation_names()
            .await?
            .into_iter()
            .map(|(slug, name)| (slug.to_lowercase(), name))
            .collect())
    }

    /// Every (organisation, service area) that has a project, in order (for filters).
    pub async fn portfolio_scopes(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.catch_up().await?;
        self.read(|db| async move { db.portfolio_scopes().await })
            .await
    }

    /// The projects of `organisation` (all, if `None`) and `service_area` (all, if `None`) whose
    /// registration was recorded by `registered_by` (ever, if `None`), by project id. The views are
    /// brought up to date first.
    pub async fn portfolio_projects(
        &self,
        organisation: Option<&str>,
        service_area: Option<&str>,
        registered_by: Option<&str>,
    ) -> Result<Vec<PortfolioProject>, StoreError> {
        self.catch_up().await?;
        self.read(|db| async move {
            db.portfolio_projects(organisation, service_area, registered_by)
                .await
        })
        .await?
        .into_iter()
        .map(|(id, organisation, service_area, registered_at)| {
            Ok(PortfolioProject {
                project_id: id.parse().map_err(|e| {
                    StoreError::Internal(format!("bad project id '{id}' in the portfolio: {e}"))
                })?,
                organisation,
                service_area,
                registered_at,
            })
        })
        .collect()
    }
}
