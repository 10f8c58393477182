//! The context every command runs in: the settings, the output printer, and the API
//! client, built once on first use from `--local`, the environment or the profile.

use anyhow::Result;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use super::Settings;
use crate::api::{ApiError, Client, ClientConfig, LoginName, Session, SessionCredentials};
use crate::config::{ConfigFile, DEFAULT_PROFILE};
use crate::exit::InputError;
use crate::output::Out;
use crate::secret::Secret;

/// The API used when neither `--api-url` nor the profile names one.
pub const DEFAULT_API_URL: &str = "https://api.connectycube.com";

/// Where the client's token comes from, for `whoami` and the `-v` log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The profile's stored token.
    Profile,
    /// `CUBEBLOB_TOKEN`.
    Environment,
    /// A session the client creates from the `CUBEBLOB_*` credentials.
    Credentials,
    /// A session with the in-process local server.
    Local,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Profile => "profile",
            TokenSource::Environment => "environment",
            TokenSource::Credentials => "credentials",
            TokenSource::Local => "local",
        }
    }
}

/// The client and where its token came from.
pub struct Connection {
    pub client: Client,
    pub source: TokenSource,
}

pub struct Context {
    pub settings: Settings,
    pub out: Out,
    connection: OnceCell<Connection>,
    /// The `--local` server, kept running until `close`.
    local: Mutex<Option<crate::server::RunningServer>>,
}

impl Context {
    pub fn new(settings: Settings) -> Context {
        Context {
            out: Out::new(&settings),
            settings,
            connection: OnceCell::new(),
            local: Mutex::new(None),
        }
    }

    /// The authenticated client, built on the first call and shared after.
    pub async fn client(&self) -> Result<Client> {
        Ok(self.connection().await?.client.clone())
    }

    pub async fn connection(&self) -> Result<&Connection> {
        self.connection.get_or_try_init(|| self.connect()).await
    }

    /// Stops the `--local` server, if one was started.
    pub async fn close(&self) {
        if let Some(server) = self.local.lock().await.take() {
            server.shutdown().await;
        }
    }

    pub fn load_config(&self) -> Result<ConfigFile> {
        ConfigFile::load()
    }

    /// `--api-url` (or `CUBEBLOB_API_URL`), else the profile's, else the default.
    pub fn api_url(&self, config: &ConfigFile) -> Result<Url> {
        let stored = config
            .profile(&self.settings.profile)
            .and_then(|p| p.api_url.as_deref());
        let text = self
            .settings
            .api_url
            .as_deref()
            .or(stored)
            .unwrap_or(DEFAULT_API_URL);
        Ok(ClientConfig::parse_url(
            text,
            self.settings.allow_insecure_http,
        )?)
    }

    pub fn client_config(&self, base_url: Url) -> ClientConfig {
        ClientConfig {
            base_url,
            timeout: self.settings.timeout,
            retries: self.settings.retries,
            verbose: self.settings.verbose,
        }
    }

    /// How to log in: a plain `cubeblob login` when the profile stores all it needs.
    fn login_hint(&self, config: &ConfigFile) -> String {
        let profile = config.profile(&self.settings.profile);
        let stored = profile.is_some_and(|p| {
            p.app_id.is_some() && p.auth_key.is_some() && (p.login.is_some() || p.email.is_some())
        });
        if stored {
            return "run `cubeblob login`: it makes a new session for the profile, asking \
                    only for the password"
                .into();
        }
        let mut hint = "log in with `cubeblob login --app-id ID --auth-key KEY --login NAME`, \
                        or set CUBEBLOB_APP_ID, CUBEBLOB_AUTH_KEY, CUBEBLOB_LOGIN and \
                        CUBEBLOB_PASSWORD"
            .to_string();
        // No API named anywhere: likely someone trying the tool, who needs no account.
        if self.settings.api_url.is_none() && profile.and_then(|p| p.api_url.as_ref()).is_none() {
            hint.push_str("; or try cubeblob without an account: add `--local`");
        }
        hint
    }

    /// The profiles of the config, in backticks, when the chosen one is not among them.
    fn other_profiles(&self, config: &ConfigFile) -> Option<String> {
        let names = &config.config.profiles;
        if names.is_empty() || names.contains_key(&self.settings.profile) {
            return None;
        }
        let names: Vec<String> = names.keys().map(|n| format!("`{n}`")).collect();
        Some(names.join(", "))
    }

    /// The session stored in profile `name`, and nothing else: not `CUBEBLOB_TOKEN`, not
    /// the `CUBEBLOB_*` credentials, not `--api-url` (they are the current side's). It
    /// is asked who it belongs to, so that a profile missing, not logged in or whose
    /// session ended is an error that names it before anything is done.
    pub async fn profile_session(&self, name: &str) -> Result<(Client, Session)> {
        let config = self.load_config()?;
        let login = format!("cubeblob --profile {name} login");
        let Some(profile) = config.profile(name) else {
            let names: Vec<String> = config
                .config
                .profiles
                .keys()
                .map(|n| format!("`{n}`"))
                .collect();
            let known = match names.is_empty() {
                true => "it has none".to_string(),
                false => format!("only {}", names.join(", ")),
            };
            return Err(InputError::Auth(format!(
                "the config has no profile `{name}`; {known}\nhint: log in to it with \
                 `{login} --app-id ID --auth-key KEY --login NAME`, or choose another"
            ))
            .into());
        };
        let text = profile.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
        let url = ClientConfig::parse_url(text, self.settings.allow_insecure_http)?;
        let Some(token) = profile.token.clone() else {
            return Err(InputError::Auth(format!(
                "profile `{name}` is not logged in (to `{url}`)\nhint: run `{login}`"
            ))
            .into());
        };
        let client = Client::new(self.client_config(url.clone()), Some(token), None)?;
        client.for_profile(name);
        client.log_line(&format!("* token: profile `{name}`"));
        match client.session().await {
            Ok(session) => Ok((client, session)),
            Err(ApiError::Status { status: 401, .. }) => Err(InputError::Auth(format!(
                "the session of profile `{name}` (at `{url}`) has ended\nhint: run `{login}`: \
                 it makes a new session, asking only for the password"
            ))
            .into()),
            Err(err) => Err(err.into()),
        }
    }

