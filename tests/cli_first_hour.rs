//! What a new user trips on in the first hour (issue 16): variables set the way CI
//! systems set them, a session to re-create, `--local` hints and the small promises
//! of the README, each run as the built binary against a real `cubeblob serve`.

mod cli_support;
mod common;

use cli_support::{json_lines, lines};
use common::{cubeblob, logged_in, TestServer, ALICE, APP_ID, AUTH_KEY};
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

#[test]
fn logout_json_says_so_when_there_was_nothing_to_end() {
    let server = TestServer::start();
    let config = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "logout"])
        .assert()
        .success();
    let record: Vec<serde_json::Value> = json_lines(&out.get_output().stdout);
    assert_eq!(record.len(), 1, "one JSON line, even with nothing to do");
    assert_eq!(record[0]["was_logged_in"], false);
    assert_eq!(record[0]["session_destroyed"], false);
    assert_eq!(record[0]["token_forgotten"], false);
}

#[test]
fn rm_of_an_id_given_twice_deletes_and_reports_it_once() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = cli_support::Api::login(&server, ALICE);
    let id = api.blob("a.txt", b"a", false).id.to_string();
    let out = cubeblob(config.path(), &server.url)
        .args(["rm", &id, &id])
        .assert()
        .success();
    assert_eq!(lines(&out.get_output().stdout), [id]);
    assert!(out.get_output().stderr.is_empty());

    // An id and the uid of the same blob name it twice too.
    let blob = api.blob("b.txt", b"b", false);
    let id = blob.id.to_string();
    let out = cubeblob(config.path(), &server.url)
        .args(["rm", &id, &blob.uid])
        .assert()
        .success();
    assert_eq!(lines(&out.get_output().stdout), [id]);
    assert!(out.get_output().stderr.is_empty());
}

#[test]
fn id_0_is_told_that_ids_start_at_1() {
    let config = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .args(["info", "0"])
        .assert()
        .code(6);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("ids start at 1"), "{stderr}");
}

#[test]
fn names_with_a_tab_or_a_newline_are_refused_before_any_request() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "a").unwrap();
    for name in ["a\tb.txt", "a\nb.txt"] {
        let out = cubeblob(config.path(), &server.url)
            .args(["upload", "--name", name])
            .arg(&file)
            .assert()
            .code(6);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains("control character"), "{stderr}");
    }
    let api = cli_support::Api::login(&server, ALICE);
    let id = api.blob("a.txt", b"a", false).id.to_string();
    cubeblob(config.path(), &server.url)
        .args(["rename", &id, "a\tb"])
        .assert()
        .code(6);
    cubeblob(config.path(), &server.url)
        .args(["edit", &id, "--name", "a\nb"])
        .assert()
        .code(6);
    let out = cubeblob(config.path(), &server.url)
        .args(["list"])
        .assert()
        .success();
    let rows = lines(&out.get_output().stdout);
    assert_eq!(rows.len(), 1, "only the blob made by the API: {rows:?}");
    assert_eq!(rows[0].split('\t').nth(2), Some("a.txt"));
}

#[test]
fn listen_takes_a_bare_port_as_loopback() {
    // Port 0 keeps the test off fixed ports; the start line names the address.
    let data = tempfile::TempDir::new().unwrap();
    let mut child = std::process::Command::new(common::bin())
        .args(["serve", "--listen", "0", "--data"])
        .arg(data.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let url = common::start_line_field(&line, "url").unwrap_or_default();
    assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
}

#[test]
fn a_mistyped_profile_is_told_which_profiles_exist() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let out = cubeblob(config.path(), &server.url)
        .args(["--profile", "defualt", "whoami"])
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("no profile `defualt`") && stderr.contains("`default`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: choose one with `--profile NAME`"),
        "{stderr}"
    );
}

