//! The `coprod` command line. Every flag can also be given as an environment variable.
//!
//! Only `serve` and `migrate` create a database; every other command refuses one that does not
//! exist, so that a mistyped path is never taken for an empty record.
//!
//! Exit codes: 0 success; 1 `verify` found a divergence (or a project it was asked for is not
//! there, or a trail that does not hold its checkpointed head), or `checkpoint` found a trail
//! that no longer holds what was checkpointed; 2 an error, or nothing to verify (printed on
//! stderr).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uuid::Uuid;

use crate::app::caller::ALL_ORGANISATIONS;
use crate::app::AppState;
use crate::clock::Clock;
use crate::config::{
    BODY_TIMEOUT_ENV, DATABASE_URL_ENV, DEFAULT_DATABASE_URL, DEFAULT_DEMO_DATABASE_URL,
    DEFAULT_LISTEN, DEMO_KEY_FILE_NAME, HEADER_TIMEOUT_ENV, IDLE_TIMEOUT_ENV, LISTEN_ENV,
    MAX_CONNECTIONS_ENV, WORKER_THREADS_ENV,
};
use crate::connections::ConnectionLimits;
use crate::demo::{self, DemoError, Prepared};
use crate::master_key::MASTER_KEY_FILE_ENV;
use crate::web::words::{count, noun as count_noun};
use coprod_domain::digest::verify_chain;
use coprod_domain::seal::{check_seals, SealCheck, SealOutcome};
use coprod_domain::StoredEntry;

use crate::store::{AccessRole, Store, StoreError};
pub use crate::token_commands::TokenCommand;

#[derive(Debug, Parser)]
#[command(
    name = "coprod",
    version,
    about = "Audit trail and six-point co-production assessments"
)]
pub struct Cli {
    /// The database: sqlite://PATH or postgres://USER@HOST/NAME. Only `serve` and `migrate`
    /// create a SQLite file that does not exist yet.
    #[arg(long, global = true, env = DATABASE_URL_ENV, default_value = DEFAULT_DATABASE_URL)]
    pub database: String,

    /// The master key file (used when COPROD_MASTER_KEY is not set; created, mode 0600, on a
    /// database's first start). Default: master.key beside the SQLite file, or ./data/master.key.
    #[arg(long, global = true, env = MASTER_KEY_FILE_ENV)]
    pub master_key_file: Option<PathBuf>,

    /// Which of the options above were typed on the command line rather than taken from the
    /// environment or the defaults (the demo uses only those).
    #[arg(skip)]
    pub typed: Typed,

    /// The checkpoint key file (used when COPROD_CHECKPOINT_KEY is not set; created, mode 0600,
    /// by the first `coprod checkpoint`). Default: checkpoint.key beside the master key file's
    /// default place.
    #[arg(long, global = true, env = crate::checkpoint_key::CHECKPOINT_KEY_FILE_ENV)]
    pub checkpoint_key_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Whether `--database` and `--master-key-file` were typed on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Typed {
    pub database: bool,
    pub master_key_file: bool,
}

impl Cli {
    /// The async runtime this command runs on: `--worker-threads` threads for `serve` when
    /// given, otherwise tokio's default (one per core, or `TOKIO_WORKER_THREADS`).
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all();
        if let Command::Serve {
            worker_threads: Some(threads),
            ..
        } = &self.command
        {
            builder.worker_threads(usize::from(*threads));
        }
        builder.build()
    }

    /// This process's command line (clap prints the help or the mistake, and exits, when it
    /// cannot be read).
    pub fn from_command_line() -> Cli {
        Cli::from_args(std::env::args_os())
    }

