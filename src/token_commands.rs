//! `coprod token create | list | revoke`: making, listing and revoking API tokens on the
//! command line (administrators do the same through `/api/v1/tokens`).

use std::io::Write;

use clap::Subcommand;

use crate::app::tokens::new_token_errors;
use crate::store::{
    is_token_id, parse_lifetime, recorded_by_for, token_id, AccessRole, Store, StoreError,
    TokenRecord,
};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed on the last line of stdout (it is stored hashed: keep it
    /// now).
    Create {
        /// recorder, assurance, panel or admin.
        #[arg(long, env = "COPROD_TOKEN_ROLE")]
        role: AccessRole,
        /// The organisation whose projects it may touch (`*` for all).
        #[arg(long, env = "COPROD_TOKEN_ORG")]
        org: String,
        /// A name for the token, recorded beside its id on what it records
        /// (`recorded_by`: `token:<id> (<label>)`).
        #[arg(long, env = "COPROD_TOKEN_LABEL", default_value = "")]
        label: String,
        /// How long the token is accepted: a whole number and m, h, d or w (90d, 12h, 2w);
        /// for ever without it.
        #[arg(long, value_name = "LIFETIME", value_parser = lifetime_arg)]
        expires_in: Option<chrono::Duration>,
    },
    /// List the tokens (never the tokens themselves): id, label, role, organisation, when each
    /// was made, expires and was last used, and whether it is active, expired or revoked.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id: every server refuses it within a second, and its sessions end.
    Revoke {
        /// The token's id (16 hexadecimal digits, from `coprod token list`).
        id: String,
    },
}

fn lifetime_arg(text: &str) -> Result<chrono::Duration, String> {
    parse_lifetime(text).map_err(|e| e.to_string())
}

/// Why a token command failed (printed by the caller; exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TokenCommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Refused(String),
}

/// Runs `command` on `store`, printing on `out` (stdout) and `notes` (stderr).
pub async fn run(
    store: &Store,
    command: &TokenCommand,
    out: &mut impl Write,
    notes: &mut impl Write,
) -> Result<(), TokenCommandError> {
    match command {
        TokenCommand::Create {
            role,
            org,
            label,
            expires_in,
        } => create(store, *role, org, label, *expires_in, out, notes).await,
        TokenCommand::List { json } => list(store, *json, out).await,
        TokenCommand::Revoke { id } => revoke(store, id, notes).await,
    }
}

/// The flags' checks, before the database is opened.
pub fn check(command: &TokenCommand) -> Result<(), TokenCommandError> {
    let TokenCommand::Create { org, label, .. } = command else {
        return Ok(());
    };
    match new_token_errors(org, label, "").first() {
        Some(error) if error.path == "organisation" => Err(TokenCommandError::Refused(format!(
            "--org '{org}' {} (or '*' for every organisation)",
            error.message
        ))),
        Some(error) => Err(TokenCommandError::Refused(format!(
            "--label {}",
            error.message
        ))),
        None => Ok(()),
    }
}

async fn create(
    store: &Store,
    role: AccessRole,
    org: &str,
    label: &str,
    lifetime: Option<chrono::Duration>,
    out: &mut impl Write,
    notes: &mut impl Write,
) -> Result<(), TokenCommandError> {
    let (token, record) = store
        .create_expiring_token(role, org, label, lifetime)
        .await?;
    let id = token_id(&token);
    writeln!(
        notes,
        "token id {id}: what it records says `recorded_by` {}",
        recorded_by_for(&id, label)
    )?;
    match &record.expires_at {
        Some(at) => writeln!(notes, "it expires at {at}")?,
        None => writeln!(
            notes,
            "it never expires; revoke it with `coprod token revoke {id}`"
        )?,
    }
    writeln!(out, "{token}")?;
    Ok(())
}

async fn list(store: &Store, json: bool, out: &mut impl Write) -> Result<(), TokenCommandError> {
    let tokens = store.list_tokens().await?;
    if json {
        let text = serde_json::to_string_pretty(&tokens)
            .map_err(|e| TokenCommandError::Refused(e.to_string()))?;
        writeln!(out, "{text}")?;
        return Ok(());
    }
    if tokens.is_empty() {
        writeln!(out, "no tokens")?;
        return Ok(());
    }
    let rows: Vec<[String; 8]> = tokens.iter().map(row).collect();
    let headings = [
        "ID",
        "ROLE",
        "ORGANISATION",
        "STATUS",
        "CREATED",
        "EXPIRES",
        "LAST USED",
        "LABEL",
    ];
    let mut widths = headings.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text
    };
    writeln!(out, "{}", line(&headings.map(String::from)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn row(record: &TokenRecord) -> [String; 8] {
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let status = serde_json::to_value(record.status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    [
        record.id.clone(),
        record.role.to_string(),
        record.organisation.clone(),
        status,
        record.created_at.clone(),
        or_dash(&record.expires_at),
        or_dash(&record.last_used_at),
        // A label is one line of printable text (checked when the token was made).
        record.label.clone(),
    ]
}

async fn revoke(store: &Store, id: &str, notes: &mut impl Write) -> Result<(), TokenCommandError> {
    let Some(record) = store.revoke_token(id).await? else {
        // What is not an id is not repeated: it may be a token pasted by mistake.
        let which = if is_token_id(id) {
            format!("the id '{id}'")
        } else {
            "that id".to_string()
        };
        return Err(TokenCommandError::Refused(format!(
            "no token has {which}: an id is 16 hexadecimal digits, as `coprod token list` \
             shows them. Nothing was revoked."
        )));
    };
    writeln!(
        notes,
        "token {} revoked at {}: every server refuses it within a second, and its sessions \
         have ended",
        record.id,
        record.revoked_at.as_deref().unwrap_or("-")
    )?;
    Ok(())
}
