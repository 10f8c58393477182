//! The local file an upload or a replacement sends, checked before any request: a
//! readable regular file within the size limit. Stdin is spooled to a temporary file,
//! since the form needs the exact length before the first byte is sent.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use tempfile::NamedTempFile;

use crate::exit::InputError;
// A pure formatter; error messages are escaped for the terminal where they are printed.
use crate::output::human;

/// A checked input, ready to send.
#[derive(Debug)]
pub struct Source {
    /// A regular file; stdin's bytes are in a temporary one.
    pub path: PathBuf,
    /// Its size when checked; the transfer fails if the file no longer has it.
    pub size: u64,
    /// Holds stdin's bytes until the transfer is done; the file goes with it.
    _spool: Option<NamedTempFile>,
}

/// Checks `path` (`-` for stdin) against `max_size`.
pub async fn open(path: &Path, max_size: u64) -> Result<Source> {
    let (file, size, spool) = if is_stdin(path) {
        let (spool, size) = spool_stdin(max_size).await?;
        (spool.path().to_path_buf(), size, Some(spool))
    } else {
        let unreadable = |e: std::io::Error| {
            invalid(format!(
                "cannot read `{}`: {}",
                path.display(),
                io_reason(&e)
            ))
        };
        let meta = tokio::fs::metadata(path).await.map_err(unreadable)?;
        if meta.is_dir() {
            return Err(invalid(format!(
                "`{}` is a folder, not a file",
                path.display()
            )));
        }
        if !meta.is_file() {
            return Err(invalid(format!(
                "`{}` is not a regular file",
                path.display()
            )));
        }
        tokio::fs::File::open(path).await.map_err(unreadable)?;
        (path.to_path_buf(), meta.len(), None)
    };
    if size > max_size {
        return Err(invalid(format!(
            "`{}` is {} bytes ({}), over the limit of {} bytes\nhint: the service takes at \
             most 100 MiB per blob; `--max-size` sets the limit checked here",
            shown(path),
            size,
            human::size(size),
            max_size
        )));
    }
    Ok(Source {
        path: file,
        size,
        _spool: spool,
    })
}

/// Copies stdin to a temporary file, stopping one byte past the limit.
async fn spool_stdin(max_size: u64) -> Result<(NamedTempFile, u64)> {
    // Blocking std I/O on the blocking pool: std's copy uses splice/sendfile where it can.
    let (spool, size) = tokio::task::spawn_blocking(move || -> Result<(NamedTempFile, u64)> {
        let mut spool = NamedTempFile::new().context("cannot create a temporary file for stdin")?;
        let mut limited = std::io::stdin().lock().take(max_size + 1);
        let size = std::io::copy(&mut limited, spool.as_file_mut()).context("cannot read stdin")?;
        spool.as_file_mut().flush()?;
        Ok((spool, size))
    })
    .await??;
    if size > max_size {
        return Err(invalid(format!(
            "stdin holds more than the limit of {max_size} bytes\nhint: the service takes \
             at most 100 MiB per blob; `--max-size` sets the limit checked here"
        )));
    }
    Ok((spool, size))
}

pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

fn invalid(message: String) -> anyhow::Error {
    InputError::Invalid(message).into()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The MD5 of a local file, lowercase hex, read on the blocking pool.
pub async fn md5_of(path: &Path) -> Result<String> {
    use md5::{Digest, Md5};
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<String> {
        let mut file = std::fs::File::open(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let mut md5 = Md5::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match std::io::Read::read(&mut file, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot read `{}`", path.display()))
                    )
                }
            };
            md5.update(&buf[..n]);
        }
        Ok(hex::encode(md5.finalize()))
    })
    .await?
}
