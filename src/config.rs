//! Profiles and the token store: `config.toml` under the user's config folder (or
//! `CUBEBLOB_CONFIG_DIR`), one `[profiles.NAME]` table each. The file holds tokens,
//! so it is private (folder 0700, file 0600), written atomically (a temporary file
//! in the same folder, then a rename), and refused when others can read it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::exit::InputError;
use crate::secret::Secret;

const FILE_NAME: &str = "config.toml";

/// The profile used without `--profile` or `CUBEBLOB_PROFILE`.
pub const DEFAULT_PROFILE: &str = "default";

/// One profile: which API, whose token, until when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub token: Option<Secret>,
    /// When the server said the token expires, at the time it was stored; every call
    /// extends it, so this is a lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<u64>,
    /// The application auth key the session was made with: with `app_id` and
    /// `login` (or `email`), what a plain `cubeblob login` needs to make a new one
    /// when the token expires, asking only for the password.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub auth_key: Option<Secret>,
    /// The email the user logged in with, when it was an email rather than a login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The config file at its path, loaded.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub config: Config,
}

/// `CUBEBLOB_CONFIG_DIR`, else `cubeblob` under the user's config folder.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CUBEBLOB_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = dirs::config_dir().ok_or_else(|| {
        InputError::Invalid(
            "cannot tell where the user's config folder is\nhint: set CUBEBLOB_CONFIG_DIR".into(),
        )
    })?;
    Ok(base.join("cubeblob"))
}

impl ConfigFile {
    /// The config file of the config folder; empty when there is none yet.
    pub fn load() -> Result<ConfigFile> {
        Self::load_from(&config_dir()?)
    }

    pub fn load_from(dir: &Path) -> Result<ConfigFile> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile {
                    path,
                    config: Config::default(),
                })
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        check_private(&path)?;
        let config = toml::from_str(&text).map_err(|e| {
            InputError::Invalid(format!(
                "`{}` is not a valid config file: {}",
                path.display(),
                e.message()
            ))
        })?;
        Ok(ConfigFile { path, config })
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.config.profiles.get(name)
    }

    pub fn profile_mut(&mut self, name: &str) -> &mut Profile {
        self.config.profiles.entry(name.to_string()).or_default()
    }

    /// Writes the file: a private temporary file in the same folder, renamed over
    /// the old one, so a crash or a concurrent reader never sees half a file.
    pub fn save(&self) -> Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let text = toml::to_string_pretty(&self.config).context("cannot write the config")?;
        let write = || -> std::io::Result<()> {
            // tempfile creates the file 0600 on Unix: the token is never readable by others.
            let mut tmp = tempfile::Builder::new()
                .prefix(".config.toml.")
                .tempfile_in(dir)?;
            tmp.write_all(text.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(&self.path).map_err(|e| e.error)?;
            Ok(())
        };
        write().with_context(|| format!("cannot write `{}`", self.path.display()))
    }
}

/// Creates the folder 0700 (an existing one is left as the user set it).
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(e).with_context(|| format!("cannot create `{}`", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Refuses a config file that the group or others may read or write: its tokens
/// may already have leaked, and a writable one could point us at another server.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(InputError::Invalid(format!(
            "the config file `{}` holds tokens but others may read it (mode {:o})\n\
             hint: run `chmod 600 {}`, and log in again if others could have read it",
            path.display(),
            mode & 0o777,
            path.display()
        ))
        .into());
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

/// The one place the token (and the auth key) is written out in full: into the
/// private config file.
fn expose_secret<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile {
            api_url: Some("http://127.0.0.1:8080".into()),
            token: Some(Secret::new("83153a14fb")),
            token_expires: Some("2024-05-10T12:00:00Z".parse().unwrap()),
            user_id: Some(81),
            login: Some("alice".into()),
            app_id: Some(1),
            auth_key: Some(Secret::new("local-auth-key")),
            email: None,
        }
    }

    #[test]
    fn round_trips_profiles() {
        let dir = tempfile::TempDir::new().unwrap();
        let folder = dir.path().join("nested").join("cubeblob");
        let mut file = ConfigFile::load_from(&folder).unwrap();
        assert!(file.config.profiles.is_empty());
        *file.profile_mut("default") = sample();
        file.profile_mut("staging").login = Some("bob".into());
        file.save().unwrap();

        let again = ConfigFile::load_from(&folder).unwrap();
        assert_eq!(again.config, file.config);
        let text = std::fs::read_to_string(folder.join(FILE_NAME)).unwrap();
        assert!(text.contains("[profiles.default]"), "{text}");
        assert!(text.contains("token = \"83153a14fb\""), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_a_readable_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let folder = dir.path().join("cubeblob");
        let mut file = ConfigFile::load_from(&folder).unwrap();
        *file.profile_mut("default") = sample();
        file.save().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&folder.join(FILE_NAME)), 0o600);
        // A second save replaces the file and keeps it private.
        file.save().unwrap();
        assert_eq!(mode(&folder.join(FILE_NAME)), 0o600);
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count(),
            1,
            "no temp file left"
        );

        std::fs::set_permissions(folder.join(FILE_NAME), PermissionsExt::from_mode(0o644)).unwrap();
        let err = ConfigFile::load_from(&folder).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_eq!(
            crate::exit::Exit::for_error(&err),
            crate::exit::Exit::Invalid
        );
    }

    #[test]
    fn debug_output_hides_the_token() {
        assert!(!format!("{:?}", sample()).contains("83153a14fb"));
    }
}
