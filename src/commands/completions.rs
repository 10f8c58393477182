//! `cubeblob completions SHELL`: a completion script generated from the clap
//! definition. The scripts under `completions/` are the same output, committed, and
//! a test fails when they fall behind the definition.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;

pub fn run(args: CompletionsArgs) -> Result<Exit> {
    // Generated into memory first: clap_complete panics on a write error, and
    // `cubeblob completions bash | head` must end quietly.
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script(args.shell))?;
    stdout.flush()?;
    Ok(Exit::Success)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cubeblob", &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed file name of each shell's script, as packagers expect them.
    const FILES: [(Shell, &str); 5] = [
        (Shell::Bash, "cubeblob.bash"),
        (Shell::Zsh, "_cubeblob"),
        (Shell::Fish, "cubeblob.fish"),
        (Shell::PowerShell, "_cubeblob.ps1"),
        (Shell::Elvish, "cubeblob.elv"),
    ];

    /// Fails when `completions/` is stale; `UPDATE_COMPLETIONS=1 cargo test
    /// committed_completions` rewrites the files.
    #[test]
    fn committed_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let update = std::env::var_os("UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
        let mut stale = Vec::new();
        for (shell, file) in FILES {
            let path = dir.join(file);
            let expected = script(shell);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &expected).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(&expected[..]) {
                stale.push(file);
            }
        }
        assert!(
            stale.is_empty(),
            "completions/{{{}}} differ from the clap definition; regenerate them with \
             `UPDATE_COMPLETIONS=1 cargo test committed_completions` and commit the result",
            stale.join(",")
        );
    }
}
