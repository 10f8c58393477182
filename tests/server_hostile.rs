//! `cubeblob serve` against hostile peers: bodies built to exhaust it, sockets left
//! idle, a full disk, forged `Host` headers. Nothing of it may stop the server or
//! lock other clients out.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use std::io::{BufRead, BufReader, Read as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

/// `cubeblob serve` started by `sh -c 'PREAMBLE; exec cubeblob serve ...'` (a
/// `ulimit`, a `umask`); killed when dropped.
struct ShellServer {
    child: Child,
    url: String,
}

impl ShellServer {
    fn start(preamble: &str, data: &std::path::Path, extra: &[&str]) -> ShellServer {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{preamble}; exec \"$0\" \"$@\""))
            .arg(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(["--user", &format!("{}:{}", ALICE.0, ALICE.1)])
            .args(extra)
            .env_remove("CUBEBLOB_API_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cubeblob serve under sh");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the start line");
        let url = start_line_field(&line, "url")
            .unwrap_or_else(|| panic!("no url= in the start line: {line:?}"));
        ShellServer { child, url }
    }
}

impl Drop for ShellServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a refused request is the contract's `{"errors":{"base":[MESSAGE]}}`;
/// the message.
async fn base_error(response: reqwest::Response, expected: StatusCode) -> String {
    let (status, body) = json_of(response).await;
    assert_eq!(status, expected, "{body}");
    body["errors"]["base"][0]
        .as_str()
        .unwrap_or_else(|| panic!("not the contract's error shape: {body}"))
        .to_string()
}

#[tokio::test]
async fn nested_and_oversized_bodies_get_a_4xx_and_the_server_lives_on() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;

    // The crash: a form key nesting `[x]` 20,000 times.
    let form = format!("user{}=1", "[x]".repeat(20_000));
    let response = http
        .post(format!("{url}/session"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("the server answers a deeply nested form");
    let message = base_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("nests deeper"), "{message}");

    // Deeply nested JSON, from an anonymous and from a logged-in caller.
    let token = login(&http, url, ALICE).await;
    let json = format!("{}1{}", "{\"blob\":".repeat(5_000), "}".repeat(5_000));
    for path in ["session", "blobs"] {
        let response = http
            .post(format!("{url}/{path}"))
            .header("Content-Type", "application/json")
            .header("CB-Token", &token)
            .body(json.clone())
            .send()
            .await
            .expect("the server answers a deeply nested JSON body");
        base_error(response, StatusCode::BAD_REQUEST).await;
    }
    let shallow_but_too_deep = format!("{}1{}", "{\"blob\":".repeat(20), "}".repeat(20));
    let response = http
        .post(format!("{url}/blobs"))
        .header("Content-Type", "application/json")
        .header("CB-Token", &token)
        .body(shallow_but_too_deep)
        .send()
        .await
        .unwrap();
    let message = base_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("nests deeper"), "{message}");

    // A body far larger than any API request: refused before it is read whole.
    let huge = format!("login={}", "a".repeat(100 * 1024));
    let response = http
        .post(format!("{url}/session"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    base_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Still serving: a normal login and a normal upload.
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "after.bin", b"still here", false).await;
    assert_eq!(blob["size"], Value::from(10));
}

#[tokio::test]
async fn idle_sockets_beyond_the_descriptor_limit_do_not_lock_clients_out() {
    let dir = tempfile::TempDir::new().unwrap();
    let server = ShellServer::start(
        "ulimit -n 256",
        &dir.path().join("data"),
        &["--idle-timeout", "2"],
    );
    let addr = server.url.trim_start_matches("http://").to_string();

    // More idle connections than the server has descriptors; the kernel completes
    // each handshake whether or not the server accepts it.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).expect("connect an idle socket"))
        .collect();

    // A normal client is still answered: the idle ones are closed in time.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = login(&http, &server.url, ALICE).await;
    assert_eq!(token.len(), 40);

    // And the server closed the first idle socket itself (end of stream, not our
    // read timeout, which is far longer than the server's).
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(first.read(&mut buf).expect("the server closes it"), 0);
}

/// Every file under `root` and its mode, folders with a trailing `/`; `root` itself
/// is left out.
#[cfg(unix)]
fn modes_under(root: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let name = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                found.push((format!("{name}/"), mode));
                pending.push(entry.path());
            } else {
                found.push((name, mode));
            }
        }
    }
    found.sort();
    found
}

