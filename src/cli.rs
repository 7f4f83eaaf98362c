//! The `coprod` command line. Every flag can also be given as an environment variable.
//!
//! Exit codes: 0 success; 1 `verify` found a divergence; 2 an error (printed on stderr).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use crate::app::caller::ALL_ORGANISATIONS;
use crate::config::{
    BODY_TIMEOUT_ENV, DATABASE_URL_ENV, DEFAULT_DATABASE_URL, DEFAULT_LISTEN, HEADER_TIMEOUT_ENV,
    IDLE_TIMEOUT_ENV, LISTEN_ENV, MAX_CONNECTIONS_ENV,
};
use crate::connections::ConnectionLimits;
use coprod_domain::digest::verify_chain;
use coprod_domain::seal::{check_seals, SealCheck, SealOutcome};
use coprod_domain::StoredEntry;

use crate::store::{AccessRole, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "coprod",
    version,
    about = "Audit trail and six-point co-production assessments"
)]
pub struct Cli {
    /// The database: sqlite://PATH (created if missing) or postgres://…
    #[arg(long, global = true, env = DATABASE_URL_ENV, default_value = DEFAULT_DATABASE_URL)]
    pub database: String,

    /// The master key file (used when COPROD_MASTER_KEY is not set; created, mode 0600, on a
    /// database's first start). Default: master.key beside the SQLite file, or ./data/master.key.
    #[arg(long, global = true, env = "COPROD_MASTER_KEY_FILE")]
    pub master_key_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API.
    Serve {
        /// The address to listen on.
        #[arg(long, env = LISTEN_ENV, default_value = DEFAULT_LISTEN)]
        listen: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Apply the database migrations.
    Migrate,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Drop the project views and rebuild them from the log.
    Rebuild,
    /// Recompute the hash chain and replay the sealed assessments of one project, of all, or of
    /// an exported trail (`--file`, no database needed); exit 1 on any divergence.
    Verify {
        /// The project id (all projects if omitted).
        #[arg(env = "COPROD_PROJECT", conflicts_with = "file")]
        project: Option<Uuid>,
        /// An NDJSON trail from `coprod export` or the API, checked with no server or database.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Print a project's audit trail as NDJSON, one entry a line (personal data stays encrypted).
    Export {
        /// The project id.
        #[arg(env = "COPROD_PROJECT")]
        project: Uuid,
    },
    /// Subject access: print, as JSON, every entry in every project that names one participant,
    /// with their personal data decrypted.
    SubjectExport {
        /// The participant id.
        participant: String,
    },
    /// Manage the master key that protects participants' personal data.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// How long slow or idle clients may hold a connection, and how many are served at once.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Seconds a request's headers may take to arrive, from their first byte.
    #[arg(long, env = HEADER_TIMEOUT_ENV, value_name = "SECONDS",
          default_value_t = ConnectionLimits::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive in full, from its headers.
    #[arg(long, env = BODY_TIMEOUT_ENV, value_name = "SECONDS",
          default_value_t = ConnectionLimits::DEFAULT_BODY_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds a connection may stay open with nothing read or written and no request handled.
    #[arg(long, env = IDLE_TIMEOUT_ENV, value_name = "SECONDS",
          default_value_t = ConnectionLimits::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Connections served at once; more wait, unanswered, until one closes.
    #[arg(long, env = MAX_CONNECTIONS_ENV,
          default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout),
            body_timeout: std::time::Duration::from_secs(self.body_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every participant's data key under a new master key (events are not touched).
    /// Stop the servers first; with COPROD_MASTER_KEY, give the new key in COPROD_NEW_MASTER_KEY.
    Rotate,
    /// Print a new random master key (64 hexadecimal digits) on stdout.
    Generate,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout (it is stored hashed: keep it now).
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
    },
}

/// Runs one command line; returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("coprod: {error}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Other(error.to_string())
    }
}

async fn open(database: &str) -> Result<Store, CliError> {
    let store = Store::connect(database).await?;
    store.migrate().await?;
    Ok(store)
}

/// Opens the store with the master key, for commands that write or read personal data.
async fn open_unlocked(cli: &Cli) -> Result<Store, CliError> {
    let store = open(&cli.database).await?;
    crate::master_key::unlock(&store, &key_file(cli))
        .await
        .map_err(CliError::Other)?;
    Ok(store)
}

