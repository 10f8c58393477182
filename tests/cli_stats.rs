//! `cubeblob stats [filters]`: totals by type, month, state and access, checked
//! against the local server's own numbers (its database), as JSON, TSV and a table.

mod cli_support;
mod common;

use std::collections::BTreeMap;

use cli_support::{lines, on_terminal, set_record, Api};
use common::{cubeblob, logged_in, TestServer, ALICE, BOB};
use cubeblob::commands::stats::{Stats, Tally};

/// 2026-01-15T00:00:00Z, and a month later.
const JAN: i64 = 1_768_435_200;
const FEB: i64 = JAN + 31 * 86_400;

/// What the server's database says: count and bytes grouped by `group` (SQL).
fn server_numbers(server: &TestServer, group: &str) -> BTreeMap<String, Tally> {
    let db = rusqlite::Connection::open(server.data.join("cubeblob.db")).unwrap();
    let sql = format!(
        "SELECT {group}, COUNT(*), COALESCE(SUM(size), 0) FROM blobs \
         WHERE owner_id = (SELECT id FROM users WHERE login = 'alice') GROUP BY 1"
    );
    let mut stmt = db.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Tally {
                    count: r.get::<_, i64>(1)? as u64,
                    bytes: r.get::<_, i64>(2)? as u64,
                },
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn stats_match_the_servers_own_numbers() {
    let server = TestServer::start();
    let config = logged_in(&server, ALICE);
    let api = Api::login(&server, ALICE);
    let made = [
        ("a.png", Some(100), true, "image/png", JAN),
        ("b.png", Some(250), false, "image/png", FEB),
        ("c.txt", Some(7), false, "text/plain", FEB),
        ("d.jpg", Some(1000), true, "image/jpeg", JAN),
        ("e.bin", None, false, "application/octet-stream", FEB),
    ];
    for (name, size, public, ty, at) in made {
        let blob = match size {
            Some(n) => api.blob(name, &vec![b'x'; n], public),
            None => api.incomplete_blob(name),
        };
        set_record(&server, blob.id, at, ty);
    }
    // Another user's blobs count for nobody else.
    Api::login(&server, BOB).blob("bob.txt", b"bob's", false);

    let out = cubeblob(config.path(), &server.url)
        .args(["--json", "stats"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stats: Stats = serde_json::from_slice(&out.stdout).unwrap();
    let whole = server_numbers(&server, "'all'")["all"];
    assert_eq!(stats.total, whole);
    assert_eq!(
        stats.total,
        Tally {
            count: 5,
            bytes: 1357
        }
    );
    assert_eq!(stats.by_type, server_numbers(&server, "content_type"));
    assert_eq!(
        stats.by_month,
        server_numbers(&server, "strftime('%Y-%m', created_at, 'unixepoch')")
    );
    let state = server_numbers(
        &server,
        "CASE WHEN completed_at IS NULL THEN 'no' ELSE 'yes' END",
    );
    assert_eq!(
        (stats.complete, stats.incomplete),
        (state["yes"], state["no"])
    );
    let access = server_numbers(&server, "CASE public WHEN 1 THEN 'yes' ELSE 'no' END");
    assert_eq!((stats.public, stats.private), (access["yes"], access["no"]));

    // Filters narrow every number; piped, TSV lines.
    let out = cubeblob(config.path(), &server.url)
        .args(["stats", "--type", "image/*", "--since", "2026-02-01"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        lines(&out.stdout),
        [
            "total\t\t1\t250",
            "type\timage/png\t1\t250",
            "month\t2026-02\t1\t250",
            "status\tcomplete\t1\t250",
            "status\tincomplete\t0\t0",
            "access\tpublic\t0\t0",
            "access\tprivate\t1\t250",
        ]
    );

    // On a terminal, a table with human sizes.
    let (code, shown) = on_terminal(config.path(), &server.url, 80, &["stats"], "");
    assert_eq!(code, 0, "{shown}");
    for word in [
        "total",
        "image/jpeg",
        "2026-01",
        "incomplete",
        "private",
        "1000 B",
    ] {
        assert!(shown.contains(word), "{word} in\n{shown}");
    }
}
