//! `copy --to-profile NAME`: blobs of one user of the local server copied to another's
//! (two profiles in one config folder), by id, uid and filter, with bytes, names,
//! types and flags kept; `--skip-existing` reruns that copy nothing; dry runs that
//! change nothing; target profiles that cannot take the copies; storage failures and
//! Ctrl-C in the middle of a copy, which leave no record on the target.

mod cli_support;
mod common;
mod faults_support;

use std::path::Path;
use std::process::{Command, Stdio};

use cli_support::{json_lines, lines, Api};
use common::{
    bin, cubeblob, interrupted, logged_in, noise, TestServer, ALICE, APP_ID, AUTH_KEY, BOB,
};
use cubeblob::manifest::CopyManifest;
use cubeblob::output::copy::CopyLine;
use faults_support::{alice_credentials, stderr_of, Faulty};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A config folder with alice as the default profile and bob as profile `bob`.
fn two_profiles(url: &str, server: &TestServer) -> TempDir {
    let config = logged_in(server, ALICE);
    cubeblob(config.path(), url)
        .args(["--profile", "bob", "login", "--app-id", &APP_ID.to_string()])
        .args(["--auth-key", AUTH_KEY, "--login", BOB.0, "--password-stdin"])
        .write_stdin(format!("{}\n", BOB.1))
        .assert()
        .success();
    config
}

/// Uploads `content` as alice with the CLI (type and flag as given); its record.
fn upload(config: &Path, url: &str, name: &str, content: &[u8], kind: &str, public: bool) -> Value {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, content).unwrap();
    let mut cmd = cubeblob(config, url);
    cmd.args(["--json", "upload", "--name", name, "--content-type", kind]);
    if public {
        cmd.arg("--public");
    }
    let out = cmd.arg(&file).assert().success();
    json_lines::<Value>(&out.get_output().stdout).remove(0)
}

/// A profile's blob records, as `list --all --json` shows them.
fn records(config: &Path, url: &str, profile: &str) -> Vec<Value> {
    let out = cubeblob(config, url)
        .args(["--profile", profile, "--json", "list", "--all"])
        .assert()
        .success();
    json_lines(&out.get_output().stdout)
}

/// A blob's bytes, downloaded through a profile.
fn content(config: &Path, url: &str, profile: &str, id: u64) -> Vec<u8> {
    let out = cubeblob(config, url)
        .args(["--profile", profile, "download", &id.to_string(), "-o", "-"])
        .args(["--force"])
        .assert()
        .success();
    out.get_output().stdout.clone()
}

fn field<'a>(record: &'a Value, key: &str) -> &'a Value {
    &record[key]
}

#[test]
fn copies_by_id_uid_and_filter_keep_bytes_names_types_and_flags() {
    let server = TestServer::start();
    let url = server.url.clone();
    let config = two_profiles(&url, &server);
    let c = config.path();
    let made = [
        ("docs/a.txt", noise(10, 1), "text/plain", true),
        ("img/b.png", noise(700_000, 2), "image/png", false),
        ("img/c.png", noise(3, 3), "image/png", true),
        ("empty.bin", Vec::new(), "application/octet-stream", false),
    ];
    let sources: Vec<Value> = made
        .iter()
        .map(|(name, data, kind, public)| upload(c, &url, name, data, kind, *public))
        .collect();
    let id = |i: usize| sources[i]["id"].as_u64().unwrap();

    // By id and by uid (the same blob named twice is copied once): one TSV line each,
    // old_id, new_id, old_uid, new_uid, size, name.
    let uid = sources[1]["uid"].as_str().unwrap();
    let out = cubeblob(c, &url)
        .args(["copy", &id(0).to_string(), uid, &id(0).to_string()])
        .args(["--to-profile", "bob"])
        .assert()
        .success();
    let mut tsv: Vec<Vec<String>> = lines(&out.get_output().stdout)
        .iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    tsv.sort();
    assert_eq!(tsv.len(), 2, "{tsv:?}");
    // By filter: the PNGs (b again) and nothing else.
    cubeblob(c, &url)
        .args(["copy", "--name", "img/*.png", "--smaller-than", "1K"])
        .args(["--to-profile", "bob"])
        .assert()
        .success();
    // And everything, empty blob included.
    cubeblob(c, &url)
        .args(["copy", "--name", "*.bin", "--to-profile", "bob"])
        .assert()
        .success();

    let copies = records(c, &url, "bob");
    assert_eq!(copies.len(), 4, "{copies:?}");
    for (i, (name, data, kind, public)) in made.iter().enumerate() {
        let copy = copies.iter().find(|r| r["name"] == *name).unwrap();
        assert_eq!(field(copy, "content_type"), kind, "{name}");
        assert_eq!(field(copy, "public"), public, "{name}");
        assert_eq!(field(copy, "size"), &json!(data.len()), "{name}");
        assert_eq!(field(copy, "status"), "complete", "{name}");
        assert_ne!(field(copy, "uid"), field(&sources[i], "uid"), "a new uid");
        let new = copy["id"].as_u64().unwrap();
        assert_eq!(&content(c, &url, "bob", new), data, "{name}: bytes exact");
        if i < 2 {
            let line = tsv.iter().find(|l| l[5] == *name).unwrap();
            let expected = [
                id(i).to_string(),
                new.to_string(),
                sources[i]["uid"].as_str().unwrap().to_string(),
                copy["uid"].as_str().unwrap().to_string(),
                data.len().to_string(),
                name.to_string(),
            ];
            assert_eq!(line, &expected);
        }
    }
    // The source is untouched.
    assert_eq!(records(c, &url, "default").len(), 4);
}

