//! What a new user trips on in the first hour (issue 16): variables set the way CI
//! systems set them, a session to re-create, `--local` hints and the small promises
//! of the README, each run as the built binary against a real `cubeblob serve`.

mod cli_support;
mod common;

use cli_support::{json_lines, lines};
use common::{cubeblob, logged_in, TestServer, ALICE};
use cubeblob::output::SessionRecord;

#[test]
fn boolean_variables_take_1_0_yes_and_no() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    for yes in ["1", "yes", "true", "on"] {
        let out = cubeblob(config.path(), &server.url)
            .env("CUBEBLOB_JSON", yes)
            .env("CUBEBLOB_QUIET", yes)
            .env("CUBEBLOB_ALLOW_INSECURE_HTTP", yes)
            .arg("whoami")
            .assert()
            .success();
        let record: Vec<SessionRecord> = json_lines(&out.get_output().stdout);
        assert_eq!(
            record[0].login.as_deref(),
            Some(ALICE.0),
            "CUBEBLOB_JSON={yes}"
        );
    }
    for no in ["0", "no", "false", "off"] {
        let out = cubeblob(config.path(), &server.url)
            .env("CUBEBLOB_JSON", no)
            .env("CUBEBLOB_LOCAL", no)
            .env("CUBEBLOB_VERBOSE", no)
            .arg("whoami")
            .assert()
            .success();
        let out = out.get_output();
        assert!(
            lines(&out.stdout)[0].contains(&format!("\t{}\t", ALICE.0)),
            "CUBEBLOB_JSON={no} prints TSV: {:?}",
            lines(&out.stdout)
        );
        assert!(out.stderr.is_empty(), "CUBEBLOB_VERBOSE={no} logs nothing");
    }
    // `1` turns the local server on, as CI systems set it.
    let data = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .env_remove("CUBEBLOB_API_URL")
        .env("CUBEBLOB_DATA_DIR", data.path())
        .env("CUBEBLOB_LOCAL", "1")
        .env("CUBEBLOB_VERBOSE", "1")
        .args(["--json", "whoami"])
        .assert()
        .success();
    let record: Vec<SessionRecord> = json_lines(&out.get_output().stdout);
    assert_eq!(record[0].token_source, "local");
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("* token:"));
}

#[test]
fn an_empty_boolean_variable_is_off_and_a_wrong_one_is_refused() {
    let config = tempfile::TempDir::new().unwrap();
    cubeblob(config.path(), "http://127.0.0.1:9")
        .env("CUBEBLOB_JSON", "")
        .env("CUBEBLOB_LOCAL", "")
        .arg("whoami")
        .assert()
        .code(4);
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .env("CUBEBLOB_JSON", "maybe")
        .arg("whoami")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("'maybe'") && stderr.contains("--json"),
        "{stderr}"
    );
}
