//! The `list` table on a terminal 60, 80 and 120 columns wide (a pseudo-terminal:
//! `cli_support::on_terminal`): every line fits, the name keeps at least 20
//! characters, the uid gives way first (shortened, then dropped with a note).

mod cli_support;
mod common;

use cli_support::{on_terminal, Api};
use common::{logged_in, TestServer, ALICE};

const LONG: &str = "reports/2026/quarterly-summary-final-v2.pdf";

#[test]
fn the_table_fits_60_80_and_120_columns() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let long = api.blob(LONG, b"0123456789", false);
    let short = api.blob("a.txt", b"x", true);

    let show = |cols: u16| {
        let (code, text) = on_terminal(config.path(), &server.url, cols, &["list"], "");
        assert_eq!(code, 0, "{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= cols as usize,
                "wider than {cols}:\n{text}"
            );
        }
        assert!(
            text.contains("2 blobs, 11 B"),
            "the footer at {cols}:\n{text}"
        );
        assert!(
            text.contains(&LONG[..20]),
            "20 characters of the name at {cols}:\n{text}"
        );
        text
    };

    let wide = show(120);
    assert!(
        wide.contains(&long.uid) && wide.contains(&short.uid),
        "{wide}"
    );
    assert!(
        wide.contains(&LONG[..40]) && wide.contains("text/plain"),
        "{wide}"
    );
    assert!(!wide.contains("hidden"), "{wide}");

    let middle = show(80);
    // The uid shortened first, the other columns kept.
    assert!(middle.contains(&format!("{}…", &long.uid[..8])), "{middle}");
    assert!(!middle.contains(&long.uid), "{middle}");
    assert!(
        middle.contains("text/plain") && middle.contains("PUBLIC"),
        "{middle}"
    );
    assert!(!middle.contains("hidden"), "{middle}");

    let narrow = show(60);
    assert!(
        !narrow.contains("text/plain") && !narrow.contains(&long.uid[..8]),
        "{narrow}"
    );
    assert!(
        narrow.contains("(hidden to fit: uid, type; see --json)"),
        "{narrow}"
    );
    assert!(narrow.contains("just now"), "relative times: {narrow}");
}
