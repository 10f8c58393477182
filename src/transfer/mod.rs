//! The upload, replace, download and copy engines: streaming from and to disk (or from
//! one storage to another), the exact multipart length, MD5 checks, retries, rollback
//! of half-made records, resume and progress events. They print nothing; the commands
//! render what they report.

pub mod copy;
pub mod download;
pub mod etag;
pub mod events;
pub mod form;
mod interrupt;
pub mod multipart;
pub mod pipe;
mod replace;
mod sink;
pub mod source;
mod staging;
pub(crate) mod storage;
pub mod upload;

pub use copy::{copy, Copied};
pub use download::{download, DownloadOptions, Downloaded, Target};
pub use events::{Events, FileEvents, NoEvents};
pub use interrupt::InterruptWatch;
pub use replace::{replace, LeftEmpty, ReplaceRequest};
pub use staging::part_path;
pub use upload::{upload, Content, UploadRequest};
