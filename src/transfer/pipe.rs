//! A bounded hand-over of bytes between two tasks, for a copy: the download of the
//! source blob writes into it (see `Sink::pipe`), the upload's form body reads from it
//! (see `MultipartForm::piped_body`), so the bytes stream from one storage to the other
//! with a few chunks in flight, no temporary file, and memory flat.

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Chunks in flight at most; each is at most the sink's 256 KiB.
const DEPTH: usize = 4;

/// What travels: the bytes in order, then how the download ended.
pub enum Piece {
    Data(Bytes),
    /// Every byte was handed over and checked against the source (size, and MD5
    /// against storage's ETag): their MD5, lowercase hex.
    End(String),
    /// The download failed for good (after its own retries): why.
    Failed(anyhow::Error),
}

/// A new pipe.
pub fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (PipeWriter { tx }, PipeReader { rx, task: None })
}

/// The download's end. Clones share the pipe.
#[derive(Clone)]
pub struct PipeWriter {
    tx: mpsc::Sender<Piece>,
}

impl PipeWriter {
    /// Hands a chunk over, waiting while the pipe is full; for the blocking pool (the
    /// sink writes there). An error once the reader is gone: nobody wants the rest.
    pub fn put_blocking(&self, chunk: Bytes) -> std::io::Result<()> {
        self.tx
            .blocking_send(Piece::Data(chunk))
            .map_err(|_| std::io::Error::other("the upload stopped taking the bytes"))
    }

    /// Says how the download ended; a reader that is gone no longer cares.
    pub async fn end(&self, outcome: anyhow::Result<String>) {
        let piece = match outcome {
            Ok(md5) => Piece::End(md5),
            Err(err) => Piece::Failed(err),
        };
        let _ = self.tx.send(piece).await;
    }
}

/// The upload's end. Dropping it stops the task that feeds it.
pub struct PipeReader {
    rx: mpsc::Receiver<Piece>,
    task: Option<AbortHandle>,
}

impl PipeReader {
    /// Ties the feeding task to this end: when the upload is done with the bytes (or
    /// gives up on them), the download stops too.
    pub fn fed_by(mut self, task: AbortHandle) -> PipeReader {
        self.task = Some(task);
        self
    }

    /// The next piece; `None` when the writer went away without saying how it ended.
    pub async fn recv(&mut self) -> Option<Piece> {
        self.rx.recv().await
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pieces_arrive_in_order_and_a_gone_reader_stops_the_writer() {
        let (writer, mut reader) = pipe();
        let w = writer.clone();
        let sent = tokio::task::spawn_blocking(move || {
            w.put_blocking(Bytes::from_static(b"ab"))?;
            w.put_blocking(Bytes::from_static(b"c"))
        });
        sent.await.unwrap().unwrap();
        writer.end(Ok("m".into())).await;
        let mut got = Vec::new();
        for _ in 0..3 {
            match reader.recv().await.unwrap() {
                Piece::Data(b) => got.extend_from_slice(&b),
                Piece::End(md5) => assert_eq!(md5, "m"),
                Piece::Failed(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"abc");
        drop(reader);
        let w = writer.clone();
        let refused = tokio::task::spawn_blocking(move || w.put_blocking(Bytes::new()));
        assert!(refused.await.unwrap().is_err());
    }
}
