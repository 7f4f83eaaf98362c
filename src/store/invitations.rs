//! One-time invitations for a participant to say what they think of a project: a random 256-bit
//! secret in a link, of which only the SHA-256 is stored. A link works until it expires, and
//! once: answering claims it first (a single conditional update, so two answers at once cannot
//! both get through), and gives it back if the answer is then refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use coprod_domain::recorded::format_instant;
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::db::on_db;
use super::{Store, StoreError};

/// Characters in a secret: 32 random bytes, base64url without padding.
const SECRET_CHARS: usize = 43;

/// An invitation just issued: the secret (shown once, never stored) and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub secret: String,
    pub expires_at: String,
}

/// Whom an invitation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub project_id: Uuid,
    pub participant_id: String,
    pub expires_at: String,
}

/// What a link's secret leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationState {
    /// It can be answered (or, for a claim, this request has claimed it).
    Open(Invitation),
    /// It was answered already.
    Used,
    /// Its time ran out unanswered.
    Expired,
    /// No invitation has this secret: mistyped or made up.
    Unknown,
}

type InvitationRow = (String, String, String, Option<String>);

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` has the form of one this store makes (so that nothing else is looked up).
fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Store {
    /// Issues an invitation for `participant_id` of `project_id`, working until `expires_at`.
    pub async fn issue_invitation(
        &self,
        project_id: Uuid,
        participant_id: &str,
        issued_by: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<IssuedInvitation, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let expires_at = format_instant(expires_at);
        let sql = "INSERT INTO invitations \
                   (secret_hash, project_id, participant_id, issued_by, issued_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(secret_hash(&secret))
                .bind(project_id.to_string())
                .bind(participant_id)
                .bind(issued_by)
                .bind(format_instant(self.inner.clock.now()))
                .bind(&expires_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(IssuedInvitation { secret, expires_at })
    }

    /// What `secret` leads to now.
    pub async fn invitation(&self, secret: &str) -> Result<InvitationState, StoreError> {
        if !well_formed(secret) {
            return Ok(InvitationState::Unknown);
        }
        let sql = "SELECT project_id, participant_id, expires_at, used_at FROM invitations \
                   WHERE secret_hash = $1";
        let row: Option<InvitationRow> = on_db!(&self.inner.db, |pool| {
            sqlx::query_as(sql)
                .bind(secret_hash(secret))
                .fetch_optional(pool)
                .await?
        });
        let now = format_instant(self.inner.clock.now());
        Ok(match row {
            None => InvitationState::Unknown,
            Some((_, _, _, Some(_))) => InvitationState::Used,
            Some((_, _, expires_at, None)) if expires_at <= now => InvitationState::Expired,
            Some((project_id, participant_id, expires_at, None)) => {
                let project_id = Uuid::parse_str(&project_id)
                    .map_err(|e| StoreError::Internal(format!("an invitation's project: {e}")))?;
                InvitationState::Open(Invitation {
                    project_id,
                    participant_id,
                    expires_at,
                })
            }
        })
    }

    /// Claims `secret` for one answer: `Open` only for the one request that claimed it, still
    /// unused and unexpired; otherwise what it leads to.
    pub async fn claim_invitation(&self, secret: &str) -> Result<InvitationState, StoreError> {
        let state = self.invitation(secret).await?;
        if !matches!(state, InvitationState::Open(_)) {
            return Ok(state);
        }
        let now = format_instant(self.inner.clock.now());
        let sql = "UPDATE invitations SET used_at = $1 \
                   WHERE secret_hash = $2 AND used_at IS NULL AND expires_at > $1";
        let claimed = on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(&now)
                .bind(secret_hash(secret))
                .execute(pool)
                .await?
                .rows_affected()
        });
        if claimed == 1 {
            Ok(state)
        } else {
            // Another request claimed it first, or it expired in between.
            self.invitation(secret).await
        }
    }

    /// Gives back a claimed invitation whose answer was not recorded.
    pub async fn release_invitation(&self, secret: &str) -> Result<(), StoreError> {
        let sql = "UPDATE invitations SET used_at = NULL \
                   WHERE secret_hash = $1 AND answer_sequence IS NULL";
        on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(secret_hash(secret))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Notes the entry a claimed invitation's answer was recorded as.
    pub async fn invitation_answered(&self, secret: &str, sequence: u64) -> Result<(), StoreError> {
        let sql = "UPDATE invitations SET answer_sequence = $1 WHERE secret_hash = $2";
        on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(sequence as i64)
                .bind(secret_hash(secret))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }
}