#[test]
fn login_with_no_options_renews_the_profile_session_after_expiry() {
    let server = TestServer::start_with(&["--token-ttl", "1"]);
    let config = logged_in(&server, ALICE);
    // Past the token's lifetime: the next call finds the session gone.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = cubeblob(config.path(), &server.url)
        .arg("list")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("run `cubeblob login`: with no options"),
        "the hint says what a plain login does: {stderr}"
    );

    // No --app-id, --auth-key nor --login: the profile has them; only the password is asked.
    cubeblob(config.path(), &server.url)
        .args(["login", "--password-stdin"])
        .write_stdin(format!("{}\n", ALICE.1))
        .assert()
        .success();
    cubeblob(config.path(), &server.url)
        .arg("list")
        .assert()
        .success();

    // A profile that never logged in still needs the options, and says which.
    let fresh = tempfile::TempDir::new().unwrap();
    let out = cubeblob(fresh.path(), &server.url)
        .args(["login", "--password-stdin"])
        .write_stdin(format!("{}\n", ALICE.1))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--app-id is needed to log in (there is no profile `default` yet)"),
        "{stderr}"
    );
}

/// The session of a profile other than the default ended: the hint names the profile
/// (a plain `cubeblob login` would log in to the default one), and that login renews it.
#[test]
fn an_ended_session_of_a_named_profile_names_it_in_the_hint() {
    let server = TestServer::start_with(&["--token-ttl", "1"]);
    let config = tempfile::TempDir::new().unwrap();
    cubeblob(config.path(), &server.url)
        .args([
            "--profile",
            "staging",
            "login",
            "--app-id",
            &APP_ID.to_string(),
        ])
        .args([
            "--auth-key",
            AUTH_KEY,
            "--login",
            ALICE.0,
            "--password-stdin",
        ])
        .write_stdin(format!("{}\n", ALICE.1))
        .assert()
        .success();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = cubeblob(config.path(), &server.url)
        .args(["--profile", "staging", "list"])
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("hint: run `cubeblob --profile staging login`: it makes a new session"),
        "{stderr}"
    );
    cubeblob(config.path(), &server.url)
        .args(["--profile", "staging", "login", "--password-stdin"])
        .write_stdin(format!("{}\n", ALICE.1))
        .assert()
        .success();
    cubeblob(config.path(), &server.url)
        .args(["--profile", "staging", "list"])
        .assert()
        .success();
}

#[test]
fn after_logout_a_plain_login_is_the_hint() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    cubeblob(config.path(), &server.url)
        .arg("logout")
        .assert()
        .success();
    let out = cubeblob(config.path(), &server.url)
        .arg("whoami")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("hint: run `cubeblob login`: it makes a new session for the profile"),
        "{stderr}"
    );
}

/// The `-v` request lines of a run: one per try.
fn tries(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.starts_with("> ")).count()
}

#[test]
fn a_name_that_does_not_resolve_is_tried_once_with_its_own_hint() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    // `.invalid` never resolves (RFC 6761): no network is asked anything.
    let url = "https://cubeblob-test.invalid";
    let out = cubeblob(config.path(), url)
        .args(["-v", "list"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(tries(&stderr), 1, "not retried: {stderr}");
    assert!(
        stderr.contains("cannot resolve the host name `cubeblob-test.invalid`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: check the host name"), "{stderr}");
    assert!(
        !stderr.contains("is running"),
        "not the no-server hint: {stderr}"
    );

    // A batch: one error line per file, the hint once, one summary.
    let dir = tempfile::TempDir::new().unwrap();
    let files: Vec<_> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("f{i}.txt"));
            std::fs::write(&path, "x").unwrap();
            path
        })
        .collect();
    let out = cubeblob(config.path(), url)
        .args(["--progress", "plain", "-v", "upload"])
        .args(&files)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(tries(&stderr), 3, "one try per file: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("cubeblob: error:"))
        .collect();
    assert_eq!(errors.len(), 4, "three files and the summary: {stderr}");
    assert_eq!(errors[3], "cubeblob: error: 3 of 3 failed");
    assert_eq!(stderr.matches("hint:").count(), 1, "{stderr}");
    assert!(!stderr.contains("dns error"), "no library chain: {stderr}");
}

