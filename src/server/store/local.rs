//! The built-in store: objects are files under the data folder, landed by our own S3
//! endpoint (`s3.rs`), which records their size and MD5 as they arrive.

use super::{not_uploaded, Renewal};
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
    state.db.complete_blob(id, at).await?;
    Ok(())
}

pub async fn delete(state: &AppState, blob: &BlobRow) -> Result<(), ApiError> {
    let id = blob.id;
    let file = state.data.object_path(&blob.uid);
    // With the record held, like an upload landing, so the two cannot interleave
    // and leave a file without a record.
    state.db.delete_blob(id, Some(remove(file))).await?;
    Ok(())
}

/// The record first, then the file, under the database lock: an upload landing for
/// the old uid then finds no record and is refused, and the old presigned URLs name
/// a key that no record has.
pub async fn renew(
    state: &AppState,
    blob: &BlobRow,
    renewal: Renewal,
) -> Result<BlobRow, ApiError> {
    let id = blob.id;
    let file = state.data.object_path(&blob.uid);
    let renewed = state.db.renew_blob(id, renewal, Some(remove(file))).await?;
    renewed.ok_or(ApiError::NotFound)
}

/// The step that removes a blob's file, if it has one; a file already gone is fine.
fn remove(file: Option<std::path::PathBuf>) -> db::FileStep {
    Box::new(move || {
        if let Some(file) = file {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    })
}