    async fn connect(&self) -> Result<Connection> {
        if self.settings.local {
            return self.connect_local().await;
        }
        let config = self.load_config()?;
        let url = self.api_url(&config)?;
        let env_token = env_var("CUBEBLOB_TOKEN").map(Secret::new);
        let stored = config
            .profile(&self.settings.profile)
            .and_then(|p| p.token.clone());
        let (creds, missing) = env_credentials()?;
        let (token, source) = match (env_token, stored, &creds) {
            (Some(t), _, _) => (Some(t), TokenSource::Environment),
            (None, Some(t), _) => (Some(t), TokenSource::Profile),
            (None, None, Some(_)) => (None, TokenSource::Credentials),
            (None, None, None) => {
                let mut message = format!(
                    "not logged in to `{url}` (profile `{}`)",
                    self.settings.profile
                );
                if !missing.is_empty() {
                    message.push_str(&format!(
                        "; the CUBEBLOB_* credentials lack {}",
                        missing.join(", ")
                    ));
                }
                if let Some(others) = self.other_profiles(&config) {
                    // A mistyped `--profile`: say which exist rather than "log in".
                    return Err(InputError::Auth(format!(
                        "{message}; the config has no profile `{}`, only {others}\nhint: \
                         choose one with `--profile NAME`",
                        self.settings.profile
                    ))
                    .into());
                }
                return Err(InputError::Auth(format!(
                    "{message}\nhint: {}",
                    self.login_hint(&config)
                ))
                .into());
            }
        };
        let client = Client::new(self.client_config(url), token, creds)?;
        if source == TokenSource::Environment {
            client.token_from_environment();
        }
        if self.settings.profile != DEFAULT_PROFILE {
            client.for_profile(&self.settings.profile);
        }
        client.log_line(&format!(
            "* token: {} (profile `{}`)",
            source.as_str(),
            self.settings.profile
        ));
        Ok(Connection { client, source })
    }

    /// Starts the local server in this process and logs in to it as its demo user;
    /// nothing is stored in the config.
    async fn connect_local(&self) -> Result<Connection> {
        use crate::server::{default_data_dir, RunningServer, ServerConfig};
        let server = RunningServer::start(ServerConfig::local_default(default_data_dir())).await?;
        let url = ClientConfig::parse_url(&server.base_url(), false)?;
        let password = server
            .demo_password()
            .ok_or_else(|| anyhow::anyhow!("the local server has no demo user to log in as"))?;
        let creds = SessionCredentials {
            app_id: server.app_id(),
            auth_key: Secret::new(server.auth_key()),
            user: Some((
                LoginName::Login(server.login().to_string()),
                Secret::new(password),
            )),
            auth_secret: None,
        };
        *self.local.lock().await = Some(server);
        let client = Client::new(self.client_config(url), None, Some(creds))?;
        client.log_line("* token: a session with the local server");
        Ok(Connection {
            client,
            source: TokenSource::Local,
        })
    }
}

/// A `CUBEBLOB_*` variable; set but empty counts as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The session credentials of the environment, when complete; else the names of
/// the variables that are missing, if any of them was set at all.
pub fn env_credentials() -> Result<(Option<SessionCredentials>, Vec<&'static str>)> {
    let app_id = env_var("CUBEBLOB_APP_ID");
    let auth_key = env_var("CUBEBLOB_AUTH_KEY");
    let name = env_var("CUBEBLOB_LOGIN")
        .map(LoginName::Login)
        .or_else(|| env_var("CUBEBLOB_EMAIL").map(LoginName::Email));
    let password = env_var("CUBEBLOB_PASSWORD");
    let (Some(app_id), Some(auth_key), Some(name), Some(password)) =
        (&app_id, &auth_key, &name, &password)
    else {
        let any = app_id.is_some() || name.is_some() || password.is_some();
        let mut missing = Vec::new();
        if any {
            for (var, set) in [
                ("CUBEBLOB_APP_ID", app_id.is_some()),
                ("CUBEBLOB_AUTH_KEY", auth_key.is_some()),
                ("CUBEBLOB_LOGIN (or CUBEBLOB_EMAIL)", name.is_some()),
                ("CUBEBLOB_PASSWORD", password.is_some()),
            ] {
                if !set {
                    missing.push(var);
                }
            }
        }
        return Ok((None, missing));
    };
    let app_id = app_id.parse().map_err(|_| {
        InputError::Invalid(format!(
            "CUBEBLOB_APP_ID `{app_id}` is not an application id"
        ))
    })?;
    Ok((
        Some(SessionCredentials {
            app_id,
            auth_key: Secret::new(auth_key.clone()),
            user: Some((name.clone(), Secret::new(password.clone()))),
            auth_secret: env_var("CUBEBLOB_AUTH_SECRET").map(Secret::new),
        }),
        Vec::new(),
    ))
}