#[cfg(unix)]
#[tokio::test]
async fn database_and_data_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::TempDir::new().unwrap();
    // A data folder the user made, readable by all.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    let check = |when: &str| {
        let modes = modes_under(&data);
        let shown: Vec<String> = modes.iter().map(|(n, m)| format!("{n} {m:o}")).collect();
        let open: Vec<&String> = modes
            .iter()
            .zip(&shown)
            .filter(|((name, mode), _)| *mode != if name.ends_with('/') { 0o700 } else { 0o600 })
            .map(|(_, shown)| shown)
            .collect();
        assert!(
            open.is_empty(),
            "{when}: not private: {open:?} (all: {shown:?})"
        );
        modes
    };

    let server = ShellServer::start("umask 022", &data, &[]);
    let modes = check("after start");
    for expected in ["cubeblob.db", "cubeblob.db-wal", "objects/", "tmp/"] {
        assert!(
            modes.iter().any(|(name, _)| name == expected),
            "no {expected} in {modes:?}"
        );
    }

    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let blob = upload(&http, &server.url, &token, "secret.txt", b"private", false).await;
    let modes = check("after an upload");
    let object = format!("objects/{}", blob["uid"].as_str().unwrap());
    assert!(modes.iter().any(|(name, _)| *name == object), "{modes:?}");

    // The user's own folder keeps its mode; what is in it is private.
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
}

/// A small tmpfs mounted for one test, unmounted when dropped; `None` (after saying
/// so) when it cannot be mounted: the test needs root.
struct SmallDisk {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(test: &str, size: &str) -> Option<SmallDisk> {
        use std::io::Write as _;
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .stderr(Stdio::piped())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { path, _dir: dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    Err(err) => err.to_string(),
                };
                let line = format!("{test}: skipped: cannot mount a tmpfs (needs root): {why}\n");
                let _ = std::io::stderr().write_all(line.as_bytes());
                None
            }
        }
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write as _;
        let mut filler = std::fs::File::create(self.path.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if let Err(err) = filler.write_all(&block) {
                assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
                break;
            }
        }
        // The last partial blocks, byte-sized.
        while filler.write_all(&[0u8; 512]).is_ok() {}
        while filler.write_all(&[0u8]).is_ok() {}
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn on_a_full_disk_reads_work_and_writes_say_the_disk_is_full() {
    let test = "on_a_full_disk_reads_work_and_writes_say_the_disk_is_full";
    let Some(disk) = SmallDisk::mount(test, "8m") else {
        return;
    };
    let server = TestServer::start_in(&disk.path.join("data"), &[]);
    let config = logged_in(&server, ALICE);
    let work = tempfile::TempDir::new().unwrap();
    let file = work.path().join("before.bin");
    let content = helpers::content(3, 5000);
    std::fs::write(&file, &content).unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(["upload", "--json"])
        .arg(&file)
        .assert()
        .success();
    let uploaded: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let id = uploaded["id"].to_string();

    disk.fill();

    // Reads keep working, though the token's sliding expiry cannot be written.
    cubeblob(config.path(), &server.url)
        .args(["info", &id])
        .assert()
        .success();
    let list = cubeblob(config.path(), &server.url)
        .args(["list"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&list.get_output().stdout).contains("before.bin"));
    let target = work.path().join("back.bin");
    cubeblob(config.path(), &server.url)
        .args(["download", &id, "-o"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(std::fs::read(&target).unwrap(), content);

    // A write is refused with the reason, not a 500 retried five times.
    let big = work.path().join("after.bin");
    std::fs::write(&big, helpers::content(4, 256 * 1024)).unwrap();
    let out = cubeblob(config.path(), &server.url)
        .args(["upload"])
        .arg(&big)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("out of disk space"), "{stderr}");
    assert!(!stderr.contains("500"), "{stderr}");

    // Room for the record but not for the file: storage refuses it the same way.
    let filler = std::fs::OpenOptions::new()
        .write(true)
        .open(disk.path.join("filler"))
        .unwrap();
    let len = filler.metadata().unwrap().len();
    filler.set_len(len - 128 * 1024).unwrap();
    drop(filler);
    let out = cubeblob(config.path(), &server.url)
        .args(["upload"])
        .arg(&big)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("out of disk space"), "{stderr}");

    // Space freed, writes work again.
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    cubeblob(config.path(), &server.url)
        .args(["upload"])
        .arg(&big)
        .assert()
        .success();
}

