use std::process::ExitCode;

/// Every request allocates and frees many small buffers on several threads at once, where
/// mimalloc's per-thread pages cost far less than glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    coprod::config::init_logging();
    coprod::cli::run(coprod::cli::Cli::from_command_line()).await
}
