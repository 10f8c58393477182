//! The filter set (`--name`, `--type`, `--since`/`--before`, `--larger-than`/
//! `--smaller-than`, `--public`/`--private`, `--incomplete`/`--complete`) and `list
//! --sort/--reverse/--limit`, against blobs made at known times (the records' times are
//! set in the local server's database: `cli_support::set_record`).

mod cli_support;
mod common;

use cli_support::{json_lines, set_record, Api};
use common::{cubeblob, logged_in, TestServer, ALICE};
use cubeblob::output::BlobRecord;

/// 2026-01-01T00:00:00Z.
const JAN: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

struct Fixture {
    server: TestServer,
    config: tempfile::TempDir,
    /// Ids by name.
    ids: Vec<(&'static str, u64)>,
}

impl Fixture {
    /// name, size (None: never completed), public, content type, days after JAN.
    fn new() -> Fixture {
        let server = TestServer::start();
        let config = logged_in(&server, ALICE);
        let api = Api::login(&server, ALICE);
        let made: [(&str, Option<usize>, bool, &str, i64); 7] = [
            ("a.png", Some(10), false, "image/png", 0),
            ("docs/b.png", Some(2000), true, "image/png", 10),
            ("docs/deep/c.txt", Some(1000), false, "text/plain", 20),
            ("C.PNG", Some(1024), false, "image/png", 31),
            ("notes.txt", Some(1), true, "text/plain", 40),
            ("half.bin", None, false, "application/octet-stream", 5),
            ("zero.txt", Some(0), false, "text/plain", 50),
        ];
        let mut ids = Vec::new();
        for (name, size, public, ty, day) in made {
            let blob = match size {
                Some(n) => api.blob(name, &vec![b'x'; n], public),
                None => api.incomplete_blob(name),
            };
            set_record(&server, blob.id, JAN + day * DAY, ty);
            ids.push((name, blob.id));
        }
        Fixture {
            server,
            config,
            ids,
        }
    }

