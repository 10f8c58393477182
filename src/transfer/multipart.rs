//! A `multipart/form-data` body for the S3 POST whose length is known before a byte is
//! sent: the form fields, then the file part last, streamed from disk in bounded chunks
//! with its MD5 computed on the way, or, for a copy, from the pipe that the source
//! blob's download fills. Each try builds a fresh body from the file (or a fresh
//! download), so a retry never needs the bytes kept in memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use md5::{Digest, Md5};
use tokio::task::JoinHandle;

use super::events::FileEvents;
use super::pipe::{Piece, PipeReader};

/// How much of the file is read, hashed and handed to the connection at once. Large
/// enough that the per-chunk hop to a blocking thread costs nothing next to the copy,
/// small enough that memory stays flat (hyper holds at most a few chunks).
pub const CHUNK: usize = 256 * 1024;

/// The fixed parts of the body, built once per upload.
#[derive(Debug, Clone)]
pub struct MultipartForm {
    boundary: String,
    /// Every field part, then the file part's headers.
    head: Bytes,
    /// The end of the file part and the closing boundary.
    tail: Bytes,
    file_len: u64,
}

/// What the body learned while it was sent: the MD5 of the file bytes once all went
/// out, or the local error that cut it short (reqwest would only say "body error"), or
/// for a piped body, the failure of the download that fed it.
#[derive(Debug, Default)]
pub struct BodyOutcome {
    pub md5: Option<[u8; 16]>,
    pub error: Option<io::Error>,
    pub source: Option<anyhow::Error>,
}

impl MultipartForm {
    /// The body for `fields` (in order) and then a `file` part of `file_len` bytes.
    pub fn new(
        fields: &[(String, String)],
        filename: &str,
        content_type: &str,
        file_len: u64,
    ) -> MultipartForm {
        let boundary = format!("cubeblob-{}", hex::encode(rand::random::<[u8; 16]>()));
        let mut head = String::new();
        for (name, value) in fields {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quote(name)
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: {}\r\n\r\n",
            quote(filename),
            content_type.replace(['\r', '\n'], " ")
        ));
        let tail = format!("\r\n--{boundary}--\r\n");
        MultipartForm {
            boundary,
            head: Bytes::from(head),
            tail: Bytes::from(tail),
            file_len,
        }
    }

    /// The request's `Content-Type` header.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The exact number of bytes `body` yields.
    pub fn content_length(&self) -> u64 {
        self.head.len() as u64 + self.file_len + self.tail.len() as u64
    }

    /// A fresh body reading `path`, reporting the file bytes to `events` as they go.
    /// The file is opened here so that a missing file is an error now, not mid-request.
    pub fn body(
        &self,
        path: &Path,
        events: Arc<dyn FileEvents>,
    ) -> io::Result<(
        impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        Arc<Mutex<BodyOutcome>>,
    )> {
        let file = File::open(path)?;
        let outcome = Arc::new(Mutex::new(BodyOutcome::default()));
        let state = State::Head {
            form: self.clone(),
            reader: FileReader {
                file,
                path: path.to_path_buf(),
                md5: Md5::new(),
                left: self.file_len,
            },
        };
        let slot = outcome.clone();
        let stream = futures_util::stream::unfold(state, move |state| {
            let slot = slot.clone();
            let events = events.clone();
            async move { next(state, &slot, &*events).await }
        });
        Ok((stream, outcome))
    }
}

impl MultipartForm {
    /// A fresh body whose file part is what comes down `pipe`: exactly the promised
    /// length, and the tail only once the source said the bytes were verified, so
    /// storage never gets a whole form for a copy that went wrong.
    pub fn piped_body(
        &self,
        pipe: PipeReader,
        events: Arc<dyn FileEvents>,
    ) -> (
        impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        Arc<Mutex<BodyOutcome>>,
    ) {
        let outcome = Arc::new(Mutex::new(BodyOutcome::default()));
        let state = Piped::Head {
            form: self.clone(),
            pipe,
        };
        let slot = outcome.clone();
        let stream = futures_util::stream::unfold(state, move |state| {
            let slot = slot.clone();
            let events = events.clone();
            async move { next_piped(state, &slot, &*events).await }
        });
        (stream, outcome)
    }
}

/// Where a piped body stands.
enum Piped {
    Head {
        form: MultipartForm,
        pipe: PipeReader,
    },
    File {
        pipe: PipeReader,
        tail: Bytes,
        /// File bytes still to come.
        left: u64,
    },
    Done,
}

