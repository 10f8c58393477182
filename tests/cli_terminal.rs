//! What a terminal is shown (issue 16, points 4, 5 and 6), through a real pseudo-
//! terminal: `script` (util-linux) runs the command on one and records what it drew.
//! For progress, the server delays every `complete` (the fault plan), so that the
//! files are still going when their bytes are all sent; the tests look at what was
//! drawn, never at how long it took.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{bin, cubeblob, logged_in, TestServer, ALICE};
use tempfile::TempDir;

/// Runs `cubeblob ARGS` on a terminal of `rows` rows; what the terminal was shown,
/// escape sequences taken out.
fn on_a_terminal(config: &Path, url: &str, rows: u16, args: &str) -> String {
    let (shown, ok) = run_on_a_terminal(config, url, rows, args);
    assert!(ok, "{shown}");
    shown
}

/// `on_a_terminal`, with whether the command succeeded (`script -e` passes its code on).
fn run_on_a_terminal(config: &Path, url: &str, rows: u16, args: &str) -> (String, bool) {
    typed_on_a_terminal(config, url, rows, args, "")
}

/// `run_on_a_terminal` with `typed` entered at the terminal (held by it until read).
fn typed_on_a_terminal(
    config: &Path,
    url: &str,
    rows: u16,
    args: &str,
    typed: &str,
) -> (String, bool) {
    let command = format!("stty rows {rows} cols 120; {} {args}", bin().display());
    let mut script = Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("CUBEBLOB_") || key == "NO_COLOR" {
            script.env_remove(key);
        }
    }
    let mut script_child = script
        .env("CUBEBLOB_CONFIG_DIR", config)
        .env("CUBEBLOB_API_URL", url)
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the command on a terminal");
    script_child
        .stdin
        .take()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    let out = script_child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    (strip_escapes(&shown), out.status.success())
}

/// The text without CSI sequences (`ESC [ … letter`), carriage returns as newlines.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(if c == '\r' { '\n' } else { c });
    }
    out
}

/// Whether `name` was drawn as the label of a bar (the name, spaces, then `[`).
fn has_bar(shown: &str, name: &str) -> bool {
    shown.match_indices(name).any(|(at, _)| {
        let rest = shown[at + name.len()..].trim_start_matches(' ');
        rest.len() < shown.len() - at - name.len() && rest.starts_with('[')
    })
}

fn files(dir: &Path, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("file-{i}.bin"));
            std::fs::write(&path, vec![b'x'; 100_000]).unwrap();
            path.display().to_string()
        })
        .collect()
}

fn slow_complete_server() -> (TestServer, TempDir) {
    let dir = TempDir::new().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"rules": [{"route": "complete", "delay_ms": 1500}]}"#,
    )
    .unwrap();
    let server = TestServer::start_with(&["--faults", plan.to_str().unwrap()]);
    (server, dir)
}

#[test]
fn json_on_a_terminal_still_shows_progress_and_a_summary() {
    let (server, dir) = slow_complete_server();
    let config = logged_in(&server, ALICE);
    let paths = files(dir.path(), 3);
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        24,
        &format!("--json upload {}", paths.join(" ")),
    );
    assert_eq!(
        shown.matches("\"uid\":").count(),
        3,
        "the JSON lines: {shown}"
    );
    assert!(has_bar(&shown, "file-0.bin"), "a bar per file: {shown}");
    // Bytes sent is not done: the bar says what it waits for.
    assert!(shown.contains("completing"), "{shown}");
    // The total is a bar of its own; its last count may fall between two redraws on a
    // loaded machine, the summary line carries it.
    assert!(has_bar(&shown, "total 0/3"), "{shown}");
    assert!(
        shown.contains("uploaded 3 of 3 files, 293.0 KiB in "),
        "a summary line: {shown}"
    );
    // The total never reads full while files are going.
    assert!(!shown.contains("total 0/3 [=================="), "{shown}");
}

#[test]
fn file_bars_stay_within_a_screenful_with_the_total_visible() {
    let (server, dir) = slow_complete_server();
    let config = logged_in(&server, ALICE);
    let paths = files(dir.path(), 6);
    // Five rows: three file bars, the total, and the prompt's line.
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        5,
        &format!("upload -j 6 {}", paths.join(" ")),
    );
    let with_bars = (0..6)
        .filter(|i| has_bar(&shown, &format!("file-{i}.bin")))
        .count();
    assert!(with_bars <= 3, "{with_bars} file bars on 5 rows: {shown}");
    assert!(with_bars >= 1, "{shown}");
    // The total is drawn beside the capped bars; its last count may fall between two
    // redraws on a loaded machine, the summary line carries it.
    assert!(shown.contains("total ") && shown.contains("/6 "), "{shown}");
    assert!(shown.contains("uploaded 6 of 6 files"), "{shown}");
}

#[test]
fn binary_to_a_terminal_is_refused_unless_forced() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let bin_file = dir.path().join("noise.bin");
    std::fs::write(&bin_file, b"\x1b]0;owned\x07\x00\x01binary").unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "plain words\n").unwrap();
    let upload = |file: &Path| -> String {
        let out = common::cubeblob(config.path(), &server.url)
            .arg("upload")
            .arg(file)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .split('\t')
            .next()
            .unwrap()
            .to_string()
    };
    let (binary, text) = (upload(&bin_file), upload(&text_file));

    let (shown, ok) = run_on_a_terminal(
        config.path(),
        &server.url,
        24,
        &format!("download {binary} -o -"),
    );
    assert!(!ok, "{shown}");
    assert!(shown.contains("would garble the terminal"), "{shown}");
    assert!(!shown.contains("binary"), "no byte of it shown: {shown}");
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        24,
        &format!("download {binary} -o - --force"),
    );
    assert!(shown.contains("binary"), "{shown}");
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        24,
        &format!("download {text} -o -"),
    );
    assert!(
        shown.contains("plain words"),
        "text needs no --force: {shown}"
    );
}

/// The blob names on the server, sorted.
fn names_on_server(config: &Path, url: &str) -> Vec<String> {
    let out = cubeblob(config, url)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn sync_delete_without_a_prefix_asks_at_the_terminal() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let dir = TempDir::new().unwrap();
    let others = dir.path().join("others");
    std::fs::create_dir(&others).unwrap();
    for name in ["old-a.txt", "old-b.txt"] {
        std::fs::write(others.join(name), name).unwrap();
    }
    cubeblob(config.path(), &server.url)
        .args(["upload", "-r"])
        .arg(&others)
        .assert()
        .success();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("keep.txt"), "kept").unwrap();
    let args = format!("sync {} --delete", site.display());

    // Declined: nothing changes, not even the upload of the new file.
    let (shown, ok) = typed_on_a_terminal(config.path(), &server.url, 24, &args, "n\n");
    assert!(!ok, "{shown}");
    assert!(shown.contains("delete 2 blobs of yours"), "{shown}");
    assert!(shown.contains("nothing was changed"), "{shown}");
    assert_eq!(
        names_on_server(config.path(), &server.url),
        ["\"old-a.txt\"", "\"old-b.txt\""]
    );

    // Confirmed: the folder is what the account holds.
    let (shown, ok) = typed_on_a_terminal(config.path(), &server.url, 24, &args, "y\n");
    assert!(ok, "{shown}");
    assert_eq!(
        names_on_server(config.path(), &server.url),
        ["\"keep.txt\""]
    );
}
