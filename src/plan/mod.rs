//! Collections, planned before anything is sent: which local files there are and what
//! they are named (`walk`), and what a sync would do with them (`sync`). A plan is
//! plain data; the commands render it (`--dry-run`) or hand its actions to the
//! engines in `transfer`.

pub mod backup;
pub mod execute;
pub mod sync;
pub mod walk;
