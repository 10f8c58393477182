//! Collections, planned before anything is sent: which local files there are and what
//! they are named (`walk`), what a sync would do with them (`sync`), where a backup
//! puts each blob (`backup`) and what a copy into another account would do (`copy`).
//! A plan is plain data; the commands render it (`--dry-run`) or hand its actions to
//! the engines in `transfer`.

pub mod backup;
pub mod copy;
pub mod execute;
pub mod sync;
pub mod walk;

/// A blob record for the plans' unit tests: complete when it has a size.
#[cfg(test)]
fn test_blob(id: u64, name: &str, size: Option<u64>) -> crate::api::Blob {
    serde_json::from_value(serde_json::json!({
        "id": id, "uid": format!("u{id}"), "name": name, "size": size,
        "blob_status": size.map(|_| "complete"),
    }))
    .unwrap()
}
