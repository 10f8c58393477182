//! Where downloaded bytes go: a `.part` file (resumable, restartable), stdout, or the
//! pipe into a copy's upload. Each byte is hashed once, as it arrives: the write and
//! the MD5 run on two threads of the blocking pool, each fed by a short queue of
//! chunks, so receiving, writing and hashing overlap and the slowest of the three sets
//! the pace. A small blob (one buffer) takes
//! a single hop to the blocking pool at the end instead.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pipe::PipeWriter;

/// Bytes gathered before they are handed on: network chunks are often small (8–16 KiB),
/// and a queue message or a write per chunk would cost more than the copy.
const FLUSH_AT: usize = 256 * 1024;
/// A chunk at least this big goes on as it is, without the copy into the buffer.
const PASS_ON_AT: usize = 64 * 1024;
/// Chunks waiting for each worker: with the buffer, memory stays within about
/// `FLUSH_AT * (QUEUED + 2)` per worker, whatever the blob's size.
const QUEUED: usize = 4;

enum Output {
    File(File),
    Stdout(io::Stdout),
    /// A copy's upload.
    Pipe(PipeWriter),
}

impl Output {
    /// Writes all of `chunk`; a pipe takes the chunk itself, without a copy.
    fn put(&mut self, chunk: Bytes) -> io::Result<()> {
        match self {
            Output::File(f) => f.write_all(&chunk),
            Output::Stdout(s) => s.write_all(&chunk),
            Output::Pipe(p) => p.put_blocking(chunk),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File(f) => f.flush(),
            Output::Stdout(s) => s.flush(),
            Output::Pipe(_) => Ok(()),
        }
    }
}

/// One thread of the blocking pool that applies `step` to every chunk it is sent, in
/// order, and gives its state back once the queue is closed (or at the first error).
struct Worker<S> {
    /// `None` once closed: the worker finishes what is queued and ends.
    queue: Option<mpsc::Sender<Bytes>>,
    /// `None` once it has been waited for.
    done: Option<JoinHandle<(S, io::Result<()>)>>,
}

impl<S: Send + 'static> Worker<S> {
    fn start(mut state: S, step: fn(&mut S, Bytes) -> io::Result<()>) -> Worker<S> {
        let (queue, mut chunks) = mpsc::channel::<Bytes>(QUEUED);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = chunks.blocking_recv() {
                if let Err(e) = step(&mut state, chunk) {
                    return (state, Err(e));
                }
            }
            (state, Ok(()))
        });
        Worker {
            queue: Some(queue),
            done: Some(done),
        }
    }

    /// Queues `chunk`; false when the worker has stopped (after an error: `stop` tells).
    async fn send(&self, chunk: Bytes) -> bool {
        match &self.queue {
            Some(queue) => queue.send(chunk).await.is_ok(),
            None => false,
        }
    }

    /// Closes the queue and waits for the worker to give its state back. Cancel-safe:
    /// dropped midway, it can be awaited again for the same end.
    async fn stop(&mut self) -> io::Result<(S, io::Result<()>)> {
        self.queue = None;
        let done = self.done.as_mut().ok_or_else(lost)?;
        let ended = done.await;
        self.done = None;
        ended.map_err(io::Error::other)
    }
}

fn write_step(out: &mut Output, chunk: Bytes) -> io::Result<()> {
    out.put(chunk)
}

fn hash_step(md5: &mut Md5, chunk: Bytes) -> io::Result<()> {
    md5.update(&chunk);
    Ok(())
}

enum State {
    /// Output and hash at hand: nothing in flight.
    Idle { out: Output, md5: Md5 },
    /// Both out on their workers.
    Running {
        writer: Worker<Output>,
        hasher: Worker<Md5>,
    },
    /// Lost to a failed write or a worker that was abandoned.
    Broken,
}

pub struct Sink {
    state: State,
    buf: BytesMut,
    /// Bytes taken so far, written, queued or waiting in `buf`.
    taken: u64,
    /// A file can be emptied to start over; stdout cannot.
    restartable: bool,
}

