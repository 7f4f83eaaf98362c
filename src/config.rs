//! Defaults and environment variables of the `coprod` binary.

/// Where the data lives unless `--database` / `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/coprod.db";
/// Where `coprod serve --demo` keeps the example projects unless `--database` names another
/// database on the command line: never the database of real projects.
pub const DEFAULT_DEMO_DATABASE_URL: &str = "sqlite://./data/demo.db";
/// The demo's master key file, beside its database, apart from the real one's `master.key`.
pub const DEMO_KEY_FILE_NAME: &str = "demo-master.key";
/// Where `coprod serve` listens unless `--listen` / `COPROD_LISTEN` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// A PostgreSQL streaming replica `coprod serve` sends reads to (see `read_routing`).
pub const READ_DATABASE_URL_ENV: &str = "COPROD_READ_DATABASE_URL";
/// How far behind (seconds) the read replica may be before reads go to the primary instead.
pub const READ_MAX_LAG_ENV: &str = "COPROD_READ_MAX_LAG";
pub const DEFAULT_READ_MAX_LAG_SECONDS: u64 = 30;
pub const LISTEN_ENV: &str = "COPROD_LISTEN";
/// `coprod serve`'s connection limits (see `connections`): seconds, and a number of connections.
pub const HEADER_TIMEOUT_ENV: &str = "COPROD_HEADER_TIMEOUT";
pub const BODY_TIMEOUT_ENV: &str = "COPROD_BODY_TIMEOUT";
pub const IDLE_TIMEOUT_ENV: &str = "COPROD_IDLE_TIMEOUT";
pub const MAX_CONNECTIONS_ENV: &str = "COPROD_MAX_CONNECTIONS";
/// `coprod serve`'s async worker threads (one per core when unset).
pub const WORKER_THREADS_ENV: &str = "COPROD_WORKER_THREADS";
/// `1` switches the logs (on stderr) to JSON lines.
pub const LOG_JSON_ENV: &str = "COPROD_LOG_JSON";
/// The log filter (tracing-subscriber `EnvFilter` syntax); `info` when unset.
pub const LOG_FILTER_ENV: &str = "RUST_LOG";

/// Set (to anything) to write logs without colours even on a terminal.
pub const NO_COLOR_ENV: &str = "NO_COLOR";

/// Sets up logging on stderr (stdout belongs to command output such as tokens and exports).
/// Colours only on a terminal: logs sent to a file or a pipe carry no escape codes.
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env(LOG_FILTER_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var(LOG_JSON_ENV).is_ok_and(|v| v == "1");
    let colour = std::io::stderr().is_terminal() && std::env::var_os(NO_COLOR_ENV).is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