#[test]
fn skip_existing_reruns_copy_nothing_and_json_and_the_manifest_say_where_each_went() {
    let server = TestServer::start();
    let url = server.url.clone();
    let config = two_profiles(&url, &server);
    let c = config.path();
    let a = upload(c, &url, "a.txt", b"alpha", "text/plain", false);
    let b = upload(c, &url, "b.txt", &noise(5000, 7), "text/plain", true);
    let api = Api::login(&server, ALICE);
    let half = api.incomplete_blob("half.bin");
    // Bob already has b's content under another name: the same MD5 is enough.
    let bob = Api::login(&server, BOB);
    let moved = bob.blob("moved.txt", &noise(5000, 7), false);
    let work = TempDir::new().unwrap();
    let manifest = work.path().join("copied.json");

    let out = cubeblob(c, &url)
        .args(["--json", "copy", "--to-profile", "bob", "--skip-existing"])
        .arg("--manifest")
        .arg(&manifest)
        .assert()
        .success();
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("1 copied to profile `bob`, 1 already there, 1 never completed"),
        "{stderr}"
    );
    let mut got: Vec<CopyLine> = json_lines(&out.get_output().stdout);
    got.sort_by_key(|l| l.old_id);
    let statuses: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|l| (l.status.as_str(), l.reason.as_deref()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("copied", Some("not on the target")),
            ("skipped", Some("same content (MD5) on the target")),
            ("skipped", Some("never completed")),
        ]
    );
    let copied = &got[0];
    assert_eq!(copied.old_id, a["id"].as_u64().unwrap());
    assert_eq!(copied.old_uid, a["uid"].as_str().unwrap());
    assert_eq!(
        copied.md5.as_deref(),
        Some("2c1743a391305fbf367df8e4f069f9f9")
    );
    assert_eq!((copied.size, copied.public), (Some(5), false));
    assert_eq!(
        (got[1].new_id, got[1].old_id),
        (Some(moved.id), b["id"].as_u64().unwrap())
    );
    assert_eq!(
        (got[2].old_id, got[2].new_id, got[2].size),
        (half.id, None, None)
    );
    // Every key of the contract is there, null or not.
    let raw: Vec<Value> = json_lines(&out.get_output().stdout);
    for key in [
        "status",
        "name",
        "size",
        "content_type",
        "public",
        "old_id",
        "old_uid",
        "new_id",
        "new_uid",
        "md5",
        "reason",
        "error",
    ] {
        assert!(raw.iter().all(|l| l.get(key).is_some()), "{key}");
    }

    let written: CopyManifest = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert!(written.complete);
    assert_eq!(written.target.profile.as_deref(), Some("bob"));
    assert_eq!(
        written.blobs.len(),
        2,
        "the copy and the blob already there"
    );
    assert_eq!(written.blobs[&copied.old_id].new_id, copied.new_id);

    // The rerun copies nothing: the copy is there by name and size now.
    let before = records(c, &url, "bob");
    let out = cubeblob(c, &url)
        .args(["copy", "--to-profile", "bob", "--skip-existing"])
        .assert()
        .success();
    assert!(out.get_output().stdout.is_empty());
    assert!(stderr_of(&out).contains("0 copied to profile `bob`, 2 already there"));
    assert_eq!(records(c, &url, "bob"), before);
}

