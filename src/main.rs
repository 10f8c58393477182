//! The binary: parse, run, print the error once, pick the exit code.

use std::process::ExitCode;

use clap::Parser;
use cubeblob::cli::Cli;
use cubeblob::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cubeblob::output::stderr_color(cli.global.color);
    match cubeblob::commands::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) if cubeblob::output::is_broken_pipe(&err) => Exit::Success.into(),
        Err(err) => {
            let exit = Exit::for_error(&err);
            cubeblob::output::print_error(&err, color);
            exit.into()
        }
    }
}