fn key_file(cli: &Cli) -> std::path::PathBuf {
    cli.master_key_file
        .clone()
        .unwrap_or_else(|| crate::master_key::default_key_file(&cli.database))
}

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve {
            ref listen,
            ref limits,
        } => {
            let store = open_unlocked(&cli).await?;
            tracing::info!(backend = store.backend(), "store ready");
            if store.token_count().await? == 0 {
                let token = store
                    .create_token(AccessRole::Admin, ALL_ORGANISATIONS, "initial admin")
                    .await?;
                eprintln!(
                    "No API tokens existed, so an admin token was created. It is shown only once:\n{token}"
                );
            }
            if let Err(error) = store.catch_up().await {
                tracing::warn!(%error, "initial view catch-up failed");
            }
            serve(store, listen, limits.limits()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open(&cli.database).await?;
            eprintln!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::Create { role, org, label },
        } => {
            if org != ALL_ORGANISATIONS {
                let mut checker = coprod_domain::validate::Checker::default();
                checker.id("--org", &org);
                if let Some(error) = checker.errors.first() {
                    return Err(CliError::Other(format!(
                        "--org '{org}' {} (or '*' for every organisation)",
                        error.message
                    )));
                }
            }
            if !label.is_empty() {
                // The label is shown beside the token's id in `recorded_by`: the text rule holds.
                let mut checker = coprod_domain::validate::Checker::default();
                checker.line("--label", &label, coprod_domain::validate::MAX_TITLE_CHARS);
                if let Some(error) = checker.errors.first() {
                    return Err(CliError::Other(format!("--label {}", error.message)));
                }
            }
            let store = open(&cli.database).await?;
            let token = store.create_token(role, &org, &label).await?;
            let id = crate::store::token_id(&token);
            eprintln!(
                "token id {id}: what it records says `recorded_by` {}",
                crate::store::recorded_by_for(&id, &label)
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild => {
            let store = open_unlocked(&cli).await?;
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} rebuilding views [{bar:40}] {pos}/{len} events ({per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let applied = store.rebuild_views(&progress).await?;
            bar.finish_and_clear();
            let views = store.list_views(None, None).await?.len();
            eprintln!("rebuilt {views} project view(s) from {applied} event(s)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            file: Some(path), ..
        } => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?;
            let mut trail = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match serde_json::from_str::<crate::trail::TrailEntry>(line) {
                    Ok(entry) => trail.push(entry),
                    Err(e) => {
                        println!(
                            "{}: line {} is not a trail entry: {e}",
                            path.display(),
                            i + 1
                        );
                        return Ok(ExitCode::from(1));
                    }
                }
            }
            let entries = crate::trail::stored_entries(&trail);
            let label = path.display().to_string();
            let seals = check_seals(&entries);
            let intact = report(&mut std::io::stdout().lock(), &label, &entries, seals)?;
            Ok(exit_for(intact))
        }
        Command::Verify { project, .. } => {
            let store = open_unlocked(&cli).await?;
            let projects = match project {
                Some(id) => vec![id],
                None => store.project_ids().await?,
            };
            let mut intact = true;
            let mut out = std::io::stdout().lock();
            for id in projects {
                let entries = store.entries(id, 0, None).await?;
                let seals = store.check_seals(id, &entries).await?;
                intact &= report(&mut out, &id.to_string(), &entries, seals)?;
            }
            Ok(exit_for(intact))
        }
        Command::Export { project } => {
            let store = open(&cli.database).await?;
            let entries = store.entries(project, 0, None).await?;
            if entries.is_empty() {
                return Err(CliError::Other(format!("project {project} not found")));
            }
            let mut out = std::io::stdout().lock();
            out.write_all(crate::trail::ndjson(&entries).as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SubjectExport { ref participant } => {
            let store = open_unlocked(&cli).await?;
            let mut projects = Vec::new();
            for id in store.project_ids().await? {
                if let Some(found) = store.subject_access(id, participant).await? {
                    projects.push(found);
                }
            }
            let document = serde_json::json!({
                "participant_id": participant,
                "projects": projects,
            });
            let text = serde_json::to_string_pretty(&document)
                .map_err(|e| CliError::Other(e.to_string()))?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Generate,
        } => {
            println!("{}", crate::master_key::generate());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let store = open(&cli.database).await?;
            let done = crate::master_key::rotate(&store, &key_file(&cli))
                .await
                .map_err(CliError::Other)?;
            eprintln!("{done}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(store: Store, listen: &str, limits: ConnectionLimits) -> Result<(), CliError> {
    let address: std::net::SocketAddr = listen.parse().map_err(|_| {
        CliError::Other(format!(
            "'{listen}' is not an address like {DEFAULT_LISTEN}"
        ))
    })?;
    crate::serve(store, address, limits)
        .await
        .map_err(|e| CliError::Other(e.to_string()))
}

fn exit_for(intact: bool) -> ExitCode {
    if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints what recomputing one project's chain and replaying its seals found; true if intact.
fn report(
    out: &mut impl Write,
    label: &str,
    entries: &[StoredEntry],
    seals: Vec<SealCheck>,
) -> std::io::Result<bool> {
    if entries.is_empty() {
        writeln!(out, "{label} NOT FOUND")?;
        return Ok(false);
    }
    let check = verify_chain(entries);
    let mut intact = true;
    match check.first_divergence {
        None => writeln!(
            out,
            "{label} OK ({} entries, head {})",
            check.heads.len(),
            check.head
        )?,
        Some(sequence) => {
            writeln!(out, "{label} DIVERGES at sequence {sequence}")?;
            intact = false;
        }
    }
    for seal in seals {
        let verdict = match seal.outcome {
            SealOutcome::Holds => "OK",
            SealOutcome::CannotReplay => "CANNOT BE REPLAYED IN FULL",
            _ => "FAILS",
        };
        writeln!(
            out,
            "{label} seal at entry {} ({}): {verdict}. {}",
            seal.sequence, seal.purpose, seal.explanation
        )?;
        intact &= !seal.contradicted();
    }
    Ok(intact)
}
