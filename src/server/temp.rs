//! Uploads in flight: each is a private file under `tmp/`, locked (`flock`) for as
//! long as it may still become an object, so that a start can sweep every temporary
//! nobody holds (what a crash left) at once, while another server on the same folder
//! (`serve` beside a `--local` command) goes on receiving into its own.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rand::distributions::{Alphanumeric, DistString};

/// Without advisory locks, a leftover is only known by its age: an upload in flight
/// writes all the time, so one untouched this long was abandoned.
#[cfg(not(unix))]
const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(3600);

/// A file being received; removed when dropped unless moved into place, so an
/// upload that fails or is cut off leaves nothing behind.
pub struct TempFile {
    path: PathBuf,
    /// Holds the lock until the file is kept or removed.
    _lock: Option<File>,
    kept: bool,
}

impl TempFile {
    /// A fresh, private (0600), locked file in `dir`, and a handle to write it with.
    pub fn create(dir: &Path) -> Result<(TempFile, File)> {
        // A sweep that opened the name between our create and our lock may have
        // removed it: then take another name.
        for _ in 0..5 {
            let name = Alphanumeric.sample_string(&mut rand::thread_rng(), 24);
            let path = dir.join(format!("{name}.part"));
            let file = private_new_file(&path)
                .with_context(|| format!("cannot create `{}`", path.display()))?;
            if !try_lock(&file)? || !still_at(&file, &path)? {
                continue;
            }
            let lock = file.try_clone()?;
            let temp = TempFile {
                path,
                _lock: Some(lock),
                kept: false,
            };
            return Ok((temp, file));
        }
        anyhow::bail!("cannot create an upload file in `{}`", dir.display())
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `target`, atomically replacing what was there.
    pub fn persist(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes every temporary in `dir` that no running server holds. Best effort: a
/// leftover we cannot remove does no harm.
pub fn sweep(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if abandoned(&path) {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn abandoned(path: &Path) -> bool {
    // The lock is ours until `file` closes, after the removal: a server that opens
    // the name meanwhile finds it gone (`still_at`) and takes another.
    match File::open(path) {
        Ok(file) => try_lock(&file).unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn abandoned(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_UPLOAD)
}

fn private_new_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// An exclusive advisory lock without waiting; `false` when someone holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        return Ok(false);
    }
    Err(err)
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Whether `path` still names the file `file` has open.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    Ok(match std::fs::symlink_metadata(path) {
        Ok(named) => named.dev() == open.dev() && named.ino() == open.ino(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
        Err(err) => return Err(err),
    })
}

#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> std::io::Result<bool> {
    Ok(path.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_vanish_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (dropped, mut file) = TempFile::create(dir.path()).unwrap();
        std::io::Write::write_all(&mut file, b"x").unwrap();
        let path = dropped.path().to_path_buf();
        drop(dropped);
        assert!(!path.exists());
        let (kept, _) = TempFile::create(dir.path()).unwrap();
        std::fs::write(kept.path(), b"y").unwrap();
        let target = dir.path().join("ab");
        kept.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
    }

    #[cfg(unix)]
    #[test]
    fn a_sweep_takes_what_nobody_holds_and_nothing_else() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // What a crash leaves: a file written a moment ago that nobody holds.
        let left = dir.path().join("abandoned.part");
        std::fs::write(&left, b"half").unwrap();
        // An upload in flight, here or in another server.
        let (in_flight, mut file) = TempFile::create(dir.path()).unwrap();
        let mode = file.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        sweep(dir.path()).unwrap();
        assert!(!left.exists());
        assert!(in_flight.path().exists());
        // Still the file it writes to.
        std::io::Write::write_all(&mut file, b"z").unwrap();
        assert_eq!(std::fs::read(in_flight.path()).unwrap(), b"z");
    }
}
