//! The built-in store: objects are files under the data folder, landed by our own S3
//! endpoint (`s3.rs`), which records their size and MD5 as they arrive.

use super::not_uploaded;
use crate::server::db::{self, BlobRow};
use crate::server::errors::ApiError;
use crate::server::sigv4;
use crate::server::state::{now, AppState, DOWNLOAD_URL_SECS};

/// Presigned for our public S3 address.
pub fn download_url(state: &AppState, blob: &BlobRow) -> String {
    sigv4::presign_get(
        &state.keys,
        &state.s3_base,
        state.s3_authority(),
        &state.object_path(&blob.uid),
        now(),
        DOWNLOAD_URL_SECS,
    )
}

/// The size recorded when the upload landed becomes the blob's.
pub async fn complete(state: &AppState, blob: &BlobRow) -> Result<(), ApiError> {
    if blob.object_size.is_none() {
        return Err(not_uploaded());
    }
    let (id, at) = (blob.id, now().timestamp());
    state.db.call(move |c| db::complete_blob(c, id, at)).await?;
    Ok(())
}

pub async fn delete(state: &AppState, blob: &BlobRow) -> Result<(), ApiError> {
    let id = blob.id;
    let file = state.data.object_path(&blob.uid);
    state
        .db
        .call(move |c| {
            // Under the database lock, like an upload landing, so the two cannot
            // interleave and leave a file without a record.
            db::delete_blob(c, id)?;
            if let Some(file) = file {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(err.into()),
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}