async fn next_piped(
    state: Piped,
    slot: &Mutex<BodyOutcome>,
    events: &dyn FileEvents,
) -> Option<(io::Result<Bytes>, Piped)> {
    let (mut pipe, tail, left) = match state {
        Piped::Head { form, pipe } => {
            let next = Piped::File {
                pipe,
                tail: form.tail,
                left: form.file_len,
            };
            return Some((Ok(form.head), next));
        }
        Piped::File { pipe, tail, left } => (pipe, tail, left),
        Piped::Done => return None,
    };
    let stop = |err: io::Error| {
        let shown = io::Error::new(err.kind(), err.to_string());
        slot.lock().unwrap().error = Some(err);
        Some((Err(shown), Piped::Done))
    };
    match pipe.recv().await {
        Some(Piece::Data(bytes)) if bytes.len() as u64 > left => stop(io::Error::other(
            "the source sent more bytes than its record says it has",
        )),
        Some(Piece::Data(bytes)) => {
            events.advanced(bytes.len() as u64);
            let left = left - bytes.len() as u64;
            Some((Ok(bytes), Piped::File { pipe, tail, left }))
        }
        Some(Piece::End(_)) if left > 0 => stop(io::Error::other(format!(
            "the source ended {left} bytes short of its record's size"
        ))),
        Some(Piece::End(md5)) => {
            let mut raw = [0u8; 16];
            if hex::decode_to_slice(&md5, &mut raw).is_err() {
                return stop(io::Error::other(format!("`{md5}` is not an MD5")));
            }
            slot.lock().unwrap().md5 = Some(raw);
            Some((Ok(tail), Piped::Done))
        }
        Some(Piece::Failed(err)) => {
            slot.lock().unwrap().source = Some(err);
            Some((Err(io::Error::other("the source failed")), Piped::Done))
        }
        None => stop(io::Error::other("the source stopped before its end")),
    }
}

/// Where the body stands.
enum State {
    Head {
        form: MultipartForm,
        reader: FileReader,
    },
    /// `next` is the following chunk, already being read and hashed while the one
    /// before it is on the wire.
    File {
        tail: Bytes,
        next: JoinHandle<io::Result<Chunk>>,
    },
    Done,
}

struct FileReader {
    file: File,
    path: PathBuf,
    md5: Md5,
    /// File bytes still to send.
    left: u64,
}

async fn next(
    state: State,
    slot: &Mutex<BodyOutcome>,
    events: &dyn FileEvents,
) -> Option<(io::Result<Bytes>, State)> {
    match state {
        State::Head { form, reader } => Some((
            Ok(form.head),
            State::File {
                tail: form.tail,
                next: read_ahead(reader),
            },
        )),
        State::File { tail, next } => {
            let step = next.await.unwrap_or_else(|e| Err(io::Error::other(e)));
            match step {
                Ok(Chunk::Data(bytes, reader)) => {
                    events.advanced(bytes.len() as u64);
                    let next = read_ahead(reader);
                    Some((Ok(bytes), State::File { tail, next }))
                }
                Ok(Chunk::End(md5)) => {
                    slot.lock().unwrap().md5 = Some(md5);
                    Some((Ok(tail), State::Done))
                }
                Err(err) => {
                    let shown = io::Error::new(err.kind(), err.to_string());
                    slot.lock().unwrap().error = Some(err);
                    Some((Err(shown), State::Done))
                }
            }
        }
        State::Done => None,
    }
}

/// Reads and hashes the next chunk on the blocking pool: disk reads may stall, and MD5
/// over 256 KiB is long enough to hold up other tasks.
fn read_ahead(reader: FileReader) -> JoinHandle<io::Result<Chunk>> {
    tokio::task::spawn_blocking(move || read_chunk(reader))
}

enum Chunk {
    Data(Bytes, FileReader),
    End([u8; 16]),
}

