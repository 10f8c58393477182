//! Shared by the `faults_*` and `security_*` tests: a `cubeblob serve` run with a
//! fault plan (`--faults`) that logs every request it sees, and reads of what the
//! server holds afterwards (its records, its stored bytes, its half-received files).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::{cubeblob, TestServer, ALICE, APP_ID, AUTH_KEY};

/// A server with alice and bob, a fault plan and a request log.
pub struct Faulty {
    pub server: TestServer,
    dir: TempDir,
}

impl Faulty {
    /// Starts a server whose plan holds `rules` (a JSON array), with extra `serve` options.
    pub fn start(rules: Value, extra: &[&str]) -> Faulty {
        let dir = TempDir::new().unwrap();
        let server = start_server(dir.path(), rules, extra);
        Faulty { server, dir }
    }

    /// Stops the server and starts another on the same data with new rules: a link
    /// that was broken and is fixed. The log starts afresh.
    pub fn restart(self, rules: Value) -> Faulty {
        let Faulty { server, dir } = self;
        server.stop();
        let _ = std::fs::remove_file(dir.path().join("requests.jsonl"));
        let server = start_server(dir.path(), rules, &[]);
        Faulty { server, dir }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Every request the server saw, in order of arrival.
    pub fn requests(&self) -> Vec<Logged> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        // The server may be writing a line right now: only whole lines count.
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The requests to one route (`create`, `s3_post`, ...).
    pub fn to(&self, route: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.route == route)
            .collect()
    }

    /// How many requests to `route` the plan acted on.
    pub fn faulted(&self, route: &str) -> usize {
        self.to(route).iter().filter(|r| r.fault.is_some()).count()
    }

    /// Waits until `route` has seen `n` requests.
    pub fn wait_for(&self, route: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.to(route).len() < n {
            assert!(
                Instant::now() < deadline,
                "`{route}` never saw {n} requests: {:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The bytes the server stores for a blob.
    pub fn stored(&self, uid: &str) -> Vec<u8> {
        std::fs::read(self.server.data.join("objects").join(uid)).unwrap()
    }

    /// Uploads the server holds half-received: there must be none once it answered.
    pub fn half_received(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.server.data.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

fn start_server(dir: &Path, rules: Value, extra: &[&str]) -> TestServer {
    let plan = dir.join("plan.json");
    let log = dir.join("requests.jsonl");
    std::fs::write(&plan, json!({"log": log, "rules": rules}).to_string()).unwrap();
    let mut args = vec!["--faults", plan.to_str().unwrap()];
    args.extend_from_slice(extra);
    TestServer::start_in(&dir.join("data"), &args)
}

/// One request, as the fault plan logged it.
#[derive(Debug, Clone, Deserialize)]
pub struct Logged {
    /// Milliseconds since the Unix epoch, on arrival.
    pub at_ms: i64,
    pub route: String,
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    /// What the plan did to it (`status 503`, `cut after 100 bytes`), if anything.
    pub fault: Option<String>,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The blob records of `config`'s user, as `list --all --json` shows them.
pub fn records(config: &Path, url: &str) -> Vec<Value> {
    let out = cubeblob(config, url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `CUBEBLOB_*` credentials that let a command make (and remake) its own session.
pub fn alice_credentials(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("CUBEBLOB_APP_ID", APP_ID.to_string())
        .env("CUBEBLOB_AUTH_KEY", AUTH_KEY)
        .env("CUBEBLOB_LOGIN", ALICE.0)
        .env("CUBEBLOB_PASSWORD", ALICE.1)
}

pub fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

pub fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}