    /// A command line given as its words, the program's name first.
    pub fn from_args<I, T>(args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().get_matches_from(args);
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        let typed = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
        cli.typed = Typed {
            database: typed("database"),
            master_key_file: typed("master_key_file"),
        };
        cli
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API and the pages.
    Serve {
        /// The address to listen on.
        #[arg(long, env = LISTEN_ENV, default_value = DEFAULT_LISTEN)]
        listen: String,
        /// How often to make a signed checkpoint when anything changed (90s, 10m, 1h, or off);
        /// none is made without a checkpoint key.
        #[arg(long, env = "COPROD_CHECKPOINT_EVERY", default_value = crate::checkpoint_key::DEFAULT_EVERY)]
        checkpoint_every: String,
        /// Serve the demo: four made-up projects told over 2025, loaded on first use into a
        /// database of their own (sqlite://./data/demo.db, or the one --database names on the
        /// command line; DATABASE_URL is not used), with a sign-in token printed for each role.
        /// A database that holds other projects is refused.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        rate_limits: crate::rate_limits::RateLimitArgs,
        /// A PostgreSQL streaming replica of the database (postgres://…) to send reads of
        /// projects, trails, assessments, pages and the portfolio to; writes, and reads asking
        /// for a sequence it has not replayed yet, go to the database itself. A replica that
        /// does not answer is set aside until it does.
        #[arg(long, env = crate::config::READ_DATABASE_URL_ENV, value_name = "URL", conflicts_with = "demo")]
        read_database: Option<String>,
        /// Seconds the read replica may be behind the primary: further behind, it is set aside
        /// (reads go to the primary) until it catches up.
        #[arg(long, env = crate::config::READ_MAX_LAG_ENV, value_name = "SECONDS",
              default_value_t = crate::config::DEFAULT_READ_MAX_LAG_SECONDS,
              value_parser = clap::value_parser!(u64).range(1..=86_400), requires = "read_database")]
        read_max_lag: u64,
        /// Threads that run requests and appends; one per core by default. On a small machine
        /// that the database shares, fewer may serve light loads faster (docs/operations.md).
        #[arg(long, env = WORKER_THREADS_ENV, value_name = "N", allow_negative_numbers = true,
              value_parser = clap::value_parser!(u16).range(1..=1024))]
        worker_threads: Option<u16>,
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
        /// With --file: a checkpoint bundle {checkpoint, proof} (GET
        /// /api/v1/checkpoints/N/projects/ID/proof) to check the trail against.
        #[arg(long, requires = "file", requires = "public_key")]
        checkpoint: Option<std::path::PathBuf>,
        /// The checkpoint public key (64 hexadecimal digits, or a file holding them) to check
        /// checkpoints with; by default the checkpoint key's.
        #[arg(long)]
        public_key: Option<String>,
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
    /// Copy a SQLite database, while it is being served, into a new file FILE: a consistent
    /// copy as of one instant (for PostgreSQL use pg_dump: see docs/operations.md). Check the
    /// copy with `coprod --database sqlite://FILE verify`.
    Backup {
        /// The new file to write (never overwritten).
        file: PathBuf,
    },
    /// Make a signed checkpoint of every project's head now and print it as JSON (see
    /// docs/checkpoints.md); the first one creates the checkpoint key file.
    Checkpoint {
        #[command(subcommand)]
        command: Option<CheckpointCommand>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Print checkpoint NUMBER (the latest by default) as JSON; with --project, the bundle
    /// {checkpoint, proof} that `coprod verify --file … --checkpoint …` takes.
    Show {
        number: Option<u64>,
        #[arg(long)]
        project: Option<Uuid>,
        /// Check the stored checkpoints with this public key instead of the checkpoint key's.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print the checkpoint public key (64 hexadecimal digits), to publish.
    PublicKey,
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
    #[error("{database}: {error}")]
    Demo { database: String, error: DemoError },
    #[error("{0}")]
    Other(String),
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Other(error.to_string())
    }
}

/// Whether a command may create the database it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// `serve` and `migrate`: a SQLite file (and its folder) is created if missing.
    MayCreate,
    /// Every other command: the database must exist already.
    Existing,
}

