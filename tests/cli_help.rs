//! What `--help`, `--version` and the aliases show a new user (issue 16, point 7).
//! The man pages and completions are checked against the definition by the unit
//! tests in `commands::completions`.

mod common;

use common::cubeblob;

fn stdout_of(args: &[&str]) -> String {
    let config = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .args(args)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn help_lists_the_command_options_first_and_the_global_ones_under_their_heading() {
    for args in [["upload", "--help"], ["upload", "-h"], ["list", "-h"]] {
        let help = stdout_of(&args);
        let own = help.find("\nOptions:").expect("an Options heading");
        let global = help
            .find("\nGlobal options:")
            .expect("a Global options heading");
        assert!(own < global, "{help}");
        let command_option = if args[0] == "upload" {
            "--public"
        } else {
            "--all"
        };
        let at = own + help[own..].find(command_option).unwrap();
        assert!(at < global, "{command_option} among its own: {help}");
        let at = help.find("--api-url").unwrap();
        assert!(at > global, "--api-url among the global ones: {help}");
    }
}

#[test]
fn the_usual_aliases_reach_their_commands() {
    for (alias, command) in [
        ("ls", "list"),
        ("get", "download"),
        ("put", "upload"),
        ("mv", "rename"),
        ("delete", "rm"),
    ] {
        let help = stdout_of(&[alias, "--help"]);
        assert!(
            help.contains(&format!("Usage: cubeblob {command} ")),
            "{alias}: {help}"
        );
    }
    let help = stdout_of(&["--help"]);
    assert!(help.contains("[alias: ls]"), "aliases are shown: {help}");
}

#[test]
fn version_names_the_commit_and_the_target() {
    let version = stdout_of(&["--version"]);
    let expected = format!("cubeblob {} (", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&expected), "{version}");
    let inside = version
        .trim()
        .trim_start_matches(&expected)
        .trim_end_matches(')');
    let (commit, target) = inside.split_once(' ').expect("commit and target");
    assert!(
        commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{version}"
    );
    assert!(target.split('-').count() >= 3, "a target triple: {version}");
}