#[test]
fn refused_and_tls_failures_each_say_what_happened() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    // https to the plain-http test server: the TLS handshake fails.
    let https = server.url.replace("http://", "https://");
    let out = cubeblob(config.path(), &https)
        .args(["-v", "list"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("the TLS handshake with"), "{stderr}");
    assert!(
        stderr.contains("hint: the address may not speak https"),
        "{stderr}"
    );
    assert_eq!(
        tries(&stderr),
        1,
        "a handshake fails the same way again: {stderr}"
    );

    let url = server.url.clone();
    server.stop();
    let out = cubeblob(config.path(), &url)
        .args(["-v", "list"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(
        stderr.contains("hint: check that the server at"),
        "{stderr}"
    );
    assert_eq!(
        tries(&stderr),
        2,
        "one retry for a server restarting: {stderr}"
    );
}

#[test]
fn not_logged_in_without_an_api_url_suggests_local() {
    let config = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), "unused")
        .env_remove("CUBEBLOB_API_URL")
        .arg("list")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("add `--local`"), "{stderr}");
    // An API URL given: the user means that server, not the local one.
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .arg("list")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!stderr.contains("--local"), "{stderr}");
}

#[test]
fn urls_printed_under_local_come_with_their_caveat() {
    let config = tempfile::TempDir::new().unwrap();
    let data = tempfile::TempDir::new().unwrap();
    let file = data.path().join("cat.txt");
    std::fs::write(&file, "meow").unwrap();
    let local = |args: &[&str]| {
        let mut cmd = cubeblob(config.path(), "unused");
        cmd.env_remove("CUBEBLOB_API_URL")
            .env("CUBEBLOB_DATA_DIR", data.path().join("server"))
            .arg("--local")
            .args(args);
        cmd.assert().success().get_output().clone()
    };
    let caveat = "stops when this command exits";
    let out = local(&["--json", "upload", "--public", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.matches(caveat).count(), 1, "{stderr}");
    let record: Vec<serde_json::Value> = json_lines(&out.stdout);
    let id = record[0]["id"].to_string();

    let out = local(&["info", "--url", &id]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains(caveat), "{stderr}");
    // No URL printed, no caveat.
    let out = local(&["rename", &id, "kitten.txt"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(caveat));
}

#[test]
fn output_naming_a_file_is_refused_for_several_blobs() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = cli_support::Api::login(&server, ALICE);
    let (a, b) = (
        api.blob("a.txt", b"a", false).id.to_string(),
        api.blob("b.txt", b"b", false).id.to_string(),
    );
    let dir = tempfile::TempDir::new().unwrap();
    let single = dir.path().join("single.txt");
    let out = cubeblob(config.path(), &server.url)
        .args(["download", &a, &b, "-o"])
        .arg(&single)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("names one file, but 2 blobs"), "{stderr}");
    assert!(!single.exists(), "no folder named single.txt");
    // Ending in `/` says folder: made, and both land in it.
    let folder = format!("{}/", dir.path().join("both").display());
    cubeblob(config.path(), &server.url)
        .args(["download", &a, &b, "-o", &folder])
        .assert()
        .success();
    assert!(dir.path().join("both/a.txt").is_file());
    assert!(dir.path().join("both/b.txt").is_file());
}

#[test]
fn a_plain_download_keeps_an_interrupted_part_and_says_how_to_resume() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = cli_support::Api::login(&server, ALICE);
    let id = api.blob("big.bin", b"0123456789", false).id.to_string();
    let dir = tempfile::TempDir::new().unwrap();
    let target = dir.path().join("big.bin");
    let part = dir.path().join("big.bin.part");
    std::fs::write(&part, b"01234").unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(["download", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("is kept"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hint: `cubeblob download -c {id} -o {}`",
            target.display()
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&part).unwrap(),
        b"01234",
        "the .part is untouched"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"0123456789");

    std::fs::remove_file(&target).unwrap();
    cubeblob(config.path(), &server.url)
        .args(["download", &id, "--force", "-o"])
        .arg(&target)
        .assert()
        .success();
    assert!(!part.exists(), "--force drops it");
}

