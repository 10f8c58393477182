//! The outcome of a batch (`info 1 2 3`, `rm 1 2 3`): each failure is reported on
//! stderr as it happens, the batch goes on, and the end picks one exit code.
//!
//! The rule: all succeeded → 0. A single item → that item's own error and code, as
//! if it were not a batch. Several items that all failed the same way (all 404, say)
//! → that way's code (5), after a summary. Otherwise some failed → 1, after a summary.

use std::io::IsTerminal;

use anyhow::Result;

use crate::exit::{Exit, PartialFailure};

pub struct Batch {
    total: usize,
    /// The exit code each failure calls for, in order.
    failures: Vec<Exit>,
    /// A lone item's error, kept to be returned rather than printed.
    single: Option<anyhow::Error>,
    color: bool,
    /// The hints already printed: each is said once per batch.
    hints: Vec<String>,
}

impl Batch {
    pub fn new(total: usize, out: &super::Out) -> Batch {
        Batch {
            total,
            failures: Vec::new(),
            single: None,
            // --color always/auto lets stdout have colour; stderr must be a terminal too.
            color: out.color && std::io::stderr().is_terminal(),
            hints: Vec::new(),
        }
    }

    /// Records a failed item; prints it unless the batch has a single item.
    pub fn fail(&mut self, err: anyhow::Error) {
        self.failures.push(Exit::for_error(&err));
        if self.total == 1 {
            self.single = Some(err);
        } else {
            super::print_error_once(&err, self.color, &mut self.hints);
        }
    }

    /// The exit code of the whole batch (the rule above).
    pub fn finish(self) -> Result<Exit> {
        if let Some(err) = self.single {
            return Err(err);
        }
        let Some(&first) = self.failures.first() else {
            return Ok(Exit::Success);
        };
        let summary = anyhow::Error::new(PartialFailure {
            failed: self.failures.len(),
            total: self.total,
        });
        super::print_error(&summary, self.color);
        let all_alike =
            self.failures.len() == self.total && self.failures.iter().all(|&e| e == first);
        Ok(if all_alike { first } else { Exit::Partial })
    }

    /// `finish`, for a batch whose result lines stopped at a failed write to stdout:
    /// that failure decides only when no item failed (and a closed pipe is then no
    /// error, see `main`).
    pub fn finish_after_output(self, stdout_failed: Option<std::io::Error>) -> Result<Exit> {
        match (self.finish()?, stdout_failed) {
            (Exit::Success, Some(err)) => Err(err.into()),
            (exit, _) => Ok(exit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::InputError;

    fn batch(total: usize) -> Batch {
        Batch {
            total,
            failures: Vec::new(),
            single: None,
            color: false,
            hints: Vec::new(),
        }
    }

    fn not_found() -> anyhow::Error {
        InputError::NotFound("gone".into()).into()
    }

    #[test]
    fn the_exit_code_follows_the_rule() {
        assert_eq!(batch(3).finish().unwrap(), Exit::Success);

        let mut b = batch(1);
        b.fail(not_found());
        assert_eq!(Exit::for_error(&b.finish().unwrap_err()), Exit::NotFound);

        let mut b = batch(2);
        b.fail(not_found());
        b.fail(not_found());
        assert_eq!(b.finish().unwrap(), Exit::NotFound);

        let mut b = batch(3);
        b.fail(not_found());
        assert_eq!(b.finish().unwrap(), Exit::Partial);

        let mut b = batch(2);
        b.fail(not_found());
        b.fail(InputError::Auth("no".into()).into());
        assert_eq!(b.finish().unwrap(), Exit::Partial);
    }
}
