//! The client against a hostile or broken server (the fake of `transfer_fake`, its
//! `hostile` side): answers that never end, downloads longer than the blob, pages that
//! repeat, redirects to `file://`, a `.part` that is a symlink or is corrupt, two
//! downloads racing for one target. Nothing grows without bound, nothing is retried
//! that cannot succeed, no wrong file is left with exit 0.

mod common;
mod transfer_fake;
mod transfer_util;

use std::path::Path;
use std::sync::atomic::Ordering;

use common::cubeblob;
use tempfile::TempDir;
use transfer_fake::hostile::{Storage, ENDLESS, HUGE_404_ID, HUGE_ID};
use transfer_fake::FakeCube;
use transfer_util::names_in;

const TOKEN: &str = "fake-token-0123456789";

fn cmd(fake: &FakeCube, config: &Path) -> assert_cmd::Command {
    let mut cmd = cubeblob(config, &fake.api_url);
    cmd.env("CUBEBLOB_TOKEN", TOKEN);
    cmd
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Whatever the client took, it hung up long before the end of an endless body.
fn took_little(fake: &FakeCube) {
    let served = fake.state.served.load(Ordering::SeqCst);
    assert!(served < ENDLESS / 4, "the client read {served} bytes");
}

#[test]
fn endless_api_answers_are_cut_off_with_a_clear_error() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    fake.state.hostile.lock().unwrap().huge_list = true;
    for args in [
        vec!["info".to_string(), HUGE_ID.to_string()],
        vec!["list".to_string()],
    ] {
        fake.state.served.store(0, Ordering::SeqCst);
        let out = cmd(&fake, dir.path()).args(&args).assert().code(3);
        let err = stderr(&out);
        assert!(
            err.contains("larger than the 8 MiB limit"),
            "{args:?}: {err}"
        );
        took_little(&fake);
    }
    // An error body is only read as far as a message needs.
    fake.state.served.store(0, Ordering::SeqCst);
    let out = cmd(&fake, dir.path())
        .args(["info", &HUGE_404_ID.to_string()])
        .assert()
        .code(5);
    let err = stderr(&out);
    assert!(
        err.contains("failed: 404") && err.contains("not found aaaa"),
        "{err}"
    );
    took_little(&fake);
}

#[test]
fn a_download_longer_than_the_blob_stops_and_leaves_nothing() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let blob = fake.put_blob("a.bin", &data(2048));
    fake.state.hostile.lock().unwrap().storage = Storage::Endless;
    for resume in [false, true] {
        fake.state.served.store(0, Ordering::SeqCst);
        let mut cmd = cmd(&fake, dir.path());
        cmd.args(["download", &blob.id.to_string(), "-o"])
            .arg(out_dir.join("a.bin"));
        if resume {
            cmd.arg("--continue");
        }
        let out = cmd.assert().code(3);
        let err = stderr(&out);
        assert!(
            err.contains("storage sent more than the 2048 bytes the blob record says it has"),
            "{err}"
        );
        took_little(&fake);
        assert!(!out_dir.join("a.bin").exists());
        if !resume {
            assert_eq!(names_in(&out_dir), Vec::<String>::new());
        }
    }
    // Not retried: no retry makes the host send the right length.
    assert_eq!(fake.state.hostile.lock().unwrap().storage_gets, 2);
}

