//! The `fleetward` binary: parse arguments, run, map the outcome to an exit code.
//! 0 = no failing finding, 1 = failing findings, 2 = fleetward could not do its job.

use clap::Parser;
use std::process::ExitCode;

// syn allocates and frees a node per token: the system allocator was a third of the run time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = fleetward::cli::Cli::parse();
    match fleetward::run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            // A closed pipe (`fleetward ... | head`) is not an error.
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            fleetward::report::print_error(&err);
            ExitCode::from(fleetward::ExitStatus::Error as u8)
        }
    }
}
