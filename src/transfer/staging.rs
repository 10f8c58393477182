//! The file a download writes before it takes the target's name. A plain download
//! gets a file of its own, created exclusively under a random name beside the target,
//! so two runs never share one and nothing at that name (a symlink, a file another
//! user planted) is ever opened. `--continue` needs a name known in advance,
//! `TARGET.part`: it is opened without following a symlink and locked, so a second
//! run cannot write into it while the first does.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tempfile::TempPath;

use crate::exit::InputError;

/// `TARGET.part`: beside the target, so the final rename stays on one file system.
pub fn part_path(target: &Path) -> PathBuf {
    with_suffix(target, ".part")
}

/// Where a `.part` that turned out not to match storage is kept: `TARGET.part.bad`.
pub fn bad_part_path(target: &Path) -> PathBuf {
    with_suffix(target, ".part.bad")
}

fn with_suffix(target: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = target.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    target.with_file_name(name)
}

/// The file being written, and how it becomes the target.
pub enum Staging {
    /// Ours alone: removed when dropped unless placed.
    Fresh(TempPath),
    /// `TARGET.part`, kept after a failure for the next `--continue`.
    Part(PathBuf),
}

impl Staging {
    /// A new empty file beside `target`, `.NAME.XXXXXX.part`, created with `O_EXCL`
    /// (and mode 0600) by tempfile.
    pub fn fresh(target: &Path) -> anyhow::Result<(File, Staging)> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
        let (file, path) = file.into_parts();
        Ok((file, Staging::Fresh(path)))
    }

    /// `TARGET.part`, made if missing, never through a symlink, locked for this run.
    /// `new` asks that it not exist yet (after the old one was moved aside).
    pub fn part(target: &Path, new: bool) -> anyhow::Result<(File, Staging)> {
        let part = part_path(target);
        let mut open = OpenOptions::new();
        open.read(true).write(true);
        if new {
            open.create_new(true);
        } else {
            open.create(true).truncate(false);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.custom_flags(libc::O_NOFOLLOW);
        }
        let file = match open.open(&part) {
            Ok(file) => file,
            Err(e) if is_symlink(&part) => {
                return Err(InputError::Invalid(format!(
                    "`{}` is a symbolic link; refusing to follow it ({e})\n\
                     hint: remove it, or download without `--continue`",
                    part.display()
                ))
                .into())
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot open `{}`", part.display()))
                )
            }
        };
        if !file.metadata()?.is_file() {
            return Err(
                InputError::Invalid(format!("`{}` is not a regular file", part.display())).into(),
            );
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(InputError::Invalid(format!(
                    "another download is writing `{}`\n\
                     hint: wait for it to end, or download to another `-o PATH`",
                    part.display()
                ))
                .into())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot lock `{}`", part.display()))
                )
            }
        }
        Ok((file, Staging::Part(part)))
    }

    pub fn path(&self) -> &Path {
        match self {
            Staging::Fresh(p) => p,
            Staging::Part(p) => p,
        }
    }

    /// Gives the written file the target's name; without `force`, never over a file
    /// that appeared there meanwhile.
    pub fn place(self, target: &Path, force: bool) -> anyhow::Result<()> {
        let from = self.path().to_path_buf();
        let moved = match self {
            Staging::Fresh(path) if force => path.persist(target).map_err(|e| e.error),
            Staging::Fresh(path) => path.persist_noclobber(target).map_err(|e| e.error),
            Staging::Part(part) => {
                // The check and the rename are two steps, but only our own `.part`
                // is at stake, not the file that appeared.
                if !force && target.exists() {
                    return Err(super::download::refuse_existing(target).into());
                }
                std::fs::rename(&part, target)
            }
        };
        match moved {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !force => {
                Err(super::download::refuse_existing(target).into())
            }
            other => other.with_context(|| {
                format!("cannot move `{}` to `{}`", from.display(), target.display())
            }),
        }
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_file_sits_beside_the_target() {
        assert_eq!(
            part_path(Path::new("dir/a.bin")),
            PathBuf::from("dir/a.bin.part")
        );
        assert_eq!(part_path(Path::new("a")), PathBuf::from("a.part"));
        assert_eq!(bad_part_path(Path::new("a")), PathBuf::from("a.part.bad"));
    }

    #[test]
    fn a_part_is_locked_for_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a");
        let (_held, _) = Staging::part(&target, false).unwrap();
        let err = Staging::part(&target, false).err().unwrap();
        assert!(err.to_string().contains("another download"), "{err}");
    }
}
