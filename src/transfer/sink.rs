//! Where downloaded bytes go: a `.part` file (resumable, restartable), stdout, or the
//! pipe into a copy's upload, written in bounded chunks on the blocking pool with the
//! MD5 computed on the way.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use tokio::task::JoinHandle;

use super::pipe::PipeWriter;

/// Bytes gathered before one write: network chunks are small (often 8–16 KiB), and a
/// hop to the blocking pool per chunk would cost more than the write.
const FLUSH_AT: usize = 256 * 1024;

enum Output {
    File(File),
    Stdout(io::Stdout),
    /// A copy's upload: the chunks are handed over as they are, not copied.
    Pipe(PipeWriter),
}

impl Output {
    fn put(&mut self, chunk: &Bytes) -> io::Result<()> {
        match self {
            Output::File(f) => f.write_all(chunk),
            Output::Stdout(s) => s.write_all(chunk),
            Output::Pipe(p) => p.put_blocking(chunk.clone()),
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

/// The output and the hash travel together to the blocking pool and back.
struct Parts {
    out: Output,
    md5: Md5,
}

pub struct Sink {
    /// `None` only while a write is in flight, or after one that was abandoned.
    parts: Option<Parts>,
    /// The write on its way; it holds the parts until done. One write runs while the
    /// next chunk arrives from the network, so disk and MD5 time overlap the transfer.
    pending: Option<JoinHandle<(Parts, io::Result<()>)>>,
    buf: BytesMut,
    /// Bytes handed to the output so far.
    flushed: u64,
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

    fn new(out: Output, md5: Md5, flushed: u64) -> Sink {
        Sink {
            parts: Some(Parts { out, md5 }),
            pending: None,
            buf: BytesMut::with_capacity(FLUSH_AT),
            flushed,
        }
    }

    /// Bytes taken so far, written or waiting.
    pub fn len(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes taken so far can be thrown away (a file can; stdout cannot).
    pub fn can_restart(&self) -> bool {
        matches!(
            self.parts,
            Some(Parts {
                out: Output::File(_),
                ..
            })
        )
    }

    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= FLUSH_AT {
            self.start_flush().await?;
        }
        Ok(())
    }

    /// Empties the file and the hash to start over from byte 0.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.flushed = 0;
        self.run(|parts| {
            parts.md5 = Md5::new();
            match &mut parts.out {
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

    /// Writes what is waiting, and waits for it.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.start_flush().await?;
        self.settle().await
    }

    /// Hands what is waiting to the blocking pool once the write before it is done,
    /// without waiting for this one.
    async fn start_flush(&mut self) -> io::Result<()> {
        self.settle().await?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.buf.reserve(FLUSH_AT);
        self.flushed += chunk.len() as u64;
        let mut parts = self.parts.take().ok_or_else(abandoned)?;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            let result = parts.out.put(&chunk);
            if result.is_ok() {
                parts.md5.update(&chunk);
            }
            (parts, result)
        }));
        Ok(())
    }

    /// Waits for the write on its way, if any.
    async fn settle(&mut self) -> io::Result<()> {
        if let Some(pending) = self.pending.take() {
            let (parts, result) = pending.await.map_err(io::Error::other)?;
            self.parts = Some(parts);
            result?;
        }
        Ok(())
    }

    /// Writes what is waiting and gives the MD5 of everything, with the file (to check
    /// its length on disk and to keep its lock until it is in place). No fsync: like curl,
    /// wget or `aws s3 cp`, the rename after verification is what keeps a half file
    /// from ever carrying the target's name; durability is the file system's business,
    /// and an fsync per file would cost a batch of downloads dearly.
    pub async fn finish(mut self) -> io::Result<([u8; 16], Option<File>)> {
        self.flush().await?;
        let parts = self.parts.take().ok_or_else(abandoned)?;
        blocking(move || {
            let Parts { mut out, md5 } = parts;
            out.flush()?;
            let file = match out {
                Output::File(f) => Some(f),
                Output::Stdout(_) | Output::Pipe(_) => None,
            };
            Ok((md5.finalize().into(), file))
        })
        .await
    }

    async fn run<F>(&mut self, f: F) -> io::Result<()>
    where
        F: FnOnce(&mut Parts) -> io::Result<()> + Send + 'static,
    {
        self.settle().await?;
        let mut parts = self.parts.take().ok_or_else(abandoned)?;
        let (parts, result) = blocking(move || {
            let result = f(&mut parts);
            Ok((parts, result))
        })
        .await?;
        self.parts = Some(parts);
        result
    }
}

fn abandoned() -> io::Error {
    io::Error::other("an earlier write was abandoned")
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
        sink.write(&data[..1000]).await.unwrap();
        sink.flush().await.unwrap();
        drop(sink);
        let mut sink = Sink::resume(open()).await.unwrap();
        assert_eq!(sink.len(), 1000);
        for chunk in data[1000..].chunks(10_000) {
            sink.write(chunk).await.unwrap();
        }
        assert_eq!(sink.len(), data.len() as u64);
        let (md5, _) = sink.finish().await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(&data)));
        assert_eq!(std::fs::read(&path).unwrap(), data);

        let mut sink = Sink::resume(open()).await.unwrap();
        sink.restart().await.unwrap();
        sink.write(b"abc").await.unwrap();
        let (md5, _) = sink.finish().await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(b"abc")));
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    }
}
