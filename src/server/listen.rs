//! Connections: every accepted socket gets TCP_NODELAY, one of a bounded number of
//! connection slots, and hyper's header-read timeout, which also closes keep-alive
//! connections left idle; so idle or slow peers cannot hold every descriptor, and
//! small answers on a reused connection do not wait for a delayed ACK.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Descriptors kept back from connections: the database, logs, the S3 client.
const RESERVED_FDS: u64 = 64;

/// Bounds shared by the server's listeners.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// How long a connection may take to send a request head, counted from when it
    /// opened or finished its last answer.
    pub idle_timeout: Duration,
    /// Connection slots, shared by the API and S3 listeners.
    pub slots: Arc<Semaphore>,
    /// A fixed receive buffer for every accepted socket (the fault plan's slow link);
    /// without one the kernel sizes it.
    pub receive_buffer: Option<usize>,
}

impl ConnectionLimits {
    /// `max_connections`, or without it as many as the open-file limit allows.
    pub fn new(idle_timeout: Duration, max_connections: Option<usize>) -> ConnectionLimits {
        let max = max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        ConnectionLimits {
            idle_timeout,
            slots: Arc::new(Semaphore::new(max)),
            receive_buffer: None,
        }
    }
}

/// Half of the descriptors left after the reserve: a connection may hold a file
/// open besides its socket. Between 8 and 10,000.
pub fn default_max_connections() -> usize {
    let open_files = open_file_limit().unwrap_or(1024);
    (open_files.saturating_sub(RESERVED_FDS) / 2).clamp(8, 10_000) as usize
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    // `rlim_t` is u64 on Linux and macOS but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Serves `app` on `listener` until `stopped`, then lets answers in flight finish.
/// At the bound, new connections wait in the kernel's backlog until a slot frees.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    let graceful = GracefulShutdown::new();
    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&limits.slots).acquire_owned() => slot.expect("never closed"),
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Without it, a small answer's last segment waits for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        if let Some(size) = limits.receive_buffer {
            let _ = socket2::SockRef::from(&stream).set_recv_buffer_size(size);
        }
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A peer that gave up during the handshake is nothing; anything else (out of
/// descriptors, above all) is logged and waited out, as axum does.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    eprintln!("cubeblob serve: cannot accept a connection: {err}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_leaves_descriptors_free() {
        let max = default_max_connections() as u64;
        assert!((8..=10_000).contains(&max));
        if let Some(limit) = open_file_limit() {
            assert!(max <= limit.saturating_sub(RESERVED_FDS).max(16));
        }
    }
}
