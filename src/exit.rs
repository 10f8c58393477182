//! Exit codes, as documented in the README, and the mapping from an error chain to one.

use crate::api::ApiError;

/// The process exit codes. Scripts depend on these: change them only with the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// Some items of a batch failed, the others succeeded.
    Partial = 1,
    /// Bad command-line usage (clap's own code).
    Usage = 2,
    /// Network or server error after retries.
    Network = 3,
    /// No token, expired token, bad password, forbidden.
    Auth = 4,
    NotFound = 5,
    /// Validation by the server or a bad local input (file, name, size).
    Invalid = 6,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code that an error chain calls for: the first cause that says.
    pub fn for_error(err: &anyhow::Error) -> Exit {
        for cause in err.chain() {
            // Whatever stopped it, a replacement left unfinished is a failed transfer,
            // unless the user stopped it.
            if cause.is::<crate::transfer::LeftEmpty>() {
                let interrupted = err.chain().any(|c| c.is::<Interrupted>());
                return if interrupted {
                    Exit::Interrupted
                } else {
                    Exit::Network
                };
            }
            if let Some(api) = cause.downcast_ref::<ApiError>() {
                return api.exit();
            }
            if let Some(input) = cause.downcast_ref::<InputError>() {
                return input.exit();
            }
            if cause.downcast_ref::<Interrupted>().is_some() {
                return Exit::Interrupted;
            }
            if cause.downcast_ref::<reqwest::Error>().is_some() {
                return Exit::Network;
            }
        }
        Exit::Invalid
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// A problem with what the user gave us, found before anything was sent.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A local input (file, name, size, option value) that cannot be used: exit 6.
    #[error("{0}")]
    Invalid(String),
    /// Not logged in, or a credential missing: exit 4.
    #[error("{0}")]
    Auth(String),
    /// Something asked for that does not exist locally: exit 5.
    #[error("{0}")]
    NotFound(String),
    /// Options that cannot work together or are missing, found after parsing: exit 2.
    #[error("{0}")]
    Usage(String),
}

impl InputError {
    pub fn exit(&self) -> Exit {
        match self {
            InputError::Invalid(_) => Exit::Invalid,
            InputError::Auth(_) => Exit::Auth,
            InputError::NotFound(_) => Exit::NotFound,
            InputError::Usage(_) => Exit::Usage,
        }
    }
}

/// The user pressed Ctrl-C (or the process got SIGTERM); work was rolled back.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// A batch where some items failed; each failure was already reported.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} failed")]
pub struct PartialFailure {
    pub failed: usize,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_readme() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Partial,
            Exit::Usage,
            Exit::Network,
            Exit::Auth,
            Exit::NotFound,
            Exit::Invalid,
            Exit::Interrupted,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 130]);
    }

    #[test]
    fn the_first_cause_that_knows_decides() {
        let err = anyhow::Error::new(InputError::Auth("not logged in".into())).context("upload");
        assert_eq!(Exit::for_error(&err), Exit::Auth);
        let err = anyhow::Error::new(Interrupted);
        assert_eq!(Exit::for_error(&err), Exit::Interrupted);
    }

    #[test]
    fn a_replacement_left_unfinished_is_a_failed_transfer_unless_interrupted() {
        let left = |cause: anyhow::Error| -> anyhow::Error {
            crate::transfer::LeftEmpty::new(7, None, "f".into(), true, cause).into()
        };
        let refused = ApiError::Status {
            what: "complete blob".into(),
            status: 422,
            messages: vec![],
            retry_after: None,
            token: crate::api::TokenOf::Profile(None),
        };
        assert_eq!(Exit::for_error(&left(refused.into())), Exit::Network);
        let stopped = anyhow::Error::new(Interrupted).context("sending");
        assert_eq!(Exit::for_error(&left(stopped)), Exit::Interrupted);
    }
}
