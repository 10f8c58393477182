//! Names from the server are hostile until proven otherwise: NUL and control bytes,
//! ANSI and OSC escapes, bidi overrides and zero-width characters, Windows device
//! names, and 4 KB names each land as one safe file inside the target folder, and a
//! terminal shows them escaped. (Separators, `..` and absolute paths:
//! `transfer_download::hostile_names_land_inside_the_target_folder`.)

mod cli_support;
mod common;
mod transfer_util;

use std::path::Path;
use std::process::Command;

use cli_support::Api;
use common::{bin, cubeblob, logged_in, TestServer, ALICE};
use tempfile::TempDir;
use transfer_util::{json_lines, names_in};

/// What the server may send that a file name or a terminal must not take as is.
fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "nul\0byte.txt",
        "bell\x07back\x08del\x7f.txt",
        "line\r\nbreak.txt",
        "\x1b[2J\x1b[31mred.txt",
        "\x1b]0;owned\x07title.txt",
        "c1\u{9b}31m.txt",
        "invoice\u{202e}fdp.exe",
        "\u{2066}isolate\u{2069}.txt",
        "zero\u{200b}width.txt",
        "CON",
        "nul.txt",
        "com1.log",
        "LPT9",
        "aux .txt",
    ]
    .map(String::from)
    .to_vec();
    // Longer than the service allows (100 characters): a server that sends them anyway.
    names.push("é".repeat(2048));
    names.push(format!("{}.txt", "x".repeat(4092)));
    names.push("../".repeat(1365));
    names
}

const CONTENT: &[u8] = b"hostile name, harmless bytes";

/// Blobs with the hostile names, given by renaming through the API; their ids. The
/// server refuses names over 100 characters, so those are written into its database
/// behind its back, standing in for a service that sends them anyway.
fn hostile_blobs(server: &TestServer) -> Vec<String> {
    let api = Api::login(server, ALICE);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rusqlite::Connection::open(server.data.join("cubeblob.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    hostile_names()
        .iter()
        .map(|name| {
            let id = api.blob("plain.txt", CONTENT, false).id;
            if name.chars().count() <= 100 {
                rt.block_on(api.client.rename_blob(id, name)).unwrap();
            } else {
                db.execute(
                    "UPDATE blobs SET name = ?1 WHERE id = ?2",
                    rusqlite::params![name, id as i64],
                )
                .unwrap();
            }
            id.to_string()
        })
        .collect()
}

/// Characters a file name must not hold: they reorder the text around them or hide.
fn is_bidi_or_invisible(c: char) -> bool {
    is_bidi(c) || matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}')
}

/// The bidi controls, which a terminal must be shown escaped. (Zero-width joiners are
/// shown as they are: emoji sequences need them.)
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn hostile_names_land_as_safe_files_in_the_target_folder() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let ids = hostile_blobs(&server);
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("a").join("b").join("target");
    std::fs::create_dir_all(&target).unwrap();

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "download", "-o"])
        .arg(&target)
        .args(&ids)
        .assert()
        .success();

    let saved = names_in(&target);
    assert_eq!(saved.len(), ids.len(), "{saved:?}");
    for name in &saved {
        assert!(name.len() <= 200, "{} bytes", name.len());
        assert!(!name.contains(['/', '\\', ':']), "{name:?}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(!name.chars().any(is_bidi_or_invisible), "{name:?}");
        assert!(
            !name.starts_with('.') && !name.ends_with(['.', ' ']),
            "{name:?}"
        );
        let stem = name
            .split('.')
            .next()
            .unwrap()
            .trim_end()
            .to_ascii_uppercase();
        assert!(
            !["CON", "NUL", "AUX", "PRN", "COM1", "LPT9"].contains(&stem.as_str()),
            "{name:?}"
        );
        assert_eq!(std::fs::read(target.join(name)).unwrap(), CONTENT);
    }
    // Nothing anywhere but the target folder.
    assert_eq!(names_in(dir.path()), ["a"]);
    assert_eq!(names_in(&dir.path().join("a")), ["b"]);
    assert_eq!(names_in(&dir.path().join("a").join("b")), ["target"]);
    for line in json_lines(&out.get_output().stdout) {
        let path = Path::new(line["path"].as_str().unwrap());
        assert_eq!(path.parent(), Some(target.as_path()), "{path:?}");
    }
}

#[test]
fn a_terminal_shows_hostile_names_escaped() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let ids = hostile_blobs(&server);
    let dir = TempDir::new().unwrap();

    // `script` gives the command a terminal for stdout and stderr, and records what
    // it was shown; the progress lines name each file too.
    let command = format!(
        "{} --color never --progress plain download -o {}/ {}",
        bin().display(),
        dir.path().join("out").display(),
        ids.join(" ")
    );
    let mut script = Command::new("script");
    for (key, _) in std::env::vars() {
        if key.starts_with("CUBEBLOB_") || key == "NO_COLOR" {
            script.env_remove(key);
        }
    }
    let out = script
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &server.url)
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs the command on a terminal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        shown.matches("downloaded ").count(),
        ids.len(),
        "one line per blob on a terminal: {shown}"
    );

    // The terminal's own line ends are CR LF; any other control character came from
    // a name, and would act on the terminal.
    let acting: Vec<char> = shown
        .chars()
        .filter(|&c| (c.is_control() && c != '\n' && c != '\r') || is_bidi(c))
        .collect();
    assert!(
        acting.is_empty(),
        "{acting:?} reached the terminal: {shown}"
    );
    assert!(!shown.contains("line\r\nbreak"));
    for escaped in [
        "nul\\x00byte.txt",
        "\\x1b[2J\\x1b[31mred.txt",
        "\\x1b]0;owned\\x07title.txt",
        "c1\\x9b31m.txt",
        "line\\r\\nbreak.txt",
        "invoice\\u{202e}fdp.exe",
    ] {
        assert!(shown.contains(escaped), "`{escaped}` not shown: {shown}");
    }
}
