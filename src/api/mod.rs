//! The ConnectyCube client: typed requests and serde models, with one place where
//! responses are checked and `ApiError`s are made. It knows nothing of the local server.

mod client;
pub(crate) mod error;
pub mod listing;
pub(crate) mod models;
pub mod retry;

pub use client::{Client, ClientConfig, LoginName, SessionCredentials};
pub use error::{xml_element, ApiError, StorageError, TokenOf, ENV_TOKEN_HINT};
pub use models::{
    check_blob_name, check_content_type, has_control, Blob, BlobChanges, BlobObjectAccess,
    BlobPage, BlobRef, Session, User, BLOB_NAME_CHARS,
};

/// The `CB-SDK` header value we send: polite, not required.
pub fn sdk_header() -> String {
    format!("cubeblob {}", env!("CARGO_PKG_VERSION"))
}