    /// The names `list --json ARGS` prints, in its order.
    fn names(&self, args: &[&str]) -> Vec<String> {
        let out = cubeblob(self.config.path(), &self.server.url)
            .args(["--json", "list"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        let records: Vec<BlobRecord> = json_lines(&out.stdout);
        records.into_iter().map(|r| r.name).collect()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn each_filter_and_their_combinations_select_exactly() {
    let f = Fixture::new();
    let s = |args: &[&str]| sorted(f.names(args));
    let v = |names: &[&str]| sorted(names.iter().map(|n| n.to_string()).collect());

    // Globs: case-sensitive, `*` stays in a folder, `**` crosses, repeats mean any.
    assert_eq!(s(&["--name", "*.png"]), v(&["a.png"]));
    assert_eq!(s(&["--name", "**/*.png"]), v(&["a.png", "docs/b.png"]));
    assert_eq!(
        s(&["--name", "*.PNG", "--name", "docs/**"]),
        v(&["C.PNG", "docs/b.png", "docs/deep/c.txt"])
    );
    // Types.
    assert_eq!(
        s(&["--type", "image/*"]),
        v(&["C.PNG", "a.png", "docs/b.png"])
    );
    assert_eq!(
        s(&["--type", "application/*", "--type", "text/plain"]),
        v(&["docs/deep/c.txt", "half.bin", "notes.txt", "zero.txt"])
    );
    // Times: --since inclusive, --before exclusive, on created_at.
    assert_eq!(
        s(&["--since", "2026-01-11T00:00:00Z", "--before", "2026-02-01"]),
        v(&["docs/b.png", "docs/deep/c.txt"])
    );
    // half.bin was made at exactly 2026-01-06T00:00:00Z.
    assert_eq!(s(&["--before", "2026-01-06T00:00:00Z"]), v(&["a.png"]));
    assert_eq!(
        s(&["--before", "2026-01-06T00:00:01Z"]),
        v(&["a.png", "half.bin"])
    );
    assert_eq!(
        s(&[
            "--since",
            "2026-01-06T00:00:00Z",
            "--before",
            "2026-01-11T00:00:01Z"
        ]),
        v(&["docs/b.png", "half.bin"])
    );
    // A duration counts back from now: every fixture blob is older than a day.
    assert_eq!(s(&["--since", "1d"]), Vec::<String>::new());
    assert_eq!(s(&["--before", "1d"]).len(), 7);
    // Sizes: strict bounds, K = 1000 and KiB = 1024, no size matches neither.
    assert_eq!(s(&["--larger-than", "1K"]), v(&["C.PNG", "docs/b.png"]));
    assert_eq!(s(&["--larger-than", "1KiB"]), v(&["docs/b.png"]));
    assert_eq!(s(&["--smaller-than", "10"]), v(&["notes.txt", "zero.txt"]));
    assert_eq!(
        s(&["--larger-than", "0", "--smaller-than", "1.5KiB"]),
        v(&["C.PNG", "a.png", "docs/deep/c.txt", "notes.txt"])
    );
    // Flags.
    assert_eq!(s(&["--public"]), v(&["docs/b.png", "notes.txt"]));
    assert_eq!(s(&["--private"]).len(), 5);
    assert_eq!(s(&["--incomplete"]), v(&["half.bin"]));
    assert_eq!(s(&["--complete"]).len(), 6);
    // Combined: every filter must hold.
    assert_eq!(
        s(&["--type", "image/*", "--private", "--since", "2026-01-15"]),
        v(&["C.PNG"])
    );
    assert_eq!(s(&["--public", "--incomplete"]), Vec::<String>::new());

    // Bad values: exit 6 with the flag and value named; --public with --private: usage.
    cubeblob(f.config.path(), &f.server.url)
        .args(["list", "--larger-than", "ten"])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("--larger-than `ten`"));
    cubeblob(f.config.path(), &f.server.url)
        .args(["list", "--since", "yesterday"])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("--since `yesterday`"));
    cubeblob(f.config.path(), &f.server.url)
        .args(["list", "--public", "--private"])
        .assert()
        .code(2);
}

#[test]
fn sort_reverse_and_limit_order_every_match() {
    let f = Fixture::new();
    let n = |args: &[&str]| f.names(args);
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    // A filter implies every page, even at one blob a page.
    assert_eq!(
        n(&["--per-page", "1", "--public"]),
        owned(&["docs/b.png", "notes.txt"])
    );
    // Byte order: upper case first.
    assert_eq!(
        n(&["--sort", "name"]),
        owned(&[
            "C.PNG",
            "a.png",
            "docs/b.png",
            "docs/deep/c.txt",
            "half.bin",
            "notes.txt",
            "zero.txt"
        ])
    );
    // Size ascending; the blob with no size comes first.
    assert_eq!(
        n(&["--sort", "size"]),
        owned(&[
            "half.bin",
            "zero.txt",
            "notes.txt",
            "a.png",
            "docs/deep/c.txt",
            "C.PNG",
            "docs/b.png"
        ])
    );
    assert_eq!(
        n(&["--sort", "created", "--reverse", "--limit", "3"]),
        owned(&["zero.txt", "notes.txt", "C.PNG"])
    );
    assert_eq!(
        n(&["--sort", "updated", "--type", "text/*", "--per-page", "2"]),
        owned(&["docs/deep/c.txt", "notes.txt", "zero.txt"])
    );
    // --limit alone keeps the server's order (ids ascending) and stops there.
    assert_eq!(
        n(&["--limit", "2", "--per-page", "1"]),
        owned(&["a.png", "docs/b.png"])
    );
    assert_eq!(n(&["--limit", "0"]), Vec::<String>::new());
    // --reverse needs --sort; --page with a filter is refused.
    cubeblob(f.config.path(), &f.server.url)
        .args(["list", "--reverse"])
        .assert()
        .code(2);
    cubeblob(f.config.path(), &f.server.url)
        .args(["list", "--page", "2", "--public"])
        .assert()
        .code(6);
    let _ = &f.ids;
}