fn is_postgres(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// Refuses a database that is not a URL Coprod reads, saying how to write one.
fn check_database_url(database: &str) -> Result<(), CliError> {
    if is_postgres(database) || database.starts_with("sqlite:") {
        return Ok(());
    }
    let looks_like_a_file = database.contains('/')
        || database.contains('\\')
        || [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ending| database.ends_with(ending));
    let example = if looks_like_a_file && !database.contains("://") {
        format!("sqlite://{database}")
    } else {
        "sqlite://./data/coprod.db".to_string()
    };
    Err(CliError::Other(format!(
        "--database '{database}' is not a database URL: use sqlite://… for a SQLite file \
         (e.g. {example}) or postgres://… for PostgreSQL (e.g. postgres://coprod@localhost/coprod)"
    )))
}

/// The file a `sqlite:` URL names, if it names one (not an in-memory database).
fn sqlite_file(database: &str) -> Option<PathBuf> {
    let rest = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Connects to `database` on `clock`, after checking that it is a URL Coprod reads and, unless
/// the command may create it, that a SQLite file is there (nothing is created otherwise: no
/// folder, no file, no key). Does not migrate.
async fn connect(database: &str, opening: Opening, clock: Clock) -> Result<Store, CliError> {
    check_database_url(database)?;
    if opening == Opening::Existing {
        if let Some(file) = sqlite_file(database).filter(|file| !file.exists()) {
            return Err(CliError::Other(format!(
                "there is no database at {} ({database}). Check the path; only `coprod migrate` \
                 and `coprod serve` create a database. Nothing was created.",
                file.display()
            )));
        }
    }
    match Store::connect_with_clock(database, clock).await {
        Ok(store) => Ok(store),
        Err(error) if is_postgres(database) => Err(postgres_unreachable(database, error).await),
        Err(error) => Err(error.into()),
    }
}

/// Why PostgreSQL could not be reached, in the user's terms: where, and what it answered (the
/// pool only says that it timed out, so one connection is tried on its own to learn the cause).
async fn postgres_unreachable(database: &str, error: StoreError) -> CliError {
    let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(database) else {
        return CliError::Other(format!(
            "{database} is not a PostgreSQL URL Coprod can read"
        ));
    };
    let place = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let name = options
        .get_database()
        .unwrap_or_else(|| options.get_username())
        .to_string();
    let attempt = tokio::time::timeout(
        Duration::from_secs(5),
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
    );
    let cause = match attempt.await {
        Err(_) => "no answer within 5 seconds".to_string(),
        Ok(Err(sqlx::Error::Io(io))) => io.to_string(),
        Ok(Err(sqlx::Error::Database(answer))) => answer.message().to_string(),
        Ok(Err(other)) => other.to_string(),
        Ok(Ok(connection)) => {
            let _ = sqlx::Connection::close(connection).await;
            error.to_string()
        }
    };
    CliError::Other(format!(
        "cannot connect to PostgreSQL at {place} (database '{name}'): {cause}"
    ))
}

async fn open(database: &str, opening: Opening) -> Result<Store, CliError> {
    let store = connect(database, opening, Clock::system()).await?;
    store.migrate().await?;
    Ok(store)
}

/// Opens the store with the master key, for commands that write or read personal data.
async fn open_unlocked(
    database: &str,
    key_file: &Path,
    opening: Opening,
) -> Result<Store, CliError> {
    let store = open(database, opening).await?;
    unlock(&store, key_file).await?;
    Ok(store)
}

fn checkpoint_key_file(cli: &Cli) -> PathBuf {
    cli.checkpoint_key_file
        .clone()
        .unwrap_or_else(|| crate::checkpoint_key::default_key_file(&cli.database))
}

async fn unlock(store: &Store, key_file: &Path) -> Result<(), CliError> {
    crate::master_key::unlock(store, key_file)
        .await
        .map_err(CliError::Other)
}

fn key_file(cli: &Cli) -> PathBuf {
    cli.master_key_file
        .clone()
        .unwrap_or_else(|| crate::master_key::default_key_file(&cli.database))
}

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve {
            ref listen,
            demo: true,
            ref limits,
            ref rate_limits,
            ..
        } => {
            serve_demo(&cli, listen, limits.limits(), rate_limits.rate_limits()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            ref listen,
            ref checkpoint_every,
            demo: false,
            ref limits,
            ref rate_limits,
            ref read_database,
            read_max_lag,
            worker_threads: _,
        } => {
            let every =
                crate::checkpoint_key::parse_every(checkpoint_every).map_err(CliError::Other)?;
            if let Some(url) = read_database {
                check_read_database(&cli.database, url)?;
            }
            let store = open_unlocked(&cli.database, &key_file(&cli), Opening::MayCreate).await?;
            tracing::info!(backend = store.backend(), "store ready");
            if let Some(url) = read_database {
                attach_read_replica(&store, url, Duration::from_secs(read_max_lag)).await?;
            }
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
            crate::checkpoint_key::start_checkpoints(&store, &checkpoint_key_file(&cli), every)
                .await;
            let state = AppState::new(store).with_rate_limits(rate_limits.rate_limits());
            serve(state, listen, limits.limits()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open(&cli.database, Opening::MayCreate).await?;
            eprintln!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { ref command } => {
            use crate::token_commands::TokenCommandError;
            let refused = |error: TokenCommandError| match error {
                TokenCommandError::Store(error) => CliError::Store(error),
                other => CliError::Other(other.to_string()),
            };
            crate::token_commands::check(command).map_err(refused)?;
            let store = open(&cli.database, Opening::Existing).await?;
            let (mut out, mut notes) = (std::io::stdout().lock(), std::io::stderr().lock());
            crate::token_commands::run(&store, command, &mut out, &mut notes)
                .await
                .map_err(refused)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild => {
            let store = open_unlocked(&cli.database, &key_file(&cli), Opening::Existing).await?;
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
            eprintln!(
                "rebuilt {} from {}",
                count(views, "project view", "project views"),
                count(applied as usize, "event", "events")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            file: Some(path),
            checkpoint,
            public_key,
            ..
        } => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?;
            if text.trim().is_empty() {
                return Err(CliError::Other(format!(
                    "the file {} is empty: it holds no trail entries, so nothing was verified. \
                     Export a trail with `coprod export PROJECT_ID > FILE`.",
                    path.display()
                )));
            }
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
            let mut out = std::io::stdout().lock();
            let mut intact = report(&mut out, &label, &entries, seals)?;
            if checkpoint.is_none() && public_key.is_some() {
                return Err(CliError::Other(
                    "--public-key with --file checks a checkpoint: give it with --checkpoint"
                        .into(),
                ));
            }
            if let (Some(checkpoint), Some(public_key)) = (checkpoint, public_key) {
                intact &= crate::checkpoint_commands::check_file(
                    &mut out,
                    &label,
                    &entries,
                    &checkpoint,
                    &public_key,
                )
                .map_err(CliError::Other)?;
            }
            Ok(exit_for(intact))
        }
        Command::Verify {
            project,
            ref public_key,
            ..
        } => {
            let store = open(&cli.database, Opening::Existing).await?;
            let checks = crate::checkpoint_commands::VerifyChecks::prepare(
                &store,
                &checkpoint_key_file(&cli),
                public_key.as_deref(),
            )
            .await
            .map_err(CliError::Other)?;
            let projects = match project {
                Some(id) => vec![id],
                None => checks.with_checkpointed(store.project_ids().await?),
            };
            // Said before the key is looked for, so that an empty database gets no key either.
            if projects.is_empty() {
                return Err(CliError::Other(format!(
                    "{} holds no projects, so nothing was verified. Check that --database names \
                     the database you mean.",
                    cli.database
                )));
            }
            unlock(&store, &key_file(&cli)).await?;
            let mut intact = true;
            let mut out = std::io::stdout().lock();
            for id in projects {
                let guarded = store.guarded_entries(id).await?;
                let seals = store.check_seals(id, &guarded.entries).await?;
                intact &= report(&mut out, &id.to_string(), &guarded.entries, seals)?;
                intact &= checks.report(&mut out, &id.to_string(), &guarded)?;
            }
            Ok(exit_for(intact))
        }
        Command::Export { project } => {
            let store = open(&cli.database, Opening::Existing).await?;
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
            let store = open_unlocked(&cli.database, &key_file(&cli), Opening::Existing).await?;
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
        Command::Checkpoint { ref command } => {
            use crate::checkpoint_commands::{self as checkpoints, Stopped};
            let key_file = checkpoint_key_file(&cli);
            let done = match command {
                None => {
                    checkpoints::make(&open(&cli.database, Opening::Existing).await?, &key_file)
                        .await
                }
                Some(CheckpointCommand::Show {
                    number,
                    project,
                    public_key,
                }) => {
                    let store = open(&cli.database, Opening::Existing).await?;
                    checkpoints::show(&store, &key_file, public_key.as_deref(), *number, *project)
                        .await
                }
                Some(CheckpointCommand::PublicKey) => checkpoints::print_public_key(&key_file),
            };
            match done {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(Stopped::Finding(why)) => {
                    eprintln!("coprod: {why}");
                    Ok(ExitCode::from(1))
                }
                Err(Stopped::Error(why)) => Err(CliError::Other(why)),
            }
        }
        Command::Backup { ref file } => {
            let store = open(&cli.database, Opening::Existing).await?;
            let summary = store
                .backup_sqlite_into(file)
                .await
                .map_err(|e| CliError::Other(e.to_string()))?;
            eprintln!(
                "backed up {} and {} to {}; check it with `coprod --database sqlite://{} verify`",
                count(summary.projects as usize, "project", "projects"),
                count(summary.entries as usize, "entry", "entries"),
                file.display(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let store = open(&cli.database, Opening::Existing).await?;
            let done = crate::master_key::rotate(&store, &key_file(&cli))
                .await
                .map_err(CliError::Other)?;
            eprintln!("{done}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Refuses a read replica that cannot be one, before anything is opened or created: it must be
/// a PostgreSQL URL, of a replica of a PostgreSQL database.
fn check_read_database(database: &str, url: &str) -> Result<(), CliError> {
    if !is_postgres(url) {
        return Err(CliError::Other(
            "--read-database takes the postgres://… URL of a PostgreSQL streaming replica of \
             --database"
                .into(),
        ));
    }
    if !is_postgres(database) {
        return Err(CliError::Other(
            "--read-database is for a PostgreSQL --database (its streaming replica); a SQLite \
             database has no replica: leave --read-database out"
                .into(),
        ));
    }
    Ok(())
}

/// Sends reads to the replica at `url`; one that does not answer now is said so and set aside
/// (the server starts on the primary alone and takes the replica when it answers).
async fn attach_read_replica(store: &Store, url: &str, max_lag: Duration) -> Result<(), CliError> {
    let status = store
        .attach_read_replica(url, max_lag)
        .await
        .map_err(|e| CliError::Other(format!("--read-database: {e}")))?;
    if status.is_serving() {
        tracing::info!(replica = %status.address, "reads go to the read replica");
    } else {
        tracing::warn!(
            replica = %status.address,
            status = status.status,
            reason = status.reason.as_deref().unwrap_or(""),
            "the read replica does not serve: starting on the primary alone; reads go to the \
             replica once it answers (see /readyz)"
        );
    }
    Ok(())
}

fn listen_address(listen: &str) -> Result<std::net::SocketAddr, CliError> {
    listen.parse().map_err(|_| {
        CliError::Other(format!(
            "'{listen}' is not an address like {DEFAULT_LISTEN}"
        ))
    })
}

async fn serve(state: AppState, listen: &str, limits: ConnectionLimits) -> Result<(), CliError> {
    let address = listen_address(listen)?;
    tracing::info!(rate_limits = ?state.rate_limits, "rate limits");
    crate::serve_state(state, address, limits)
        .await
        .map_err(|e| CliError::Other(e.to_string()))
}

/// `coprod serve --demo`: the demo's own database (only one typed on the command line replaces
/// the default, so that DATABASE_URL, which names the real one, is never used), its stories loaded
/// on first use on a clock moved through their days, then served on the system clock, every
/// page saying it is a demo, with a new sign-in token for each role.
async fn serve_demo(
    cli: &Cli,
    listen: &str,
    limits: ConnectionLimits,
    rate_limits: crate::rate_limits::RateLimits,
) -> Result<(), CliError> {
    let address = listen_address(listen)?;
    let database = if cli.typed.database {
        cli.database.clone()
    } else {
        DEFAULT_DEMO_DATABASE_URL.to_string()
    };
    let key_file = match (&cli.master_key_file, cli.typed.master_key_file) {
        (Some(file), true) => file.clone(),
        _ => crate::master_key::default_key_file(&database).with_file_name(DEMO_KEY_FILE_NAME),
    };
    let demo_error = |error| CliError::Demo {
        database: database.clone(),
        error,
    };
    {
        let loading = connect(
            &database,
            Opening::MayCreate,
            Clock::fixed(chrono::Utc::now()),
        )
        .await?;
        loading.migrate().await?;
        // Refuse a real database before touching its keys.
        match demo::contents(&loading).await.map_err(demo_error)? {
            demo::Contents::RealProjects { count } => {
                return Err(demo_error(DemoError::RealProjects { count }))
            }
            demo::Contents::PartlyLoaded => return Err(demo_error(DemoError::PartlyLoaded)),
            demo::Contents::Empty | demo::Contents::Loaded => {}
        }
        unlock(&loading, &key_file).await?;
        match demo::prepare(&loading).await.map_err(demo_error)? {
            Prepared::LoadedNow(loaded) => eprintln!(
                "Loaded the demo into {database}: {} example {}, {}.",
                loaded.projects,
                count_noun(loaded.projects, "project", "projects"),
                count(loaded.entries as usize, "entry", "entries")
            ),
            Prepared::AlreadyThere => {
                eprintln!("The demo in {database} is loaded already: nothing was added.")
            }
        }
    }
    let store = open_unlocked(&database, &key_file, Opening::MayCreate).await?;
    let sign_ins = demo::sign_in_tokens(&store).await?;
    eprintln!("{}", demo_welcome(&address, &sign_ins));
    if let Err(error) = store.catch_up().await {
        tracing::warn!(%error, "initial view catch-up failed");
    }
    let state = AppState::new(store.clone())
        .as_demo()
        .with_rate_limits(rate_limits);
    crate::serve_state(state, address, limits)
        .await
        .map_err(|e| CliError::Other(e.to_string()))
}

/// What the demo prints before it serves: where to go, and a token for each role.
fn demo_welcome(address: &std::net::SocketAddr, sign_ins: &[demo::SignIn]) -> String {
    let mut text = format!(
        "\nThis is the Coprod demo: four made-up projects told over 2025. Nothing in it is real.\n\
         Open http://{address}/ and sign in with one of these tokens, to see what each role sees \
         (new tokens are made at every start):\n\n"
    );
    for sign_in in sign_ins {
        text.push_str(&format!(
            "  {:<24} {}\n  {:<24} ({})\n",
            sign_in.label,
            sign_in.token,
            "",
            demo::what_role_sees(sign_in.role)
        ));
    }
    text
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
            "{label} OK ({}, head {})",
            count(check.heads.len(), "entry", "entries"),
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