#[test]
fn a_dry_run_shows_the_plan_and_changes_nothing() {
    let server = TestServer::start();
    let url = server.url.clone();
    let config = two_profiles(&url, &server);
    let c = config.path();
    let a = upload(c, &url, "a.txt", b"alpha", "text/plain", false);
    let b = upload(c, &url, "b.txt", b"beta", "text/plain", false);
    cubeblob(c, &url)
        .args(["copy", &a["id"].to_string(), "--to-profile", "bob"])
        .assert()
        .success();
    let before = records(c, &url, "bob");

    let out = cubeblob(c, &url)
        .args([
            "copy",
            "--to-profile",
            "bob",
            "--skip-existing",
            "--dry-run",
        ])
        .assert()
        .success();
    let plan = lines(&out.get_output().stdout);
    let there = before[0]["id"].to_string();
    assert_eq!(
        plan,
        [
            format!(
                "skip\t{}\t{}\t5\t{there}\tsame name and size on the target\ta.txt",
                a["id"],
                a["uid"].as_str().unwrap()
            ),
            format!(
                "copy\t{}\t{}\t4\t\tnot on the target\tb.txt",
                b["id"],
                b["uid"].as_str().unwrap()
            ),
        ]
    );
    assert!(stderr_of(&out).contains("dry run: would copy 1 (4 B) to profile `bob`"));
    let out = cubeblob(c, &url)
        .args(["--json", "copy", "--to-profile", "bob", "--dry-run"])
        .assert()
        .success();
    let planned: Vec<CopyLine> = json_lines(&out.get_output().stdout);
    assert!(planned
        .iter()
        .all(|l| l.status == "planned" && l.new_id.is_none()));
    assert_eq!(planned.len(), 2);
    assert_eq!(records(c, &url, "bob"), before, "nothing copied");
}