#[test]
fn a_stream_cut_again_and_again_from_byte_zero_is_not_progress() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let blob = fake.put_blob("a.bin", &data(4000));
    fake.state.hostile.lock().unwrap().storage = Storage::SeesawCuts;
    let target = dir.path().join("a.bin");
    let out = cmd(&fake, dir.path())
        .args(["--retries", "2", "download", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .code(3);
    assert!(
        stderr(&out).contains("downloading from storage failed"),
        "{}",
        stderr(&out)
    );
    // One try that got furthest, then the retries: a seesaw earns no fresh ones.
    let gets = fake.state.hostile.lock().unwrap().storage_gets;
    assert!(gets <= 4, "{gets} GETs");
    assert!(!target.exists());
}

/// A page of `n` complete blobs, as the fake's hostile list serves it.
fn page_of(n: u64) -> Vec<serde_json::Value> {
    (1..=n)
        .map(|id| {
            serde_json::json!({"id": id, "uid": format!("{id:032x}"), "name": format!("b{id}"),
                "size": 1, "blob_status": "complete"})
        })
        .collect()
}

#[test]
fn list_all_stops_when_pages_repeat_or_pass_the_total() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let cases = [
        // The same 100 blobs on every page, with no total or with a huge one.
        (None, None, "page 2 holds the same blobs as page 1"),
        (
            Some(1_000_000_000),
            None,
            "page 2 holds the same blobs as page 1",
        ),
        // 100 blobs on a page of 10, from a server that says it has 20.
        (
            Some(20),
            Some(10),
            "it sent 100 blobs by page 1, more than its `total_entries` of 20",
        ),
    ];
    for (total, per_page, message) in cases {
        {
            let mut plan = fake.state.hostile.lock().unwrap();
            plan.repeat_page = Some((page_of(100), total, per_page));
            plan.pages_served = 0;
        }
        let out = cmd(&fake, dir.path())
            .args(["list", "--all"])
            .assert()
            .code(3);
        let err = stderr(&out);
        assert!(err.contains(message), "{total:?}: {err}");
        assert!(
            err.contains("the server's listing is inconsistent"),
            "{err}"
        );
        let pages = fake.state.hostile.lock().unwrap().pages_served;
        assert!(pages <= 8, "{pages} pages asked for");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_at_the_part_is_never_followed() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let blob = fake.put_blob("a.bin", &data(10_000));
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("a.bin");
    std::os::unix::fs::symlink(&victim, out_dir.join("a.bin.part")).unwrap();

    // Without `-c` the `.part` name is not used at all.
    cmd(&fake, dir.path())
        .args(["download", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(std::fs::read(&target).unwrap(), data(10_000));
    assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    // With `-c` it is refused as local input, and left as it is.
    std::fs::remove_file(&target).unwrap();
    let out = cmd(&fake, dir.path())
        .args(["download", "--continue", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .code(6);
    assert!(
        stderr(&out).contains("is a symbolic link; refusing to follow it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!target.exists());
    assert_eq!(names_in(&out_dir), ["a.bin.part"]);
}

/// Waits (a minute at most) until `ready` holds.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn two_downloads_to_one_target_never_leave_a_wrong_file_with_success() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let bytes = data(4 * 1024 * 1024);
    let blob = fake.put_blob("a.bin", &bytes);
    fake.state.hostile.lock().unwrap().storage = Storage::Gated;
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("a.bin");
    let spawn = || {
        let mut cmd = std::process::Command::new(common::bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CUBEBLOB_CONFIG_DIR", dir.path())
            .env("CUBEBLOB_API_URL", &fake.api_url)
            .env("CUBEBLOB_TOKEN", TOKEN)
            .args(["download", "--force", &blob.id.to_string(), "-o"])
            .arg(&target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let written = || {
        std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum::<u64>()
    };

    // The first has written the first half and waits for the rest…
    let first = spawn();
    wait_until("the first download's half", || {
        fake.state.hostile.lock().unwrap().half_sent && written() >= 1024 * 1024
    });
    // …while a second starts, opens its file, and dies before a byte arrives.
    let mut second = spawn();
    wait_until("the second download's GET", || {
        fake.state.hostile.lock().unwrap().storage_gets >= 2
    });
    second.kill().unwrap();
    second.wait().unwrap();
    fake.state.hostile.lock().unwrap().gate_open = true;

    let out = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        assert!(
            std::fs::read(&target).unwrap() == bytes,
            "a wrong file with exit 0: {err}"
        );
    } else {
        assert!(
            !target.exists() || std::fs::read(&target).unwrap() == bytes,
            "{err}"
        );
    }
    assert!(out.status.success(), "{err}");
}

#[test]
fn a_redirect_to_a_file_url_is_not_retried_and_says_so() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let blob = fake.put_blob("a.bin", &data(100));
    fake.state.hostile.lock().unwrap().redirect_to = Some("file:///etc/passwd".into());
    let target = dir.path().join("a.bin");
    let out = cmd(&fake, dir.path())
        .args(["download", &blob.id.to_string(), "-o"])
        .arg(&target)
        .assert()
        .code(3);
    let err = stderr(&out);
    assert!(
        err.contains("redirects to `file:///etc/passwd`, which is not an http(s) URL"),
        "{err}"
    );
    assert!(!err.contains("is running"), "{err}");
    let downloads = fake
        .seen("api")
        .iter()
        .filter(|s| s.uri.ends_with("/download"))
        .count();
    assert_eq!(downloads, 1, "retried: {err}");
    assert!(fake.seen("storage").is_empty());
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

/// The storage address comes from the API's redirect: a hint to pass `--api-url` would
/// send the user after the wrong address.
#[test]
fn a_storage_host_that_fails_gets_a_hint_about_storage_not_the_api_url() {
    let fake = FakeCube::start();
    let dir = TempDir::new().unwrap();
    let blob = fake.put_blob("a.bin", &data(100));
    for (storage, says) in [
        // Nothing listens on port 1.
        ("http://127.0.0.1:1/bucket/a.bin", "cannot connect to"),
        // `.invalid` never resolves (RFC 6761).
        (
            "http://cubeblob-storage.invalid/bucket/a.bin",
            "cannot resolve",
        ),
    ] {
        fake.state.hostile.lock().unwrap().redirect_to = Some(storage.into());
        let out = cmd(&fake, dir.path())
            .args(["--retries", "1", "download", &blob.id.to_string(), "-o"])
            .arg(dir.path().join("a.bin"))
            .assert()
            .code(3);
        let err = stderr(&out);
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("hint: ") && err.contains("the API's redirect"),
            "{err}"
        );
        assert!(!err.contains("--api-url"), "{err}");
    }
}
