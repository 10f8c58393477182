//! `rm` by filter (shown, asked, or `--yes`; refused without a terminal), `rm -` from
//! stdin, `-j`, the count at the end, and the clean-up of records that unfinished
//! uploads leave behind (created, never completed).

mod cli_support;
mod common;

use cli_support::{lines, on_terminal, set_record, Api};
use common::{cubeblob, logged_in, TestServer, ALICE};

/// Two days ago, and now-ish: records of known ages.
fn days_ago(n: i64) -> i64 {
    chrono::Utc::now().timestamp() - n * 86_400
}

fn remaining(api: &Api, ids: &[u64]) -> Vec<u64> {
    ids.iter()
        .copied()
        .filter(|&id| api.get(id).is_ok())
        .collect()
}

#[test]
fn rm_by_filter_needs_yes_without_a_terminal_and_cleans_up_unfinished_uploads() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let done = api.blob("done.txt", b"kept", false);
    // What killed uploads leave: records created and never completed, two of them old.
    let old1 = api.incomplete_blob("old-1.bin");
    let old2 = api.incomplete_blob("old-2.bin");
    let fresh = api.incomplete_blob("fresh.bin");
    for b in [&old1, &old2] {
        set_record(&server, b.id, days_ago(2), "text/plain");
    }
    let all = [done.id, old1.id, old2.id, fresh.id];

    // Piped stdin and no --yes: refused before any delete, exit 6.
    cubeblob(config.path(), &server.url)
        .args(["rm", "--incomplete", "--before", "1d"])
        .write_stdin("y\n")
        .assert()
        .code(6)
        .stderr(predicates::str::contains("hint: add `--yes`"));
    assert_eq!(remaining(&api, &all), all, "nothing deleted");

    // --dry-run never needs --yes, and deletes nothing.
    let out = cubeblob(config.path(), &server.url)
        .args(["rm", "--dry-run", "--incomplete", "--before", "1d"])
        .assert()
        .success()
        .get_output()
        .clone();
    let shown: Vec<String> = lines(&out.stdout)
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(shown, [old1.id.to_string(), old2.id.to_string()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("would delete 2 blobs"));
    assert_eq!(remaining(&api, &all), all, "nothing deleted");

    // --yes: exactly the old unfinished records go, with a count at the end.
    let out = cubeblob(config.path(), &server.url)
        .args(["rm", "--incomplete", "--before", "1d", "--yes", "-j", "8"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        lines(&out.stdout),
        [old1.id.to_string(), old2.id.to_string()]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Deleted 2 blobs"));
    assert_eq!(remaining(&api, &all), [done.id, fresh.id]);

    // No match: nothing deleted, exit 0, even without --yes on a terminal-less stdin.
    cubeblob(config.path(), &server.url)
        .args(["rm", "--incomplete", "--before", "1d", "--yes"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicates::str::contains("nothing was deleted"));
    assert_eq!(remaining(&api, &all), [done.id, fresh.id]);

    // Ids and filters together, or neither: refused.
    cubeblob(config.path(), &server.url)
        .args(["rm", "--incomplete", "--yes", &fresh.id.to_string()])
        .assert()
        .code(6);
    cubeblob(config.path(), &server.url)
        .args(["rm"])
        .assert()
        .code(6);
    assert_eq!(remaining(&api, &all), [done.id, fresh.id]);
}

#[test]
fn rm_dash_reads_ids_and_uids_from_stdin() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let blobs: Vec<_> = (0..6)
        .map(|i| api.blob(&format!("b{i}.txt"), b"x", false))
        .collect();
    let ids: Vec<u64> = blobs.iter().map(|b| b.id).collect();
    // `list --json | jq -r .id | cubeblob rm -`, with a uid and blank lines mixed in.
    let input = format!(
        "{}\n\n{}\n  {}  \n{}\n",
        blobs[0].id, blobs[1].uid, blobs[2].id, blobs[3].id
    );
    let out = cubeblob(config.path(), &server.url)
        .args(["rm", "-", "-j", "3"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        lines(&out.stdout),
        ids[..4].iter().map(u64::to_string).collect::<Vec<_>>()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Deleted 4 blobs"));
    assert_eq!(remaining(&api, &ids), ids[4..]);

    // A bad line stops everything before any request.
    cubeblob(config.path(), &server.url)
        .args(["rm", "-"])
        .write_stdin(format!("{}\nnot-an-id\n", blobs[4].id))
        .assert()
        .code(6);
    cubeblob(config.path(), &server.url)
        .args(["rm", "-"])
        .write_stdin("\n")
        .assert()
        .code(6);
    assert_eq!(remaining(&api, &ids), ids[4..]);
}

#[test]
fn rm_by_filter_on_a_terminal_shows_the_blobs_and_asks() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let keep = api.blob("keep.txt", b"kept", false);
    let tmp1 = api.blob("a.tmp", b"123", false);
    let tmp2 = api.blob("b.tmp", b"45", false);
    let all = [keep.id, tmp1.id, tmp2.id];

    let (code, shown) = on_terminal(
        config.path(),
        &server.url,
        120,
        &["rm", "--name", "*.tmp"],
        "n\n",
    );
    assert_eq!(code, 6, "{shown}");
    assert!(
        shown.contains("a.tmp") && shown.contains("b.tmp"),
        "{shown}"
    );
    assert!(!shown.contains("keep.txt"), "{shown}");
    assert!(
        shown.contains("delete these 2 blobs (5 B)? [y/N]"),
        "{shown}"
    );
    assert!(
        shown.contains("not confirmed; nothing was deleted"),
        "{shown}"
    );
    assert_eq!(remaining(&api, &all), all);

    let (code, shown) = on_terminal(
        config.path(),
        &server.url,
        120,
        &["rm", "--name", "*.tmp"],
        "y\n",
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Deleted 2 blobs"), "{shown}");
    assert_eq!(remaining(&api, &all), [keep.id]);
}