#[test]
fn download_json_carries_the_public_url_as_info_and_upload_do() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = cli_support::Api::login(&server, ALICE);
    let shared = api.blob("shared.txt", b"for all", true).id.to_string();
    let own = api.blob("own.txt", b"for me", false).id.to_string();
    let dir = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "info", &shared])
        .assert()
        .success();
    let info: Vec<serde_json::Value> = json_lines(&out.get_output().stdout);
    let expected = info[0]["public_url"].as_str().unwrap().to_string();

    let folder = format!("{}/", dir.path().display());
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "download", &shared, &own, "-o", &folder])
        .assert()
        .success();
    let saved: Vec<serde_json::Value> = json_lines(&out.get_output().stdout);
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0]["public_url"], expected, "{saved:?}");
    assert!(saved[0]["path"].as_str().unwrap().ends_with("shared.txt"));
    assert!(
        saved[1].get("public_url").is_none(),
        "a private blob has none, as in `info`: {saved:?}"
    );
}

#[test]
fn a_forced_download_that_fails_keeps_the_earlier_part_and_target() {
    let dir = tempfile::TempDir::new().unwrap();
    let plan = dir.path().join("plan.json");
    // The first storage GET is refused: the forced download fails partway.
    std::fs::write(
        &plan,
        r#"{"rules": [{"route": "s3_get", "first": 1, "status": 403}]}"#,
    )
    .unwrap();
    let server = TestServer::start_with(&["--faults", plan.to_str().unwrap()]);
    let config = logged_in(&server, ALICE);
    let api = cli_support::Api::login(&server, ALICE);
    let id = api.blob("big.bin", b"0123456789", false).id.to_string();
    let target = dir.path().join("big.bin");
    let part = dir.path().join("big.bin.part");
    std::fs::write(&target, b"the old file").unwrap();
    std::fs::write(&part, b"01234").unwrap();
    let download = || {
        let mut cmd = cubeblob(config.path(), &server.url);
        cmd.args(["download", &id, "--force", "-o"]).arg(&target);
        cmd
    };
    download().assert().failure();
    assert_eq!(
        std::fs::read(&part).unwrap(),
        b"01234",
        "the .part outlives a failed --force download"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"the old file");

    // Once one succeeds, the target is the blob and the .part is gone.
    download().assert().success();
    assert_eq!(std::fs::read(&target).unwrap(), b"0123456789");
    assert!(!part.exists());
}

#[test]
fn a_refused_token_from_the_environment_is_blamed_not_the_login() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let out = cubeblob(config.path(), &server.url)
        .env("CUBEBLOB_TOKEN", "0123456789abcdef0123456789abcdef01234567")
        .arg("list")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("hint: the token in CUBEBLOB_TOKEN was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unset it to use the profile's session"),
        "{stderr}"
    );
    assert!(!stderr.contains("cubeblob login"), "{stderr}");
    // A batch stops at the first refusal, and says the same.
    let dir = tempfile::TempDir::new().unwrap();
    let files: Vec<_> = (0..2)
        .map(|i| {
            let path = dir.path().join(format!("f{i}.txt"));
            std::fs::write(&path, "x").unwrap();
            path
        })
        .collect();
    let out = cubeblob(config.path(), &server.url)
        .env("CUBEBLOB_TOKEN", "0123456789abcdef0123456789abcdef01234567")
        .args(["upload", "-j", "1"])
        .args(&files)
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("CUBEBLOB_TOKEN was refused"), "{stderr}");
    assert!(!stderr.contains("cubeblob login"), "{stderr}");
    // The stored session is fine: without the variable the same command works.
    cubeblob(config.path(), &server.url)
        .arg("list")
        .assert()
        .success();
}
