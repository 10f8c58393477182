//! The bytes of an object's GET. A small object is read whole in the same hop to the
//! blocking pool as its open, so its answer is complete when the head is written and
//! leaves in one write with it (no body chunk trailing behind the head for the peer to
//! wait on). A large one is read by a thread of the blocking pool in large chunks,
//! straight into the buffers hyper sends (tokio's `File` reads in 64 KiB pieces, one
//! hop each, and copies each through a buffer of its own).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

/// The size of one read; objects up to it are read whole at their open.
const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the socket: with the one being sent, the memory an answer
/// holds stays within about `CHUNK * (AHEAD + 1)` whatever the object's size.
const AHEAD: usize = 2;

/// An object opened for a GET.
pub struct Opened {
    file: File,
    pub len: u64,
    /// All of its bytes, when it is small.
    whole: Option<Bytes>,
}

/// Opens `path` and, when it is small, reads it whole. Blocking: for the blocking pool.
pub fn open(path: &Path) -> io::Result<Opened> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let whole = if len <= CHUNK as u64 {
        let mut bytes = Vec::with_capacity(len as usize);
        (&mut file).take(len).read_to_end(&mut bytes)?;
        if bytes.len() as u64 != len {
            return Err(ended_early());
        }
        Some(Bytes::from(bytes))
    } else {
        None
    };
    Ok(Opened { file, len, whole })
}

impl Opened {
    /// The body for bytes `start..start + count` (within `len`).
    pub fn body(self, start: u64, count: u64) -> Body {
        if let Some(whole) = self.whole {
            return Body::from(whole.slice(start as usize..(start + count) as usize));
        }
        enum Feed {
            Start(File, u64, u64),
            Running(mpsc::Receiver<io::Result<Bytes>>),
        }
        // The reader starts with the first poll: a HEAD's body is dropped unread.
        let feed = Feed::Start(self.file, start, count);
        Body::from_stream(futures_util::stream::unfold(feed, |feed| async move {
            let mut chunks = match feed {
                Feed::Start(file, start, count) => read_ahead(file, start, count),
                Feed::Running(chunks) => chunks,
            };
            let chunk = chunks.recv().await?;
            Some((chunk, Feed::Running(chunks)))
        }))
    }
}

/// A thread of the blocking pool reading `count` bytes from `start` into a short
/// queue; it stops when the answer is dropped (the peer went away).
fn read_ahead(mut file: File, start: u64, count: u64) -> mpsc::Receiver<io::Result<Bytes>> {
    let (queue, chunks) = mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = file.seek(SeekFrom::Start(start)) {
            let _ = queue.blocking_send(Err(e));
            return;
        }
        let mut left = count;
        while left > 0 {
            let mut buf = BytesMut::zeroed(left.min(CHUNK as u64) as usize);
            let n = match file.read(&mut buf) {
                Ok(0) => {
                    let _ = queue.blocking_send(Err(ended_early()));
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = queue.blocking_send(Err(e));
                    return;
                }
            };
            buf.truncate(n);
            left -= n as u64;
            if queue.blocking_send(Ok(buf.freeze())).is_err() {
                return;
            }
        }
    });
    chunks
}

fn ended_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the object's file is shorter than it was at its open",
    )
}
