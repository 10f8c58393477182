//! `login`, `logout`, `whoami` and the token store, run as the built binary against
//! a real `cubeblob serve`, each test with its own config folder.

mod cli_support;
mod common;

use cli_support::{json_lines, lines, stored_token, Api};
use common::{cubeblob, logged_in, TestServer, ALICE, APP_ID, AUTH_KEY, AUTH_SECRET, BOB};
use cubeblob::output::SessionRecord;
use tempfile::TempDir;

fn login_args(user: &str) -> Vec<String> {
    [
        "login",
        "--app-id",
        &APP_ID.to_string(),
        "--auth-key",
        AUTH_KEY,
        "--login",
        user,
        "--password-stdin",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn login_with_password_stdin_stores_a_private_token() {
    let server = TestServer::start();
    let home = TempDir::new().unwrap();
    // A folder that does not exist yet: login creates it, private.
    let config = home.path().join("conf").join("cubeblob");
    let out = cubeblob(&config, &server.url)
        .args(login_args(ALICE.0))
        .write_stdin(format!("{}\n", ALICE.1))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(out.stdout.is_empty(), "login prints nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Logged in") && stderr.contains("alice"),
        "{stderr}"
    );

    let token = stored_token(&config).expect("a token is stored");
    assert!(!stderr.contains(&token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&config), 0o700);
        assert_eq!(mode(&config.join("config.toml")), 0o600);
    }
    let text = std::fs::read_to_string(config.join("config.toml")).unwrap();
    assert!(
        text.contains("[profiles.default]") && text.contains("login = \"alice\""),
        "{text}"
    );
    assert!(text.contains("token_expires = "), "{text}");
}

#[test]
fn login_json_prints_the_session_record() {
    let server = TestServer::start();
    let config = TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(login_args(ALICE.0))
        .arg("--json")
        .write_stdin(ALICE.1)
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<SessionRecord> = json_lines(&out.stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].login.as_deref(), Some("alice"));
    assert_eq!(records[0].application_id, Some(APP_ID));
    assert_eq!(records[0].profile.as_deref(), Some("default"));
}

#[test]
fn a_wrong_password_exits_4_and_stores_nothing() {
    let server = TestServer::start();
    let config = TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(login_args(ALICE.0))
        .write_stdin("not-the-password\n")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("cubeblob: error: "), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("not-the-password"));
    assert!(!config.path().join("config.toml").exists());
}

#[test]
fn an_empty_password_is_refused_before_any_request() {
    let config = TempDir::new().unwrap();
    // Nothing listens on port 9: a request would fail with exit 3.
    cubeblob(config.path(), "http://127.0.0.1:9")
        .args(login_args(ALICE.0))
        .write_stdin("\n")
        .assert()
        .code(6);
}

