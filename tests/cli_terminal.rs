//! What a terminal is shown (issue 16, points 4, 5 and 6), through a real pseudo-
//! terminal: `script` (util-linux) runs the command on one and records what it drew.
//! For progress, the server (its fault plan) delays every `complete`, so that the
//! files are still going when their bytes are all sent, or takes bodies at a set
//! pace; the tests look at what was drawn, never at how long it took.

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
    let (raw, ok) = drawn_on_a_terminal(config, url, rows, args, typed);
    (strip_escapes(&raw), ok)
}

/// What `cubeblob ARGS` sent to a terminal of `rows` rows, escape sequences and all.
fn drawn_on_a_terminal(
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
    let drawn = String::from_utf8_lossy(&out.stdout).into_owned();
    (drawn, out.status.success())
}

/// The screens drawn one after the other, escape sequences taken out: the bars are
/// redrawn from their top line, which the cursor goes back up to (`ESC [ N A`).
fn frames(drawn: &str) -> Vec<String> {
    let mut frames = Vec::new();
    let (mut start, mut from) = (0, 0);
    while let Some(found) = drawn[from..].find("\u{1b}[") {
        let at = from + found;
        let digits = drawn[at + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        let end = at + 2 + digits;
        if digits > 0 && drawn[end..].starts_with('A') {
            frames.push(strip_escapes(&drawn[start..at]));
            start = end + 1;
        }
        from = end;
    }
    frames.push(strip_escapes(&drawn[start..]));
    frames
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
    server_with_rules(r#"[{"route": "complete", "delay_ms": 1500}]"#)
}

/// A server that runs `rules`, a fault plan's rules as JSON.
fn server_with_rules(rules: &str) -> (TestServer, TempDir) {
    let dir = TempDir::new().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, format!(r#"{{"rules": {rules}}}"#)).unwrap();
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
    let (drawn, ok) = drawn_on_a_terminal(
        config.path(),
        &server.url,
        5,
        &format!("upload -j 6 {}", paths.join(" ")),
        "",
    );
    let shown = strip_escapes(&drawn);
    assert!(ok, "{shown}");
    let bars_at_once = |frame: &String| {
        (0..6)
            .filter(|i| has_bar(frame, &format!("file-{i}.bin")))
            .count()
    };
    let most = frames(&drawn).iter().map(bars_at_once).max().unwrap_or(0);
    assert!(most <= 3, "{most} file bars at once on 5 rows: {shown}");
    assert!(most >= 1, "{shown}");
    // The total is drawn beside the capped bars; its last count may fall between two
    // redraws on a loaded machine, the summary line carries it.
    assert!(shown.contains("total ") && shown.contains("/6 "), "{shown}");
    assert!(shown.contains("uploaded 6 of 6 files"), "{shown}");
}

/// One row for file bars (three rows: the file, the total, the prompt), two files at
/// a time. `tiny` and `middle` start together and one of them takes the row; `last`
/// starts when `tiny` is done, finds the row taken (by `middle`, or by the file that
/// took `tiny`'s row), and takes it when `middle` is done. Whichever started first,
/// `middle` and `last` are both drawn; with the row given to no one, one of them never is.
#[test]
fn a_row_freed_on_a_full_screen_goes_to_a_file_still_going() {
    let (server, dir) = server_with_rules(r#"[{"route": "s3_post", "bytes_per_sec": 400000}]"#);
    let config = logged_in(&server, ALICE);
    let paths: Vec<String> = [
        ("tiny.bin", 1),
        ("middle.bin", 400_000),
        ("last.bin", 1_200_000),
    ]
    .iter()
    .map(|(name, len)| {
        let path = dir.path().join(name);
        std::fs::write(&path, vec![b'x'; *len]).unwrap();
        path.display().to_string()
    })
    .collect();
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        3,
        &format!("upload -j 2 {}", paths.join(" ")),
    );
    assert!(has_bar(&shown, "middle.bin"), "{shown}");
    assert!(has_bar(&shown, "last.bin"), "{shown}");
    assert!(shown.contains("uploaded 3 of 3 files"), "{shown}");
}

/// Every `N.N UNIT/s` drawn, in bytes a second.
fn rates_drawn(shown: &str) -> Vec<f64> {
    let words: Vec<&str> = shown.split_whitespace().collect();
    words
        .windows(2)
        .filter_map(|pair| {
            let unit = pair[1].strip_suffix("/s")?;
            let scale = match unit {
                "B" => 1.0,
                "KiB" => 1024.0,
                "MiB" => 1_048_576.0,
                "GiB" => 1_073_741_824.0,
                _ => return None,
            };
            Some(pair[0].parse::<f64>().ok()? * scale)
        })
        .collect()
}

/// The storage takes the body at 4 MiB/s. The first MiBs go into the sockets'
/// buffers at once (on loopback about 4.5 MiB), then in bursts of about 1.4 MiB
/// (a third of the client's send buffer); a rate counted from the bytes handed over
/// reads far above the link for seconds, and one over a window ending "now" swings
/// with the bursts. Where the buffers leave off after a burst varies by a few hundred
/// KiB, more on a loaded machine: a tenth of what the link carries in the shortest
/// stretch a rate counts (two seconds), so none drawn may run more than 25% above it.
/// A 40 MiB file leaves seconds after the fill for rates to be drawn.
#[test]
fn rates_shown_never_run_ahead_of_the_link() {
    let link: u64 = 4 * 1_048_576;
    let (server, dir) = server_with_rules(&format!(
        r#"[{{"route": "s3_post", "bytes_per_sec": {link}}}]"#
    ));
    let link = link as f64;
    let config = logged_in(&server, ALICE);
    let path = dir.path().join("forty.bin");
    std::fs::write(&path, vec![b'x'; 40 * 1_048_576]).unwrap();
    let shown = on_a_terminal(
        config.path(),
        &server.url,
        24,
        &format!("upload {}", path.display()),
    );
    let rates = rates_drawn(&shown);
    assert!(!rates.is_empty(), "a rate was drawn: {shown}");
    let highest = rates.iter().cloned().fold(0.0, f64::max);
    assert!(
        highest <= link * 1.25,
        "{:.2} MiB/s drawn on a 4 MiB/s link: {shown}",
        highest / 1_048_576.0
    );
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
