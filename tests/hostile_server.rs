//! The client against a hostile or broken server (the fake of `transfer_fake`, its
//! `hostile` side): answers that never end, downloads longer than the blob, pages that
//! repeat, redirects to `file://`, a `.part` that is a symlink or is corrupt, two
//! downloads racing for one target. Nothing grows without bound, nothing is retried
//! that cannot succeed, no wrong file is left with exit 0.

mod common;
mod transfer_fake;

use std::path::Path;
use std::sync::atomic::Ordering;

use common::cubeblob;
use tempfile::TempDir;
use transfer_fake::hostile::{ENDLESS, HUGE_404_ID, HUGE_ID};
use transfer_fake::FakeCube;

const TOKEN: &str = "fake-token-0123456789";

fn cmd(fake: &FakeCube, config: &Path) -> assert_cmd::Command {
    let mut cmd = cubeblob(config, &fake.api_url);
    cmd.env("CUBEBLOB_TOKEN", TOKEN);
    cmd
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
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
