//! Shared by the tests that run the vendor's JS SDK (tests/js): whether Node, the npm
//! packages and Chromium are there, and a run of one of its scripts against a server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::ALICE;

pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// What is missing to run the JS tests, Chromium included when `chromium`.
fn missing(chromium: bool) -> Option<String> {
    if chromium {
        let path = std::env::var("CUBEBLOB_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
        if !Path::new(&path).exists() {
            return Some(format!(
                "no Chromium at `{path}` (apt-get install chromium)"
            ));
        }
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("no `node` on PATH".into());
    }
    for package in ["connectycube", "playwright-core"] {
        if !js_dir().join("node_modules").join(package).is_dir() {
            return Some(format!(
                "no `{package}` in tests/js/node_modules (run `npm ci` there)"
            ));
        }
    }
    None
}

/// True when the test can run; false (with a message) when it is to be skipped.
/// `CUBEBLOB_REQUIRE_BROWSER=1` (set by CI) turns a skip into a failure.
pub fn ready(chromium: bool) -> bool {
    let Some(what) = missing(chromium) else {
        return true;
    };
    let required = std::env::var("CUBEBLOB_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(!required, "CUBEBLOB_REQUIRE_BROWSER=1 but {what}");
    eprintln!("skipped: {what}; set CUBEBLOB_REQUIRE_BROWSER=1 to make this a failure");
    false
}

/// Runs `node SCRIPT` in tests/js against `api` as alice; its one JSON line, and its
/// stderr for messages.
pub async fn run(script: &'static str, api: &str) -> (Value, String) {
    let api = api.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .current_dir(js_dir())
            .env("CB_API", &api)
            .env("CB_LOGIN", ALICE.0)
            .env("CB_PASSWORD", ALICE.1)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{script} failed:\n{stderr}");
    let result = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|err| panic!("{err}: {stdout}\n{stderr}"));
    (result, stderr)
}

/// Asserts that `steps` holds exactly `names`, in order, each passed.
pub fn assert_all_passed(steps: &Value, names: &[&str], stderr: &str) {
    let steps = steps.as_array().unwrap();
    for (i, name) in names.iter().enumerate() {
        let step = steps
            .get(i)
            .unwrap_or_else(|| panic!("`{name}` never ran: {steps:#?}\n{stderr}"));
        assert_eq!(step["name"], *name);
        assert_eq!(step["ok"], true, "`{name}`: {}\n{stderr}", step["detail"]);
    }
    assert_eq!(steps.len(), names.len(), "{steps:#?}");
}
