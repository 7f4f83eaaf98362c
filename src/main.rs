use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    coprod::config::init_logging();
    coprod::cli::run(coprod::cli::Cli::parse()).await
}