#[test]
fn a_target_profile_that_cannot_take_the_copies_is_refused_and_nothing_changes() {
    let server = TestServer::start();
    let url = server.url.clone();
    let config = two_profiles(&url, &server);
    let c = config.path();
    upload(c, &url, "a.txt", b"alpha", "text/plain", false);
    let bob = Api::login(&server, BOB);

    // No such profile: the ones there are named, and how to log in. The environment's
    // credentials (alice's) never stand in for the target.
    let out = alice_credentials(&mut cubeblob(c, &url))
        .args(["copy", "--to-profile", "prod"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("no profile `prod`; only `bob`, `default`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: log in to it with `cubeblob --profile prod login"),
        "{stderr}"
    );

    // The same account: refused, exit 6.
    let out = cubeblob(c, &url)
        .args(["copy", "--to-profile", "default"])
        .assert()
        .code(6);
    assert!(stderr_of(&out).contains("is the account the blobs come from"));

    // A session that ended (the stored token is no longer valid): exit 4, the profile named.
    let path = c.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut config_toml: toml::Value = toml::from_str(&text).unwrap();
    let token = config_toml["profiles"]["bob"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    config_toml["profiles"]["bob"]["token"] = toml::Value::String("0".repeat(token.len()));
    std::fs::write(&path, toml::to_string(&config_toml).unwrap()).unwrap();
    let out = cubeblob(c, &url)
        .args(["copy", "--to-profile", "bob"])
        .env("CUBEBLOB_TOKEN", &token)
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("the session of profile `bob`"), "{stderr}");
    assert!(
        stderr.contains("hint: run `cubeblob --profile bob login`"),
        "{stderr}"
    );

    // Logged out: exit 4, with the command that logs it in.
    std::fs::write(&path, &text).unwrap();
    cubeblob(c, &url)
        .args(["--profile", "bob", "logout"])
        .assert()
        .success();
    let out = cubeblob(c, &url)
        .args(["copy", "--to-profile", "bob", "--dry-run"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("profile `bob` is not logged in"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: run `cubeblob --profile bob login`"),
        "{stderr}"
    );

    // Ids and filters together: a usage error.
    cubeblob(c, &url)
        .args(["copy", "1", "--public", "--to-profile", "bob"])
        .assert()
        .code(2);
    assert!(bob.ids().is_empty(), "nothing reached bob");
}

#[test]
fn a_storage_failure_mid_copy_leaves_no_record_on_the_target() {
    // After the two uploads that make the source blobs, the first copy's body is cut
    // on its way to storage, on both tries; the second's goes through.
    let f = Faulty::start(
        json!([{"route": "s3_post", "skip": 2, "first": 2, "cut_after": 100_000}]),
        &[],
    );
    let url = f.url().to_string();
    let config = two_profiles(&url, &f.server);
    let c = config.path();
    let alice = Api::login(&f.server, ALICE);
    let big = alice.blob("big.bin", &noise(400_000, 5), false);
    alice.blob("small.txt", b"fine", false);

    let out = cubeblob(c, &url)
        .args(["--retries", "1", "copy", "-j", "1", "--to-profile", "bob"])
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(
        errors.len(),
        2,
        "one line for the blob, one summary: {stderr}"
    );
    assert!(
        errors[0].contains(&format!(
            "copy blob {} (`big.bin`) to profile `bob`",
            big.id
        )),
        "{stderr}"
    );
    assert!(errors[1].contains("1 of 2 failed"), "{stderr}");
    assert_eq!(f.faulted("s3_post"), 2);
    let left: Vec<String> = records(c, &url, "bob")
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["small.txt"], "the failed copy's record was deleted");
    assert_eq!(f.to("delete").len(), 1);
    assert!(f.half_received().is_empty());
}

/// The target's session ends as the copy starts (its first `create` is refused with
/// the session gone): exit 4, and the hint logs in to the target's profile, not the
/// default one.
#[test]
fn a_target_session_ending_mid_copy_names_its_profile_in_the_hint() {
    let f = Faulty::start(
        json!([{"route": "create", "skip": 1, "first": 1, "status": 401, "end_session": true}]),
        &[],
    );
    let url = f.url().to_string();
    let config = two_profiles(&url, &f.server);
    let alice = Api::login(&f.server, ALICE);
    alice.blob("a.txt", b"alpha", false);

    let out = cubeblob(config.path(), &url)
        .args(["copy", "--to-profile", "bob"])
        .assert()
        .code(4);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("hint: run `cubeblob --profile bob login`"),
        "{stderr}"
    );
    assert_eq!(f.faulted("create"), 1);
}

#[test]
fn a_source_breaking_off_mid_copy_leaves_no_record_on_the_target() {
    // Every try of the download breaks off at the same byte: no progress to resume.
    let f = Faulty::start(json!([{"route": "s3_get", "cut_after": 50_000}]), &[]);
    let url = f.url().to_string();
    let config = two_profiles(&url, &f.server);
    let alice = Api::login(&f.server, ALICE);
    let big = alice.blob("big.bin", &noise(400_000, 5), false);
    let out = cubeblob(config.path(), &url)
        .args([
            "--retries",
            "1",
            "copy",
            &big.id.to_string(),
            "--to-profile",
            "bob",
        ])
        .assert()
        .code(3);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("reading the source blob"), "{stderr}");
    assert_eq!(f.to("s3_get").len(), 2, "one try and one retry");
    assert_eq!(f.to("create").len(), 2, "the source blob's and the copy's");
    assert_eq!(f.to("delete").len(), 1);
    assert!(records(config.path(), &url, "bob").is_empty());
    assert!(f.half_received().is_empty());
}

#[test]
fn ctrl_c_mid_copy_removes_the_record_in_flight() {
    // The upload that makes the source blob goes through; the copy's is held.
    let f = Faulty::start(
        json!([{"route": "s3_post", "skip": 1, "delay_ms": 30_000}]),
        &[],
    );
    let url = f.url().to_string();
    let config = two_profiles(&url, &f.server);
    let alice = Api::login(&f.server, ALICE);
    alice.blob("slow.bin", &noise(50_000, 9), false);

    let child = Command::new(bin())
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &url)
        .env_remove("CUBEBLOB_TOKEN")
        .args(["--progress", "none", "copy", "--to-profile", "bob"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second: the first made the source blob.
    f.wait_for("s3_post", 2);
    let (out, _) = interrupted(child);
    assert!(out.stdout.is_empty());
    assert_eq!(f.to("delete").len(), 1, "the record in flight was deleted");
    assert!(records(config.path(), &url, "bob").is_empty());
}