#[test]
fn secrets_on_the_command_line_are_refused_without_being_repeated() {
    let config = TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .args([
            "login",
            "--app-id",
            "1",
            "--auth-key",
            "k",
            "--login",
            "alice",
        ])
        .args(["--password", "hunter2"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--password-stdin") && !stderr.contains("hunter2"),
        "{stderr}"
    );

    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .args(["--token", "s3cr3t", "list"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CUBEBLOB_TOKEN") && !stderr.contains("s3cr3t"),
        "{stderr}"
    );
}

#[test]
fn token_stdin_checks_the_token_then_stores_it() {
    let server = TestServer::start();
    let token = Api::login(&server, ALICE).token();

    let config = TempDir::new().unwrap();
    cubeblob(config.path(), &server.url)
        .args(["login", "--token-stdin"])
        .write_stdin(format!("{token}\n"))
        .assert()
        .success();
    assert_eq!(stored_token(config.path()).as_deref(), Some(token.as_str()));

    let other = TempDir::new().unwrap();
    cubeblob(other.path(), &server.url)
        .args(["login", "--token-stdin"])
        .write_stdin("0123456789abcdef\n")
        .assert()
        .code(4);
    assert!(stored_token(other.path()).is_none());
}

#[test]
fn whoami_prints_the_user_in_every_form() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);

    let out = cubeblob(config.path(), &server.url)
        .arg("whoami")
        .assert()
        .success()
        .get_output()
        .clone();
    let fields: Vec<String> = lines(&out.stdout)[0]
        .split('\t')
        .map(String::from)
        .collect();
    assert_eq!(fields.len(), 7, "{fields:?}");
    assert_eq!(fields[1], "alice");
    assert_eq!(fields[2], APP_ID.to_string());
    assert_eq!(fields[3].trim_end_matches('/'), server.url);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&fields[4]).is_ok(),
        "{}",
        fields[4]
    );
    assert_eq!(&fields[5..], ["default", "profile"]);

    let out = cubeblob(config.path(), &server.url)
        .args(["whoami", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let record: Vec<SessionRecord> = json_lines(&out.stdout);
    assert_eq!(record[0].login.as_deref(), Some("alice"));
    assert!(record[0].user_id.is_some());
    assert_eq!(record[0].token_source, "profile");
}

#[test]
fn whoami_without_a_login_exits_4_before_any_request() {
    let config = TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .arg("whoami")
        .assert()
        .code(4)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not logged in to `http://127.0.0.1:9/` (profile `default`)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: log in with `cubeblob login --app-id ID --auth-key KEY"),
        "{stderr}"
    );
}

#[test]
fn the_token_never_shows_in_any_output() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let token = stored_token(config.path()).unwrap();
    let id = Api::login(&server, ALICE)
        .blob("a.txt", b"hello", false)
        .id
        .to_string();
    for args in [
        vec!["-v", "whoami"],
        vec!["-v", "--json", "whoami"],
        vec!["-v", "list"],
        vec!["-v", "info", "--url", &id],
        vec!["-v", "logout"],
    ] {
        let out = cubeblob(config.path(), &server.url)
            .args(&args)
            .output()
            .unwrap();
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains(&token), "{args:?} shows the token: {text}");
        }
        if args.contains(&"whoami") {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("> GET"),
                "-v logs requests"
            );
        }
    }
}

#[test]
fn logout_ends_the_session_and_forgets_the_token() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let token = stored_token(config.path()).unwrap();
    let out = cubeblob(config.path(), &server.url)
        .arg("logout")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("token forgotten"));
    assert!(stored_token(config.path()).is_none());
    // The server no longer takes the token.
    let gone = TempDir::new().unwrap();
    cubeblob(gone.path(), &server.url)
        .env("CUBEBLOB_TOKEN", &token)
        .arg("whoami")
        .assert()
        .code(4);
    // Logged out already: nothing to do, still success.
    cubeblob(config.path(), &server.url)
        .arg("logout")
        .assert()
        .success();
}

#[test]
fn logout_ends_both_the_stored_and_the_environment_session() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let stored = stored_token(config.path()).unwrap();
    let other = logged_in(&server, BOB);
    let from_env = stored_token(other.path()).unwrap();
    assert_ne!(stored, from_env);
    cubeblob(config.path(), &server.url)
        .env("CUBEBLOB_TOKEN", &from_env)
        .arg("logout")
        .assert()
        .success();
    assert!(stored_token(config.path()).is_none());
    // Neither session outlives the logout.
    let probe = TempDir::new().unwrap();
    for token in [&stored, &from_env] {
        cubeblob(probe.path(), &server.url)
            .env("CUBEBLOB_TOKEN", token)
            .arg("whoami")
            .assert()
            .code(4);
    }
}

#[test]
fn logout_json_says_what_happened() {
    #[derive(serde::Deserialize)]
    struct Logout {
        profile: String,
        api_url: String,
        session_destroyed: bool,
        token_forgotten: bool,
    }
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "logout"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<Logout> = json_lines(&out.stdout);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.profile, "default");
    assert!(r.api_url.starts_with(&server.url));
    assert!(r.session_destroyed && r.token_forgotten);
}

#[test]
fn logout_forgets_the_token_even_when_the_server_is_gone() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let url = server.url.clone();
    server.stop();
    let out = cubeblob(config.path(), &url)
        .args(["--retries", "0", "logout"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not destroy the session"), "{stderr}");
    assert!(stored_token(config.path()).is_none());
}

#[test]
fn an_expired_token_exits_4_unless_the_environment_can_renew_it() {
    let server = TestServer::start_with(&["--token-ttl", "2"]);
    let config = logged_in(&server, ALICE);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let out = cubeblob(config.path(), &server.url)
        .arg("list")
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cubeblob login"));

    cubeblob(config.path(), &server.url)
        .env("CUBEBLOB_APP_ID", APP_ID.to_string())
        .env("CUBEBLOB_AUTH_KEY", AUTH_KEY)
        .env("CUBEBLOB_LOGIN", ALICE.0)
        .env("CUBEBLOB_PASSWORD", ALICE.1)
        .arg("list")
        .assert()
        .success();
}

#[test]
fn environment_credentials_need_no_login_and_store_nothing() {
    let server = TestServer::start();
    let config = TempDir::new().unwrap();
    let out = cubeblob(config.path(), &server.url)
        .env("CUBEBLOB_APP_ID", APP_ID.to_string())
        .env("CUBEBLOB_AUTH_KEY", AUTH_KEY)
        .env("CUBEBLOB_EMAIL", "")
        .env("CUBEBLOB_LOGIN", ALICE.0)
        .env("CUBEBLOB_PASSWORD", ALICE.1)
        .env("CUBEBLOB_AUTH_SECRET", AUTH_SECRET)
        .args(["--json", "whoami"])
        .assert()
        .success()
        .get_output()
        .clone();
    let record: Vec<SessionRecord> = json_lines(&out.stdout);
    assert_eq!(record[0].login.as_deref(), Some("alice"));
    assert_eq!(record[0].token_source, "credentials");
    assert!(!config.path().join("config.toml").exists());
}

#[test]
fn login_signs_with_the_auth_secret_from_the_environment() {
    let server = TestServer::start();
    let config = TempDir::new().unwrap();
    cubeblob(config.path(), &server.url)
        .args(login_args(ALICE.0))
        .arg("--auth-secret")
        .env("CUBEBLOB_AUTH_SECRET", AUTH_SECRET)
        .write_stdin(ALICE.1)
        .assert()
        .success();
    assert!(stored_token(config.path()).is_some());
    // Without the variable, --auth-secret is an error, before any request.
    cubeblob(config.path(), "http://127.0.0.1:9")
        .args(login_args(ALICE.0))
        .arg("--auth-secret")
        .write_stdin(ALICE.1)
        .assert()
        .code(6);
}

#[test]
fn a_config_file_that_others_may_read_is_refused() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = config.path().join("config.toml");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = cubeblob(config.path(), &server.url)
            .arg("whoami")
            .assert()
            .code(6)
            .get_output()
            .clone();
        assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    }
}

#[test]
fn local_mode_works_with_an_empty_config_folder() {
    let config = TempDir::new().unwrap();
    let data = TempDir::new().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = cubeblob(config.path(), "http://127.0.0.1:9");
        cmd.env_remove("CUBEBLOB_API_URL")
            .env("CUBEBLOB_DATA_DIR", data.path());
        cmd.args(args).assert().success().get_output().clone()
    };
    let out = run(&["--local", "--json", "whoami"]);
    let record: Vec<SessionRecord> = json_lines(&out.stdout);
    assert_eq!(record[0].token_source, "local");
    assert!(record[0].api_url.starts_with("http://127.0.0.1:"));
    let out = run(&["--local", "list"]);
    assert!(out.stdout.is_empty(), "a fresh local server has no blobs");
    assert!(!config.path().join("config.toml").exists());
}

#[test]
fn serve_takes_users_from_a_file_kept_out_of_the_process_list() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("users");
    std::fs::write(&file, "# staging users\ncarol:carol's password\n").unwrap();
    let server = TestServer::start_with(&["--users-file", file.to_str().unwrap()]);
    let config = logged_in(&server, ("carol", "carol's password"));
    let out = cubeblob(config.path(), &server.url)
        .arg("whoami")
        .assert()
        .success();
    assert_eq!(
        lines(&out.get_output().stdout)[0].split('\t').nth(1),
        Some("carol")
    );
}
