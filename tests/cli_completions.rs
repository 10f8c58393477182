//! `cubeblob completions SHELL` prints the committed script of each shell (the unit
//! test in `commands::completions` keeps those files current with the definition).

mod common;

#[test]
fn each_shell_gets_its_committed_script() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let config = tempfile::TempDir::new().unwrap();
    for (shell, file) in [
        ("bash", "cubeblob.bash"),
        ("zsh", "_cubeblob"),
        ("fish", "cubeblob.fish"),
        ("powershell", "_cubeblob.ps1"),
        ("elvish", "cubeblob.elv"),
    ] {
        let committed = std::fs::read(dir.join(file)).unwrap();
        common::cubeblob(config.path(), "http://127.0.0.1:9")
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(committed);
    }
    common::cubeblob(config.path(), "http://127.0.0.1:9")
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}