fn read_chunk(mut reader: FileReader) -> io::Result<Chunk> {
    if reader.left == 0 {
        // The length was promised in the headers: a file that grew since cannot be sent.
        let mut probe = [0u8; 1];
        if reader.file.read(&mut probe)? != 0 {
            return Err(changed(&reader.path, "grew"));
        }
        return Ok(Chunk::End(reader.md5.finalize().into()));
    }
    let want = reader.left.min(CHUNK as u64) as usize;
    let mut buf = BytesMut::zeroed(want);
    let mut filled = 0;
    while filled < want {
        match reader.file.read(&mut buf[filled..]) {
            Ok(0) => return Err(changed(&reader.path, "shrank")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    reader.md5.update(&buf);
    reader.left -= want as u64;
    Ok(Chunk::Data(buf.freeze(), reader))
}

fn changed(path: &Path, how: &str) -> io::Error {
    io::Error::other(format!(
        "`{}` {how} while it was being sent",
        path.display()
    ))
}

/// A name inside a quoted header parameter, escaped the way browsers do it (`"`, CR and
/// LF as `%22`, `%0D`, `%0A`), and other control characters too: they are not allowed
/// in a header, and multipart parsers refuse them. Storage ignores the file name (the
/// blob's name travels in the create call), so nothing is lost.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '"' || c.is_control() {
            let mut utf8 = [0u8; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::events::NoEvents;
    use futures_util::StreamExt;
    use std::io::Write;

    async fn collect(form: &MultipartForm, path: &Path) -> (Vec<u8>, BodyOutcome) {
        let (stream, outcome) = form.body(path, Arc::new(NoEvents)).unwrap();
        let out = drain(stream).await;
        let outcome = std::mem::take(&mut *outcome.lock().unwrap());
        (out, outcome)
    }

    /// The body's bytes up to its end or its first error.
    async fn drain(stream: impl Stream<Item = io::Result<Bytes>>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(Ok(bytes)) = stream.next().await {
            out.extend_from_slice(&bytes);
        }
        out
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[tokio::test]
    async fn the_length_is_exact_and_the_md5_is_of_the_file() {
        let fields = vec![
            ("key".to_string(), "a/b c".to_string()),
            ("policy".to_string(), "eyJ+==".to_string()),
        ];
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK * 2 + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let file = file_with(&data);
            let form = MultipartForm::new(&fields, "na\"me.bin", "image/svg+xml", len as u64);
            let (body, outcome) = collect(&form, file.path()).await;
            assert_eq!(body.len() as u64, form.content_length(), "len {len}");
            assert_eq!(outcome.md5.unwrap(), <[u8; 16]>::from(Md5::digest(&data)));
            let text = String::from_utf8_lossy(&body);
            let key = text.find("name=\"key\"").unwrap();
            let policy = text.find("name=\"policy\"").unwrap();
            let file_part = text
                .find("name=\"file\"; filename=\"na%22me.bin\"")
                .unwrap();
            assert!(
                key < policy && policy < file_part,
                "fields in order, file last"
            );
            assert!(text.contains("Content-Type: image/svg+xml\r\n\r\n"));
            assert!(body.ends_with(format!("\r\n--{}--\r\n", form.boundary).as_bytes()));
        }
    }

    /// Feeds `chunks` down a pipe, then `end`; the body that came out and what it learned.
    async fn piped(
        form: &MultipartForm,
        chunks: &[&[u8]],
        end: Option<anyhow::Result<String>>,
    ) -> (Vec<u8>, BodyOutcome) {
        let (writer, reader) = crate::transfer::pipe::pipe();
        let owned: Vec<Bytes> = chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect();
        let feeder = tokio::spawn(async move {
            let w = writer.clone();
            tokio::task::spawn_blocking(move || {
                for chunk in owned {
                    let _ = w.put_blocking(chunk);
                }
            })
            .await
            .unwrap();
            if let Some(end) = end {
                writer.end(end).await;
            }
        });
        let (stream, outcome) = form.piped_body(reader, Arc::new(NoEvents));
        let out = drain(stream).await;
        feeder.await.unwrap();
        let outcome = std::mem::take(&mut *outcome.lock().unwrap());
        (out, outcome)
    }

    #[tokio::test]
    async fn a_piped_body_has_the_exact_length_and_ends_only_when_the_source_says_so() {
        let fields = vec![("key".to_string(), "k".to_string())];
        let md5 = hex::encode(Md5::digest(b"hello world"));
        let form = MultipartForm::new(&fields, "f", "text/plain", 11);
        let (body, outcome) = piped(&form, &[b"hello ", b"world"], Some(Ok(md5.clone()))).await;
        assert_eq!(body.len() as u64, form.content_length());
        assert_eq!(outcome.md5.map(hex::encode), Some(md5.clone()));
        assert!(body.ends_with(format!("\r\n--{}--\r\n", form.boundary).as_bytes()));

        // Short, long, failed or gone: no tail, no MD5, and why.
        let (body, outcome) = piped(&form, &[b"hello"], Some(Ok(md5.clone()))).await;
        assert!(outcome.md5.is_none() && (body.len() as u64) < form.content_length());
        assert!(outcome.error.unwrap().to_string().contains("6 bytes short"));
        let (_, outcome) = piped(&form, &[b"hello world!"], Some(Ok(md5))).await;
        assert!(outcome.error.unwrap().to_string().contains("more bytes"));
        let failed = Some(Err(anyhow::anyhow!("storage said no")));
        let (_, outcome) = piped(&form, &[b"hello"], failed).await;
        assert_eq!(outcome.source.unwrap().to_string(), "storage said no");
        let (_, outcome) = piped(&form, &[b"hello"], None).await;
        assert!(outcome.error.unwrap().to_string().contains("stopped"));
    }

    #[test]
    fn header_names_carry_no_control_characters() {
        assert_eq!(quote("a\"b\r\n\u{1b}[0m.txt"), "a%22b%0D%0A%1B[0m.txt");
        assert_eq!(quote("naïve.txt"), "naïve.txt");
        assert_eq!(quote("\u{85}"), "%C2%85");
    }

    #[tokio::test]
    async fn a_file_that_changed_size_is_an_error() {
        let file = file_with(b"12345");
        for promised in [4u64, 6] {
            let form = MultipartForm::new(&[("k".into(), "v".into())], "f", "text/plain", promised);
            let (_, outcome) = collect(&form, file.path()).await;
            assert!(outcome.md5.is_none());
            let err = outcome.error.expect("an error");
            assert!(err.to_string().contains("while it was being sent"), "{err}");
        }
    }
}
