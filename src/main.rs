use std::process::ExitCode;

/// Every request allocates and frees many small buffers on several threads at once, where
/// mimalloc's per-thread pages cost far less than glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    coprod::config::init_logging();
    let cli = coprod::cli::Cli::from_command_line();
    // Built after the command line is read, since `serve --worker-threads` sizes it.
    match cli.runtime() {
        Ok(runtime) => runtime.block_on(coprod::cli::run(cli)),
        Err(error) => {
            eprintln!("coprod: cannot start the async runtime: {error}");
            ExitCode::from(2)
        }
    }
}
