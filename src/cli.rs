//! The `coprod` command line. Every flag can also be given as an environment variable.
//!
//! Exit codes: 0 success; 1 `verify` found a divergence; 2 an error (printed on stderr).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use crate::config::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN};
use coprod_domain::digest::verify_chain;
use coprod_domain::seal::check_seals;
use coprod_domain::StoredEntry;

use crate::store::{Role, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "coprod",
    version,
    about = "Audit trail and six-point co-production assessments"
)]
pub struct Cli {
    /// The database: sqlite://PATH (created if missing) or postgres://…
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API.
    Serve {
        /// The address to listen on.
        #[arg(long, env = "COPROD_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: String,
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
    /// Print a project's audit trail as NDJSON, one entry a line.
    Export {
        /// The project id.
        #[arg(env = "COPROD_PROJECT")]
        project: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout (it is stored hashed: keep it now).
    Create {
        /// recorder, assurance, panel or admin.
        #[arg(long, env = "COPROD_TOKEN_ROLE")]
        role: Role,
        /// The organisation whose projects it may touch (`*` for all).
        #[arg(long, env = "COPROD_TOKEN_ORG")]
        org: String,
        /// A name for the token, stored as `recorded_by` on what it records.
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

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve { listen } => {
            let store = open(&cli.database).await?;
            tracing::info!(backend = store.backend(), "store ready");
            if store.token_count().await? == 0 {
                let token = store
                    .create_token(Role::Admin, "*", "initial admin")
                    .await?;
                eprintln!(
                    "No API tokens existed, so an admin token was created. It is shown only once:\n{token}"
                );
            }
            if let Err(error) = store.catch_up().await {
                tracing::warn!(%error, "initial view catch-up failed");
            }
            serve(store, &listen).await?;
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
            if org != "*" {
                let mut checker = coprod_domain::validate::Checker::default();
                checker.id("--org", &org);
                if let Some(error) = checker.errors.first() {
                    return Err(CliError::Other(format!(
                        "--org '{org}' {} (or '*' for every organisation)",
                        error.message
                    )));
                }
            }
            let store = open(&cli.database).await?;
            let token = store.create_token(role, &org, &label).await?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild => {
            let store = open(&cli.database).await?;
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
            let intact = report(&mut std::io::stdout().lock(), &label, &entries)?;
            Ok(exit_for(intact))
        }
        Command::Verify { project, .. } => {
            let store = open(&cli.database).await?;
            let projects = match project {
                Some(id) => vec![id],
                None => store.project_ids().await?,
            };
            let mut intact = true;
            let mut out = std::io::stdout().lock();
            for id in projects {
                let entries = store.entries(id, 0, None).await?;
                intact &= report(&mut out, &id.to_string(), &entries)?;
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
    }
}

async fn serve(store: Store, listen: &str) -> Result<(), CliError> {
    let address: std::net::SocketAddr = listen.parse().map_err(|_| {
        CliError::Other(format!("'{listen}' is not an address like 127.0.0.1:8080"))
    })?;
    crate::http::serve(store, address)
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
fn report(out: &mut impl Write, label: &str, entries: &[StoredEntry]) -> std::io::Result<bool> {
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
    for seal in check_seals(entries) {
        let verdict = if seal.valid { "OK" } else { "FAILS" };
        writeln!(
            out,
            "{label} seal at entry {} ({}): {verdict}. {}",
            seal.sequence, seal.purpose, seal.explanation
        )?;
        intact &= seal.valid;
    }
    Ok(intact)
}
