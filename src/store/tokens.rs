//! API tokens: who each speaks for (a role and an organisation), stored as SHA-256 only, and
//! kept in memory for a while once found.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use coprod_domain::recorded::format_instant;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::db::{on_db, Db};
use super::{Store, StoreError};

/// How long a token, once found, is taken as valid without asking the database again. Tokens
/// cannot be revoked yet; when they can, a revocation takes this long to reach every server.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(60);
/// Tokens whose principal this process keeps at once.
pub(super) const MAX_CACHED_TOKENS: u64 = 10_000;

/// What a token may do (see docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    Recorder,
    Assurance,
    Panel,
    Admin,
}

impl AccessRole {
    pub const ALL: [AccessRole; 4] = [
        AccessRole::Recorder,
        AccessRole::Assurance,
        AccessRole::Panel,
        AccessRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Recorder => "recorder",
            AccessRole::Assurance => "assurance",
            AccessRole::Panel => "panel",
            AccessRole::Admin => "admin",
        }
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}': expected recorder, assurance, panel or admin")]
pub struct UnknownRole(pub String);

impl FromStr for AccessRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's stable id ([`token_id`]): unique among tokens, unlike labels.
    pub token_id: String,
    /// The token's label, as given when it was created (may be empty, need not be unique).
    pub label: String,
    pub role: AccessRole,
    /// The organisation whose projects it may touch; `*` means all.
    pub organisation: String,
}

impl Principal {
    /// What the entries this token records say as `recorded_by`: `token:<id> (<label>)`, or
    /// `token:<id>` for a token without a label. The id tells tokens apart; the label says
    /// whose it is. (Entries recorded before ids were recorded hold the label alone.)
    pub fn recorded_by(&self) -> String {
        recorded_by_for(&self.token_id, &self.label)
    }

    /// Whose idempotency keys are whose: `token:<id>`, so that two tokens labelled alike never
    /// share answers.
    pub fn idempotency_owner(&self) -> String {
        format!("token:{}", self.token_id)
    }

    /// How the pages name the person signed in: the label, or `token:<id>` without one.
    pub fn display_name(&self) -> String {
        if self.label.is_empty() {
            format!("token:{}", self.token_id)
        } else {
            self.label.clone()
        }
    }
}

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "coprod_";

/// SHA-256 of the token, lowercase hex: the only form the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hexadecimal digits of a token's hash that make its id.
const TOKEN_ID_DIGITS: usize = 16;

/// A token's stable id: the first 16 hexadecimal digits (64 bits) of its SHA-256. Public (it
/// cannot be turned back into the token), fixed for the token's life, and unique: creating a
/// token makes another one rather than reuse an id (see `Db::create_token`).
pub fn token_id(token: &str) -> String {
    id_of_hash(&token_hash(token))
}

/// The `recorded_by` of the token with this id and label (see [`Principal::recorded_by`]).
pub fn recorded_by_for(token_id: &str, label: &str) -> String {
    if label.is_empty() {
        format!("token:{token_id}")
    } else {
        format!("token:{token_id} ({label})")
    }
}

fn id_of_hash(hash: &str) -> String {
    hash.chars().take(TOKEN_ID_DIGITS).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

impl Db {
    async fn create_token(
        &self,
        role: AccessRole,
        organisation: &str,
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        // Ids are 64 bits of the hash: a clash is all but impossible, but never reused.
        let taken = "SELECT COUNT(*) FROM api_tokens WHERE substr(token_hash, 1, 16) = $1";
        let token = loop {
            let token = new_token();
            let id = token_id(&token);
            let (count,): (i64,) = on_db!(self, |pool| sqlx::query_as(taken)
                .bind(&id)
                .fetch_one(pool)
                .await?);
            if count == 0 {
                break token;
            }
        };
        let sql = "INSERT INTO api_tokens (token_hash, role, organisation, label, created_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        let hash = token_hash(&token);
        let now = format_instant(now);
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(&hash)
                .bind(role.as_str())
                .bind(organisation)
                .bind(label)
                .bind(&now)
                .execute(pool)
                .await?;
        });
        Ok(token)
    }

    async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let sql = "SELECT role, organisation, label FROM api_tokens WHERE token_hash = $1";
        let row: Option<(String, String, String)> = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(&hash)
            .fetch_optional(pool)
            .await?);
        let Some((role, organisation, label)) = row else {
            return Ok(None);
        };
        let role = role
            .parse()
            .map_err(|e: UnknownRole| StoreError::Internal(e.to_string()))?;
        Ok(Some(Principal {
            token_id: id_of_hash(&hash),
            label,
            role,
            organisation,
        }))
    }

    async fn token_count(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) = on_db!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM api_tokens")
                .fetch_one(pool)
                .await?
        });
        Ok(count.max(0) as u64)
    }
}

impl Store {
    /// Creates a token; returns it in plain text (`coprod_` and 64 hex digits). Only its SHA-256
    /// is stored: it cannot be shown again.
    pub async fn create_token(
        &self,
        role: AccessRole,
        organisation: &str,
        label: &str,
    ) -> Result<String, StoreError> {
        let now = self.inner.clock.now();
        self.inner
            .db
            .create_token(role, organisation, label, now)
            .await
    }

    /// Who a bearer token speaks for; `None` if it is not a token the store issued. A token
    /// found is kept for [`TOKEN_TTL`]; one not found is asked for again every time, so that a
    /// token created by another process works at once.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let hash = token_hash(token);
        if let Some(principal) = self.inner.tokens.get(&hash) {
            return Ok(Some(principal));
        }
        let principal = self.inner.db.authenticate(token).await?;
        if let Some(principal) = &principal {
            self.inner.tokens.insert(hash, principal.clone());
        }
        Ok(principal)
    }

    pub async fn token_count(&self) -> Result<u64, StoreError> {
        self.inner.db.token_count().await
    }
}
