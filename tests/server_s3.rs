//! `cubeblob serve` over real HTTP: the S3 side. Every way an upload form fails,
//! the size limit, presigned GETs with ranges, concurrency, cut connections and
//! persistence across a restart.

mod common;
#[path = "server_support/mod.rs"]
mod helpers;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// A logged-in client with one fresh blob record and its form.
struct Fixture {
    server: TestServer,
    http: reqwest::Client,
    token: String,
    id: u64,
    upload_url: String,
    fields: Vec<(String, String)>,
}

async fn fixture(extra: &[&str]) -> Fixture {
    let server = TestServer::start_with(extra);
    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let blob = create_typed(&http, &server.url, &token, "cat.jpeg", "image/jpeg", false).await;
    let (upload_url, fields) = form_of(&blob);
    Fixture {
        id: blob["id"].as_u64().unwrap(),
        server,
        http,
        token,
        upload_url,
        fields,
    }
}

impl Fixture {
    /// Whether the blob has an object: complete answers 200 only if it has.
    async fn has_object(&self) -> bool {
        let response = self
            .http
            .put(format!("{}/blobs/{}/complete", self.server.url, self.id))
            .header("CB-Token", &self.token)
            .json(&json!({"blob": {"size": 1}}))
            .send()
            .await
            .unwrap();
        response.status() == StatusCode::OK
    }

    /// Files in `objects/` and `tmp/` of the data folder.
    fn files(&self) -> usize {
        ["objects", "tmp"]
            .iter()
            .map(|d| std::fs::read_dir(self.server.data.join(d)).unwrap().count())
            .sum()
    }
}

/// A changed form and what S3 must answer to it.
struct Case<'a> {
    fields: Vec<(String, String)>,
    /// Fields sent after the file.
    after: Vec<(&'a str, &'a str)>,
    status: StatusCode,
    code: &'static str,
    /// The exact message, when it matters.
    message: String,
}

#[tokio::test]
async fn tampered_forms_are_refused() {
    let f = fixture(&[]).await;
    let policy_failed = |condition: &str| {
        format!("Invalid according to Policy: Policy Condition failed: {condition}")
    };
    let mut cases: Vec<Case> = Vec::new();

    let mut bad_signature = f.fields.clone();
    let signature = bad_signature.last().unwrap().1.clone();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    bad_signature.last_mut().unwrap().1 = format!("{flipped}{}", &signature[1..]);
    cases.push(Case {
        fields: bad_signature,
        after: vec![],
        status: StatusCode::FORBIDDEN,
        code: "SignatureDoesNotMatch",
        message: String::new(),
    });

    let mut changed_type = f.fields.clone();
    set_field(&mut changed_type, "Content-Type", "text/html");
    cases.push(Case {
        fields: changed_type,
        after: vec![],
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message: policy_failed(r#"["eq", "$Content-Type", "image/jpeg"]"#),
    });

    let mut changed_acl = f.fields.clone();
    set_field(&mut changed_acl, "acl", "public-read");
    cases.push(Case {
        fields: changed_acl,
        after: vec![],
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message: policy_failed(r#"["eq", "$acl", "authenticated-read"]"#),
    });

    let mut extra = f.fields.clone();
    extra.insert(3, ("name".to_string(), "cat.jpeg".to_string()));
    cases.push(Case {
        fields: extra,
        after: vec![],
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message: "Invalid according to Policy: Extra input fields: name".to_string(),
    });

    let mut no_policy = f.fields.clone();
    no_policy.retain(|(k, _)| k != "policy");
    cases.push(Case {
        fields: no_policy,
        after: vec![],
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message: String::new(),
    });

    // The signature after the file: the fields before the file are all that count,
    // and they are unsigned. (Unsigned fields after the file are ignored, as S3 does:
    // see `fields_after_the_file_are_ignored`.)
    let mut before = f.fields.clone();
    let (last_name, last_value) = before.pop().unwrap();
    let after = vec![(last_name.as_str(), last_value.as_str())];
    cases.push(Case {
        fields: before,
        after,
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message: String::new(),
    });

    for Case {
        fields,
        after,
        status,
        code,
        message,
    } in cases
    {
        let response = post_form(
            &f.http,
            &f.upload_url,
            &fields,
            b"\xff\xd8\xff fake jpeg",
            &after,
        )
        .await;
        let (got_status, got_code, got_message) = s3_error(response).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{got_message}"
        );
        if !message.is_empty() {
            assert_eq!(got_message, message);
        }
        if !after.is_empty() && code == "InvalidArgument" {
            assert!(got_message.contains("after"), "{got_message}");
        }
    }

    // A form without a file.
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in &f.fields {
        form = form.text(k.clone(), v.clone());
    }
    let response = f
        .http
        .post(&f.upload_url)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, code, _) = s3_error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "InvalidArgument")
    );

    // Not a form at all.
    let response = f
        .http
        .post(&f.upload_url)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(s3_error(response).await.0, StatusCode::BAD_REQUEST);

    // Nothing was stored by any of them, and nothing was left behind.
    assert!(!f.has_object().await);
    assert_eq!(f.files(), 0);

    // The untouched form still works (with the JS SDK's stray CB-Token header).
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in &f.fields {
        form = form.text(k.clone(), v.clone());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(b"real".to_vec()).file_name("c.jpeg"),
    );
    let response = f
        .http
        .post(&f.upload_url)
        .header("CB-Token", &f.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(f.has_object().await);
}

