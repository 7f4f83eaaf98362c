use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    coprod::config::init_logging();
    coprod::cli::run(coprod::cli::Cli::from_command_line()).await
}
