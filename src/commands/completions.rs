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
    clap_complete::generate(shell, &mut visible(&Cli::command()), "cubeblob", &mut buf);
    buf
}

/// The definition without its hidden options: clap_complete offers those too, and
/// they are test aids (`serve --faults`) or always refused (`--token`, `--password`).
/// clap cannot remove an argument, so the tree is rebuilt from the visible ones.
fn visible(cmd: &clap::Command) -> clap::Command {
    let shown = |a: &&clap::Arg| !a.is_hide_set();
    let mut out = clap::Command::new(cmd.get_name().to_string())
        .disable_help_subcommand(cmd.is_disable_help_subcommand_set());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(version.to_string());
    }
    for alias in cmd.get_visible_aliases() {
        out = out.visible_alias(alias.to_string());
    }
    let kept: Vec<&clap::Id> = cmd
        .get_arguments()
        .filter(shown)
        .map(|a| a.get_id())
        .collect();
    out = out.args(cmd.get_arguments().filter(shown).cloned());
    for group in cmd.get_groups() {
        let members: Vec<clap::Id> = group
            .get_args()
            .filter(|id| kept.contains(id))
            .cloned()
            .collect();
        out = out.group(
            clap::ArgGroup::new(group.get_id().clone())
                .args(members)
                .multiple(group.clone().is_multiple()),
        );
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(visible(sub));
    }
    out
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

    /// The man pages: `cubeblob.1`, and `cubeblob-COMMAND.1` for each command, with
    /// the global options it takes. The version is the package's alone, so that a new
    /// commit does not make them stale.
    fn man_pages() -> Vec<(String, Vec<u8>)> {
        let mut root = Cli::command().version(env!("CARGO_PKG_VERSION"));
        root.build();
        let mut pages = Vec::new();
        let mut render = |name: String, cmd: clap::Command| {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf).unwrap();
            pages.push((format!("man/{name}.1"), buf));
        };
        render("cubeblob".into(), root.clone());
        for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("cubeblob-{}", sub.get_name());
            render(
                name.clone(),
                sub.clone().name(name).version(env!("CARGO_PKG_VERSION")),
            );
        }
        pages
    }

    #[test]
    fn hidden_options_are_not_completed() {
        let bash = String::from_utf8(script(Shell::Bash)).unwrap();
        for hidden in [
            "--faults",
            "--s3-tamper",
            "--seed-blobs",
            "--token ",
            "--password ",
        ] {
            assert!(!bash.contains(hidden), "{hidden} is offered");
        }
        assert!(bash.contains("--token-stdin") && bash.contains("--password-stdin"));
    }

    /// Fails when `completions/` (scripts and man pages) is stale;
    /// `UPDATE_COMPLETIONS=1 cargo test committed_completions` rewrites the files.
    #[test]
    fn committed_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let update = std::env::var_os("UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
        let mut stale = Vec::new();
        let scripts = FILES.map(|(shell, file)| (file.to_string(), script(shell)));
        for (file, expected) in scripts.into_iter().chain(man_pages()) {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
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