impl Sink {
    /// A new, empty file, opened by the caller (see `staging`).
    pub fn create(file: File) -> Sink {
        Sink::new(Output::File(file), Md5::new(), 0)
    }

    /// An existing `.part` file to append to; its bytes are hashed first, since the MD5
    /// check at the end covers the whole file.
    pub async fn resume(file: File) -> io::Result<Sink> {
        let (file, md5, len) = blocking(move || {
            let mut file = file;
            file.seek(SeekFrom::Start(0))?;
            let mut md5 = Md5::new();
            let mut buf = vec![0u8; FLUSH_AT];
            let mut len = 0u64;
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                md5.update(&buf[..n]);
                len += n as u64;
            }
            Ok((file, md5, len))
        })
        .await?;
        Ok(Sink::new(Output::File(file), md5, len))
    }

    pub fn stdout() -> Sink {
        Sink::new(Output::Stdout(io::stdout()), Md5::new(), 0)
    }

    /// Into a copy's upload; like stdout, it cannot start over.
    pub fn pipe(writer: PipeWriter) -> Sink {
        Sink::new(Output::Pipe(writer), Md5::new(), 0)
    }

    fn new(out: Output, md5: Md5, taken: u64) -> Sink {
        let restartable = matches!(out, Output::File(_));
        Sink {
            state: State::Idle { out, md5 },
            buf: BytesMut::new(),
            taken,
            restartable,
        }
    }

    /// Bytes taken so far, written or waiting.
    pub fn len(&self) -> u64 {
        self.taken
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes taken so far can be thrown away (a file can; stdout cannot).
    pub fn can_restart(&self) -> bool {
        self.restartable
    }

    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.taken += chunk.len() as u64;
        if self.buf.is_empty() && chunk.len() >= PASS_ON_AT {
            return self.hand_on(chunk).await;
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve(FLUSH_AT);
        }
        self.buf.extend_from_slice(&chunk);
        if self.buf.len() >= FLUSH_AT {
            let full = self.buf.split().freeze();
            self.hand_on(full).await?;
        }
        Ok(())
    }

    /// Queues a chunk for both workers, starting them on the first one.
    async fn hand_on(&mut self, chunk: Bytes) -> io::Result<()> {
        if let State::Idle { .. } = self.state {
            let State::Idle { out, md5 } = std::mem::replace(&mut self.state, State::Broken) else {
                unreachable!()
            };
            self.state = State::Running {
                writer: Worker::start(out, write_step),
                hasher: Worker::start(md5, hash_step),
            };
        }
        let State::Running { writer, hasher } = &self.state else {
            return Err(lost());
        };
        if writer.send(chunk.clone()).await && hasher.send(chunk).await {
            return Ok(());
        }
        // A worker stopped: its error says why.
        self.settle().await
    }

    /// Waits for both workers and takes the output and the hash back.
    async fn settle(&mut self) -> io::Result<()> {
        let State::Running { writer, hasher } = &mut self.state else {
            return match self.state {
                State::Idle { .. } => Ok(()),
                _ => Err(lost()),
            };
        };
        let stopped = match writer.stop().await {
            Ok(out) => hasher.stop().await.map(|md5| (out, md5)),
            Err(e) => Err(e),
        };
        match stopped {
            Ok(((out, Ok(())), (md5, _))) => {
                self.state = State::Idle { out, md5 };
                Ok(())
            }
            Ok(((_, Err(e)), _)) | Err(e) => {
                self.state = State::Broken;
                Err(e)
            }
        }
    }

    /// Empties the file and the hash to start over from byte 0.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.taken = 0;
        self.run(|out, md5| {
            *md5 = Md5::new();
            match out {
                Output::File(f) => {
                    f.set_len(0)?;
                    f.seek(SeekFrom::Start(0)).map(|_| ())
                }
                Output::Stdout(_) | Output::Pipe(_) => Err(io::Error::other(
                    "the bytes already handed on cannot be taken back",
                )),
            }
        })
        .await
    }

    /// Writes and hashes what is waiting, and waits for it.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.run(|_, _| Ok(())).await
    }

    /// Writes what is waiting and gives the MD5 of everything, with the file (to check
    /// its length on disk and to keep its lock until it is in place). No fsync: like curl,
    /// wget or `aws s3 cp`, the rename after verification is what keeps a half file
    /// from ever carrying the target's name; durability is the file system's business,
    /// and an fsync per file would cost a batch of downloads dearly.
    pub async fn finish(mut self) -> io::Result<([u8; 16], Option<File>)> {
        self.settle().await?;
        let rest = self.buf.split().freeze();
        let State::Idle { out, md5 } = std::mem::replace(&mut self.state, State::Broken) else {
            return Err(lost());
        };
        blocking(move || {
            let (mut out, mut md5) = (out, md5);
            out.put(rest.clone())?;
            md5.update(&rest);
            out.flush()?;
            let file = match out {
                Output::File(f) => Some(f),
                Output::Stdout(_) | Output::Pipe(_) => None,
            };
            Ok((md5.finalize().into(), file))
        })
        .await
    }

    /// Settles the workers, then runs `f` on the blocking pool after writing and
    /// hashing what is waiting in the buffer.
    async fn run<F>(&mut self, f: F) -> io::Result<()>
    where
        F: FnOnce(&mut Output, &mut Md5) -> io::Result<()> + Send + 'static,
    {
        self.settle().await?;
        let rest = self.buf.split().freeze();
        let State::Idle { out, md5 } = std::mem::replace(&mut self.state, State::Broken) else {
            return Err(lost());
        };
        let (out, md5, result) = blocking(move || {
            let (mut out, mut md5) = (out, md5);
            let result = out.put(rest.clone()).and_then(|()| {
                md5.update(&rest);
                f(&mut out, &mut md5)
            });
            Ok((out, md5, result))
        })
        .await?;
        self.state = State::Idle { out, md5 };
        result
    }
}

