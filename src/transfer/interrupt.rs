//! Ctrl-C (and SIGTERM) turned into a cancellation the engines can see, so that they
//! roll back what they started instead of the process dying with records half-made.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Cancels its token on the first interrupt; stops listening when dropped.
pub struct InterruptWatch {
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl InterruptWatch {
    /// Starts listening. From now on an interrupt no longer kills the process: the
    /// engines see the token and end their work themselves.
    pub fn start() -> InterruptWatch {
        let token = CancellationToken::new();
        let cancel = token.clone();
        // Registered here, not in the task, so that an interrupt right after this call
        // is already ours rather than the default handler's.
        let signals = Signals::register();
        let task = tokio::spawn(async move {
            signals.recv().await;
            cancel.cancel();
        });
        InterruptWatch { token, task }
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn is_interrupted(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl Drop for InterruptWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn register() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn recv(mut self) {
        // A signal that could not be registered never fires (rather than at once).
        let interrupt = async {
            match &mut self.interrupt {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        let terminate = async {
            match &mut self.terminate {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> Signals {
        Signals
    }

    async fn recv(self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
