//! `cubeblob serve --seed-blobs N:LOGIN[:TEMPLATE]`, the hidden test aid that puts
//! many blob records straight into the database at start (the benchmarks list 100,000
//! of them): the records list, filter, count and delete like uploaded ones, belong to
//! their user only, and come before anything uploaded later.

mod cli_support;
mod common;

use cli_support::{json_lines, Api};
use common::{bin, cubeblob, logged_in, TestServer, ALICE, BOB};
use cubeblob::output::BlobRecord;

const SEEDED: usize = 3000;

fn list(config: &std::path::Path, url: &str, args: &[&str]) -> Vec<BlobRecord> {
    let out = cubeblob(config, url)
        .args(["--json", "list", "--all"])
        .args(args)
        .assert()
        .success()
        .get_output()
        .clone();
    json_lines(&out.stdout)
}

#[test]
fn seeded_records_list_filter_and_delete_like_uploaded_ones() {
    let seed_alice = format!("{SEEDED}:alice");
    let server = TestServer::start_with(&[
        "--seed-blobs",
        &seed_alice,
        "--seed-blobs",
        "12:bob:docs/{n}-report.{ext}",
    ]);
    let alice = logged_in(&server, ALICE);
    let bob = logged_in(&server, BOB);
    // Uploaded after the seeding: its id comes after every seeded one.
    let uploaded = Api::login(&server, ALICE).blob("real.png", b"real bytes", false);

    let all = list(alice.path(), &server.url, &[]);
    assert_eq!(all.len(), SEEDED + 1);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    assert_eq!(all.last().unwrap().id, uploaded.id);
    let first = &all[0];
    assert_eq!(first.name, "seed-0001.png");
    assert_eq!(first.content_type.as_deref(), Some("image/png"));
    assert_eq!(first.status.as_deref(), Some("complete"));
    assert!(first.size.is_some_and(|s| s >= 1024));
    assert_eq!(all[1].name, "seed-0002.txt");
    assert_eq!(all[SEEDED - 1].name, format!("seed-{SEEDED}.bin"));
    let uids: std::collections::HashSet<&str> = all.iter().map(|b| b.uid.as_str()).collect();
    assert_eq!(uids.len(), all.len(), "every uid is unique");
    // Creation times never go down with the ids.
    let created: Vec<&str> = all
        .iter()
        .map(|b| b.created_at.as_deref().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");

    // One in ten is a `.png`, and the filters see them as records like any other.
    let pngs = list(alice.path(), &server.url, &["--name", "*.png"]);
    assert_eq!(pngs.len(), SEEDED / 10 + 1);
    assert!(pngs.iter().all(|b| b.name.ends_with(".png")));
    let images = list(alice.path(), &server.url, &["--type", "image/*"]);
    assert_eq!(images.len(), 2 * SEEDED / 10, "the seeded png and jpg");
    assert!(images
        .iter()
        .all(|b| b.name.ends_with(".png") || b.name.ends_with(".jpg")));
    let public = list(alice.path(), &server.url, &["--public"]);
    assert_eq!(public.len(), SEEDED / 7);

    // Bob's records follow his template and are his alone.
    let bobs = list(bob.path(), &server.url, &[]);
    let names: Vec<&str> = bobs.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names.len(), 12);
    assert_eq!(names[0], "docs/01-report.png");
    assert_eq!(names[11], "docs/12-report.txt");
    assert!(bobs.iter().all(|b| !uids.contains(b.uid.as_str())));

    // No content: a download is refused as not found; a delete works.
    let id = first.id.to_string();
    let dir = tempfile::TempDir::new().unwrap();
    cubeblob(alice.path(), &server.url)
        .args(["download", &id, "-o"])
        .arg(dir.path().join("x.png"))
        .assert()
        .failure();
    cubeblob(alice.path(), &server.url)
        .args(["rm", &id])
        .assert()
        .success();
    assert_eq!(list(alice.path(), &server.url, &[]).len(), SEEDED);
}

#[test]
fn seeding_for_an_unknown_user_or_a_bad_value_refuses_to_start() {
    let dir = tempfile::TempDir::new().unwrap();
    let serve = |seed: &str| {
        assert_cmd::Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .args(["--user", "alice:alice-password", "--seed-blobs", seed])
            .env_remove("CUBEBLOB_DATABASE_URL")
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(6)
            .get_output()
            .clone()
    };
    let out = serve("10:carol");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`carol`") && stderr.contains("--user"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no start line for a server that did not start"
    );
    for bad in ["ten:alice", "10", "10:alice:same-name.png"] {
        let out = serve(bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--seed-blobs"), "{bad}: {stderr}");
    }
}