#[tokio::test]
async fn a_restart_sweeps_what_a_crash_left_in_tmp_and_keeps_the_objects() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start_in(&data, &[]);
    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let blob = upload(&http, &server.url, &token, "kept.bin", b"kept bytes", false).await;
    server.stop(); // as SIGKILL would

    // What the crash of an upload in flight leaves: a half-written file, just now.
    let leftover = data.join("tmp").join("Q3b9XkT0aPz7LmN2cV8sR1wE.part");
    std::fs::write(&leftover, helpers::content(9, 70_000)).unwrap();
    let object = data.join("objects").join(blob["uid"].as_str().unwrap());
    assert!(object.exists());

    let server = TestServer::start_in(&data, &[]);
    assert!(!leftover.exists(), "the leftover upload is still there");
    let leftovers: Vec<_> = std::fs::read_dir(data.join("tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(std::fs::read(&object).unwrap(), b"kept bytes");
    let token = login(&http, &server.url, ALICE).await;
    let id = blob["id"].as_u64().unwrap();
    let response = http
        .get(format!("{}/blobs/{id}/download", server.url))
        .header("CB-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let bytes = http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"kept bytes");
}

/// The upload URL of a create answer and the download `Location` of the blob, both
/// asked for with `Host: host`.
async fn urls_given_host(server_url: &str, token: &str, host: &str) -> (String, String) {
    let http = http();
    let (status, body) = json_of(
        http.post(format!("{server_url}/blobs"))
            .header("CB-Token", token)
            .header("Host", host)
            .json(&serde_json::json!({"blob": {"name": "u.bin", "content_type": "text/plain"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (upload_url, fields) = form_of(&body["blob"]);
    // Land and complete it (at the real address), then ask for its download.
    let real_upload = format!("{server_url}/cubeblob-local");
    let response = post_form(&http, &real_upload, &fields, b"hi", &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = body["blob"]["id"].as_u64().unwrap();
    let response = http
        .put(format!("{server_url}/blobs/{id}/complete"))
        .header("CB-Token", token)
        .json(&serde_json::json!({"blob": {"size": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let uid = body["blob"]["uid"].as_str().unwrap();
    let response = http
        .get(format!("{server_url}/blobs/{uid}/download"))
        .header("CB-Token", token)
        .header("Host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    (upload_url, location)
}

#[tokio::test]
async fn a_forged_host_header_does_not_steer_forms_or_downloads() {
    let server = TestServer::start();
    let token = login(&http(), &server.url, ALICE).await;
    let (upload_url, location) = urls_given_host(&server.url, &token, "evil.example:666").await;
    assert_eq!(upload_url, format!("{}/cubeblob-local", server.url));
    assert!(
        location.starts_with(&format!("{}/cubeblob-local/", server.url)),
        "{location}"
    );
    assert!(!upload_url.contains("evil") && !location.contains("evil"));
}

#[tokio::test]
async fn public_url_names_the_host_of_forms_and_downloads() {
    let public = "https://files.example.test:8443";
    let server = TestServer::start_with(&["--public-url", "https://files.example.test:8443/"]);
    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let (upload_url, location) = urls_given_host(&server.url, &token, "evil.example:666").await;
    assert_eq!(upload_url, format!("{public}/cubeblob-local"));
    assert!(
        location.starts_with(&format!("{public}/cubeblob-local/")),
        "{location}"
    );

    // The download URL is signed for the public host: a proxy passing that `Host`
    // on to the server gets the object.
    let path_and_query = &location[public.len()..];
    let response = http
        .get(format!("{}{path_and_query}", server.url))
        .header("Host", "files.example.test:8443")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&response.bytes().await.unwrap()[..], b"hi");

    // A URL with a path is refused at start, as a usage error.
    let config = tempfile::TempDir::new().unwrap();
    let out = cubeblob(config.path(), "http://127.0.0.1:9")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "http://x.test/prefix",
        ])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("--public-url") && stderr.contains("without a path"),
        "{stderr}"
    );
}