fn lost() -> io::Error {
    io::Error::other("an earlier write failed or was abandoned")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    #[tokio::test]
    async fn resumes_restarts_and_hashes_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let data: Vec<u8> = (0..FLUSH_AT * 3 + 5).map(|i| (i % 253) as u8).collect();
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .unwrap()
        };
        let mut sink = Sink::create(open());
        sink.write(Bytes::copy_from_slice(&data[..1000]))
            .await
            .unwrap();
        sink.flush().await.unwrap();
        drop(sink);
        let mut sink = Sink::resume(open()).await.unwrap();
        assert_eq!(sink.len(), 1000);
        for chunk in data[1000..].chunks(10_000) {
            sink.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        assert_eq!(sink.len(), data.len() as u64);
        let (md5, _) = sink.finish().await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(&data)));
        assert_eq!(std::fs::read(&path).unwrap(), data);

        let mut sink = Sink::resume(open()).await.unwrap();
        sink.restart().await.unwrap();
        sink.write(Bytes::from_static(b"abc")).await.unwrap();
        let (md5, _) = sink.finish().await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(b"abc")));
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    }

    #[tokio::test]
    async fn mixed_chunks_land_in_order_and_a_restart_midway_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.part");
        let file = std::fs::File::create(&path).unwrap();
        let data: Vec<u8> = (0..FLUSH_AT * 5).map(|i| (i * 7 % 251) as u8).collect();
        let mut sink = Sink::create(file);
        // Small ones gathered, large ones passed on as they are, in any order.
        sink.write(Bytes::copy_from_slice(&data[..FLUSH_AT]))
            .await
            .unwrap();
        sink.restart().await.unwrap();
        assert!(sink.is_empty());
        let sizes = [100, PASS_ON_AT, 3, FLUSH_AT, 17, FLUSH_AT * 2, 1];
        let mut at = 0;
        for size in sizes.iter().cycle() {
            let end = (at + size).min(data.len());
            sink.write(Bytes::copy_from_slice(&data[at..end]))
                .await
                .unwrap();
            at = end;
            if at == data.len() {
                break;
            }
        }
        assert_eq!(sink.len(), data.len() as u64);
        let (md5, file) = sink.finish().await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(&data)));
        assert_eq!(file.unwrap().metadata().unwrap().len(), data.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
