//! The README's "Deploy a folder from CI" command, run as written with the
//! environment credentials a CI job has, against a real local server: twice, as a
//! re-run pipeline would, the second time sending nothing. The GitHub Actions and
//! GitLab CI snippets must run the same command.

mod common;

use std::process::Command;

use common::{bin, TestServer, ALICE, APP_ID, AUTH_KEY};

fn section<'a>(readme: &'a str, start: &str, end: &str) -> &'a str {
    let from = readme.find(start).unwrap_or_else(|| panic!("no `{start}`"));
    let to = from
        + readme[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no `{end}`"));
    &readme[from..to]
}

#[test]
fn the_readme_ci_deploy_runs_as_written_and_a_rerun_sends_nothing() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let script: String = section(
        &readme,
        "<!-- ci-deploy:start -->",
        "<!-- ci-deploy:end -->",
    )
    .lines()
    .skip(1)
    .filter(|line| !line.starts_with("```"))
    .collect::<Vec<_>>()
    .join("\n");
    assert!(script.contains("cubeblob sync"), "{script}");
    let pipelines = section(
        &readme,
        "### Deploy a folder from CI",
        "The app build reads",
    );
    for command in script.lines() {
        assert_eq!(
            pipelines.matches(command).count(),
            3,
            "the snippet, GitHub Actions and GitLab CI must run `{command}`"
        );
    }

    let server = TestServer::start();
    let work = tempfile::TempDir::new().unwrap();
    let config = tempfile::TempDir::new().unwrap();
    for (rel, content) in [
        ("index.html", "<h1>hi</h1>"),
        ("js/app.js", "1"),
        ("empty", ""),
    ] {
        let path = work.path().join("dist").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = || {
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", &script])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("CUBEBLOB_CONFIG_DIR", config.path())
            .env("CUBEBLOB_API_URL", &server.url)
            .env("CUBEBLOB_APP_ID", APP_ID.to_string())
            .env("CUBEBLOB_AUTH_KEY", AUTH_KEY)
            .env("CUBEBLOB_LOGIN", ALICE.0)
            .env("CUBEBLOB_PASSWORD", ALICE.1)
            .env_remove("CUBEBLOB_TOKEN");
        let out = cmd.output().expect("run bash");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{}\n{stderr}", out.status);
        stderr
    };
    let first = run();
    assert!(
        first.contains("3 uploaded, 0 replaced, 0 deleted, 0 unchanged"),
        "{first}"
    );
    let second = run();
    assert!(
        second.contains("0 uploaded, 0 replaced, 0 deleted, 3 unchanged"),
        "{second}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("blobs.json")).unwrap()).unwrap();
    let blobs = manifest["blobs"].as_object().unwrap();
    let names: Vec<&String> = blobs.keys().collect();
    assert_eq!(names, ["site/empty", "site/index.html", "site/js/app.js"]);
    // Nothing was stored: the environment's credentials made the sessions.
    assert!(!config.path().join("config.toml").exists());
}