#[tokio::test]
async fn expired_forms_are_refused() {
    let f = fixture(&["--form-ttl", "1"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let response = post_form(&f.http, &f.upload_url, &f.fields, b"too late", &[]).await;
    let (status, code, message) = s3_error(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy expired."
        )
    );
    assert!(!f.has_object().await);
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused() {
    let f = fixture(&["--max-size", "1000"]).await;
    for len in [1001usize, 300_000] {
        let response = post_form(&f.http, &f.upload_url, &f.fields, &content(5, len), &[]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let xml = response.text().await.unwrap();
        assert_eq!(element(&xml, "Code"), "EntityTooLarge");
        assert_eq!(element(&xml, "ProposedSize"), len.to_string());
        assert_eq!(element(&xml, "MaxSizeAllowed"), "1000");
        assert!(!f.has_object().await);
        assert_eq!(f.files(), 0, "no partial file");
    }
    let response = post_form(&f.http, &f.upload_url, &f.fields, &content(5, 1000), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(f.has_object().await);
}

/// Past 256 KiB the server streams the object in chunks read ahead (below it, it
/// reads it whole at its open): the bytes, ranges across chunk edges and HEAD alike.
#[tokio::test]
async fn a_large_object_streams_whole_and_in_ranges() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let len = 1_000_003;
    let data = content(7, len);
    let blob = upload(&http, url, &token, "big.bin", &data, false).await;
    let uid = blob["uid"].as_str().unwrap();
    let signed =
        redirect_location(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;

    let whole = http.get(&signed).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-length"], len.to_string().as_str());
    assert_eq!(whole.bytes().await.unwrap().as_ref(), data.as_slice());
    for (start, end) in [(0, 262_143), (262_000, 524_400), (999_999, len - 1)] {
        let part = http
            .get(&signed)
            .header("Range", format!("bytes={start}-{end}"))
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {start}-{end}/{len}").as_str()
        );
        assert_eq!(part.bytes().await.unwrap().as_ref(), &data[start..=end]);
    }
    let head = http.head(&signed).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], len.to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn presigned_gets_serve_ranges_and_refuse_tampering() {
    let server = TestServer::start();
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let data = content(6, 10_000);
    let blob = upload(&http, url, &token, "r.bin", &data, false).await;
    let uid = blob["uid"].as_str().unwrap();
    let signed =
        redirect_location(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;

    let whole = http.get(&signed).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["etag"], format!("\"{}\"", md5_hex(&data)).as_str());
    assert_eq!(headers["content-length"], "10000");
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), data.as_slice());

    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=9990-", 9990, 9999),
        ("bytes=-10", 9990, 9999),
        ("bytes=500-99999", 500, 9999),
    ] {
        let part = http
            .get(&signed)
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {start}-{end}/10000").as_str()
        );
        assert_eq!(
            part.headers()["content-length"],
            (end - start + 1).to_string().as_str()
        );
        assert_eq!(
            part.bytes().await.unwrap().as_ref(),
            &data[start..=end],
            "{range}"
        );
    }
    let beyond = http
        .get(&signed)
        .header("Range", "bytes=10000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], "bytes */10000");

    let head = http.head(&signed).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "10000");
    assert!(head.bytes().await.unwrap().is_empty());

    let signature_at = signed.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &signed[signature_at..signature_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    let tampered = [
        format!(
            "{}{flipped}{}",
            &signed[..signature_at],
            &signed[signature_at + 1..]
        ),
        signed.replace("X-Amz-Expires=604800", "X-Amz-Expires=604799"),
        signed.replace("X-Amz-Date=", "X-Amz-Date=1"),
        signed.replace(
            uid,
            &uid.replace(&uid[..1], if uid.starts_with('a') { "b" } else { "a" }),
        ),
        format!("{signed}&response-content-type=text%2Fhtml"),
        signed[..signed.find('?').unwrap()].to_string(),
        signed[..signature_at - "&X-Amz-Signature=".len()].to_string(),
    ];
    for url in tampered {
        let response = http.get(&url).send().await.unwrap();
        let (status, code, message) = s3_error(response).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST,
            "{url}: {status} {code} {message}"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_uploads_are_byte_exact() {
    let server = TestServer::start();
    let http = http();
    let url = server.url.clone();
    let token = login(&http, &url, ALICE).await;
    let mut tasks = Vec::new();
    for i in 0..50u8 {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let data = content(i, 20_000 + i as usize * 1_000);
            let blob = upload(&http, &url, &token, &format!("f{i}.bin"), &data, i % 2 == 0).await;
            (blob, data)
        }));
    }
    let mut uploaded = Vec::new();
    for task in tasks {
        uploaded.push(task.await.unwrap());
    }
    for (blob, data) in &uploaded {
        assert_eq!(blob["size"], data.len());
        let uid = blob["uid"].as_str().unwrap();
        let got = download(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;
        assert!(got == *data, "{uid} differs");
    }
    let (_, list) = json_of(
        http.get(format!("{url}/blobs?per_page=100"))
            .header("CB-Token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total_entries"], 50);
    assert_eq!(
        std::fs::read_dir(server.data.join("tmp")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn a_cut_upload_leaves_no_object() {
    let f = fixture(&[]).await;
    let boundary = "cubeblobcutboundary";
    let mut body = Vec::new();
    for (k, v) in &f.fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.jpeg\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&content(7, 100_000));
    let address = f.upload_url.trim_start_matches("http://");
    let (host, path) = address.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    // The headers promise a megabyte more than is ever sent.
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + 1_000_000
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    drop(stream);

    // The server notices, and drops the half-written file.
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = f.files();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "a partial file was left in the data folder");
    assert!(!f.has_object().await);
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = TestServer::start_in(&data_dir, &[]);
    let http = http();
    let token = login(&http, &server.url, ALICE).await;
    let data = content(8, 12_345);
    let blob = upload(&http, &server.url, &token, "keep.bin", &data, false).await;
    let public = upload(&http, &server.url, &token, "pub.bin", b"public bytes", true).await;
    server.stop();

    let server = TestServer::start_in(&data_dir, &[]);
    let url = &server.url;
    // The token, the records and the files are all still there.
    let (status, list) = json_of(
        http.get(format!("{url}/blobs"))
            .header("CB-Token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total_entries"], 2);
    let uid = blob["uid"].as_str().unwrap();
    assert_eq!(
        download(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await,
        data
    );
    let puid = public["uid"].as_str().unwrap();
    assert_eq!(
        download(&http, &format!("{url}/blobs/{puid}")).await,
        b"public bytes"
    );
    // Ids keep counting up.
    let next = create(&http, url, &token, "next.bin", false).await;
    assert!(next["id"].as_u64().unwrap() > public["id"].as_u64().unwrap());
}

#[tokio::test]
async fn s3_on_its_own_listener() {
    let server = TestServer::start_with(&["--s3-listen", "127.0.0.1:0"]);
    let http = http();
    let url = &server.url;
    let token = login(&http, url, ALICE).await;
    let blob = upload(&http, url, &token, "s.bin", b"separate", false).await;
    let uid = blob["uid"].as_str().unwrap();
    let location =
        redirect_location(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;
    let s3_base = location[..location.find("/cubeblob-local/").unwrap()].to_string();
    assert_ne!(&s3_base, url);
    assert_eq!(
        http.get(&location)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"separate"
    );

    // Each listener serves only its own side, in its own error dialect.
    let (status, body) = json_of(
        http.get(format!("{url}/cubeblob-local/{uid}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["errors"].is_object());
    let (status, code, _) =
        s3_error(http.get(format!("{s3_base}/blobs")).send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "NoSuchBucket")
    );
}

#[tokio::test]
async fn a_client_reaching_us_by_another_name_gets_working_urls() {
    // The URLs name the bound address (or `--public-url`), not the `Host` the client
    // used; they work from here all the same.
    let server = TestServer::start();
    let url = server.url.replace("127.0.0.1", "localhost");
    let http = http();
    let token = login(&http, &url, ALICE).await;
    let blob = create(&http, &url, &token, "host.bin", false).await;
    let (upload_url, _) = form_of(&blob);
    assert!(upload_url.starts_with(&server.url), "{upload_url}");
    let blob = upload(&http, &url, &token, "host.bin", b"by name", false).await;
    let uid = blob["uid"].as_str().unwrap();
    let got = download(&http, &format!("{url}/blobs/{uid}/download?token={token}")).await;
    assert_eq!(got, b"by name");
}
