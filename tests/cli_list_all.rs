//! `list --all` over more than ten pages: every blob once, in order, and a reader
//! that stops early (`| head -1`) ends it quietly with exit 0.

mod cli_support;
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use cli_support::{json_lines, lines, Api};
use common::{cubeblob, logged_in, TestServer, ALICE};
use cubeblob::output::BlobRecord;

const BLOBS: usize = 1_050;

#[test]
fn list_all_shows_every_blob_once_in_order_and_stops_quietly() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let ids = Api::login(&server, ALICE).many(BLOBS, "many-");

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "list", "--all"])
        .assert()
        .success()
        .get_output()
        .clone();
    let records: Vec<BlobRecord> = json_lines(&out.stdout);
    let listed: Vec<u64> = records.iter().map(|r| r.id).collect();
    // The page order the server serves, page after page (ids ascending).
    let plain: Vec<u64> = {
        let out = cubeblob(config.path(), &server.url)
            .args(["list", "--per-page", "100", "--page", "1"])
            .assert()
            .success()
            .get_output()
            .clone();
        lines(&out.stdout)
            .iter()
            .map(|l| l.split('\t').next().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(listed[..100], plain[..], "--all starts with page 1");
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "no duplicates");
    assert_eq!(sorted, ids, "every blob");
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]) || listed.windows(2).all(|w| w[0] > w[1]),
        "in order"
    );

    // `cubeblob list --all | head -1`
    let mut child = std::process::Command::new(common::bin())
        .args(["list", "--all", "--per-page", "10"])
        .env("CUBEBLOB_CONFIG_DIR", config.path())
        .env("CUBEBLOB_API_URL", &server.url)
        .env_remove("CUBEBLOB_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
