//! The data folder: `cubeblob.db`, object files under `objects/`, uploads in flight
//! under `tmp/`, and two private files (0600): the S3 signing keys and the demo
//! user's password, kept so that later starts on the same folder agree with earlier ones.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};

use super::sigv4::S3Keys;
use super::temp::{self, TempFile};

const DB_FILE: &str = "cubeblob.db";
const S3_KEYS_FILE: &str = "s3-credentials.json";
const DEMO_FILE: &str = "demo-user.json";

/// Folders we create are 0700 and files 0600, whatever the umask: the database (and
/// its `-wal`, which SQLite creates with the database's mode) holds live session
/// tokens and the objects are users' private blobs. The data folder itself keeps the
/// mode of a user who made it; everything in it is ours and kept private.
fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the folder layout, and clears uploads that a crash left half-written
    /// (but not another server's in flight: see `temp`).
    /// `cubeblob.db` is made only when `sqlite` (the database is in the folder): a
    /// server on PostgreSQL leaves no empty database file behind.
    pub fn prepare(root: &Path, sqlite: bool) -> Result<DataDir> {
        for dir in [root.to_path_buf(), root.join("objects"), root.join("tmp")] {
            private_dir_builder()
                .create(&dir)
                .with_context(|| format!("cannot create the folder `{}`", dir.display()))?;
        }
        // Ours, so made private even when an earlier version left them open.
        for dir in [root.join("objects"), root.join("tmp")] {
            make_private(&dir, 0o700)?;
        }
        let db = root.join(DB_FILE);
        if sqlite {
            create_private_file(&db)?;
        }
        for file in [
            db.clone(),
            root.join(format!("{DB_FILE}-wal")),
            root.join(format!("{DB_FILE}-shm")),
            root.join(S3_KEYS_FILE),
            root.join(DEMO_FILE),
        ] {
            make_private(&file, 0o600)?;
        }
        temp::sweep(&root.join("tmp"))?;
        Ok(DataDir {
            root: root.to_path_buf(),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }

    /// Where an object lives. Uids are ours (hex), but a path is only ever made
    /// from a checked one, so no name from a request can point outside the folder.
    pub fn object_path(&self, uid: &str) -> Option<PathBuf> {
        is_uid(uid).then(|| self.root.join("objects").join(uid))
    }

    /// A fresh, private, locked file for an upload in flight, and its handle.
    pub fn create_temp(&self) -> Result<(TempFile, std::fs::File)> {
        TempFile::create(&self.root.join("tmp"))
    }

    /// The S3 signing keys, made on the first start.
    pub fn s3_keys(&self) -> Result<S3Keys> {
        let path = self.root.join(S3_KEYS_FILE);
        if let Some(value) = read_json(&path)? {
            if let (Some(access_key), Some(secret)) = (
                value["access_key_id"].as_str(),
                value["secret_access_key"].as_str(),
            ) {
                return Ok(S3Keys {
                    access_key: access_key.to_string(),
                    secret: secret.to_string(),
                });
            }
        }
        let mut rng = rand::thread_rng();
        let keys = S3Keys {
            access_key: format!(
                "CUBEBLOB{}",
                Alphanumeric
                    .sample_string(&mut rng, 12)
                    .to_ascii_uppercase()
            ),
            secret: Alphanumeric.sample_string(&mut rng, 40),
        };
        write_private(
            &path,
            &json!({"access_key_id": keys.access_key, "secret_access_key": keys.secret}),
        )?;
        Ok(keys)
    }

    /// The demo user's password: read back, or made and kept on the first start.
    pub fn demo_password(&self, login: &str) -> Result<String> {
        let path = self.root.join(DEMO_FILE);
        if let Some(value) = read_json(&path)? {
            if let (Some(stored_login), Some(password)) =
                (value["login"].as_str(), value["password"].as_str())
            {
                if stored_login == login && !password.is_empty() {
                    return Ok(password.to_string());
                }
            }
        }
        let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
        write_private(&path, &json!({"login": login, "password": password}))?;
        Ok(password)
    }
}

/// Uids are lower-case hex, at most 64 characters.
pub fn is_uid(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Creates `path` empty and 0600 if it is missing, so that SQLite opens a private file
/// instead of creating one by the umask.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    Ok(())
}

/// Takes group and other permissions off a file or folder of ours, if it exists.
fn make_private(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_symlink() => meta.permissions().mode(),
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read `{}`", path.display()))
            }
        };
        if current & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot make `{}` private", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Writes a file only its owner can read, whole or not at all.
fn write_private(path: &Path, value: &Value) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temp.write_all(value.to_string().as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::prepare(dir.path(), true).unwrap();
        let keys = data.s3_keys().unwrap();
        assert_eq!(data.s3_keys().unwrap().secret, keys.secret);
        let password = data.demo_password("demo").unwrap();
        assert_eq!(data.demo_password("demo").unwrap(), password);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEMO_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn new_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new").join("data");
        DataDir::prepare(&root, true).unwrap();
        for folder in [dir.path().join("new"), root.clone(), root.join("objects")] {
            let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", folder.display());
        }
    }

    #[test]
    fn object_paths_only_from_uids() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::prepare(dir.path(), true).unwrap();
        assert!(data.object_path("0a1b00").is_some());
        for bad in ["", "../x", "AB", "a/b", &"a".repeat(65)] {
            assert!(data.object_path(bad).is_none(), "{bad}");
        }
    }
}
