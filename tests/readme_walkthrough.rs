//! The README's curl walk-through, run as written against a real local server:
//! if the README or the server drifts, this fails.

mod common;

use std::process::Command;

use common::TestServer;

#[test]
fn the_readme_curl_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("walkthrough end marker");
    let script: String = readme[start..end]
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        script.contains("curl"),
        "the walk-through lost its commands"
    );

    let server = TestServer::start();
    // The README's server listens on the fixed port 8080; ours on a free one.
    let script = script.replace("http://127.0.0.1:8080", &server.url);
    let dir = tempfile::TempDir::new().unwrap();
    let output = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk-through failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("<PostResponse>"),
        "no PostResponse: {stdout}"
    );
    assert!(
        stdout.contains("X-Amz-Signature="),
        "no presigned redirect URL: {stdout}"
    );
    assert!(stdout.trim_end().ends_with("round trip ok"), "{stdout}");
    assert_eq!(
        std::fs::read(dir.path().join("hello-copy.txt")).unwrap(),
        b"hello, blob\n"
    );
}
