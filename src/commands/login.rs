//! `cubeblob login`: create a session (or check a given token) and store its token in
//! the profile. Secrets come from a prompt, stdin or the environment, never arguments.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context as _, Result};

use super::session::{env_var, TokenSource};
use super::Context;
use crate::api::{ApiError, Client, LoginName, Session, SessionCredentials};
use crate::cli::LoginArgs;
use crate::config::Profile;
use crate::exit::{Exit, InputError};
use crate::output::SessionRecord;
use crate::secret::Secret;

pub async fn run(ctx: &Context, args: LoginArgs) -> Result<Exit> {
    if ctx.settings.local {
        ctx.out.status(
            "--local needs no login: each --local command logs in to its local server by \
             itself; nothing was stored",
        );
        return Ok(Exit::Success);
    }
    let mut config = ctx.load_config()?;
    let url = ctx.api_url(&config)?;
    let (client, session, login, creds) = if args.token_stdin {
        let token = read_stdin_line("token")?;
        let client = Client::new(ctx.client_config(url.clone()), Some(token), None)?;
        let session = client.session().await.map_err(refused)?;
        (client, session, None, None)
    } else {
        let stored = config.profile(&ctx.settings.profile).cloned();
        let creds = credentials(&args, stored.as_ref(), &ctx.settings.profile).await?;
        let given = creds.user.as_ref().map(|(name, _)| match name {
            LoginName::Login(l) | LoginName::Email(l) => l.clone(),
        });
        let client = Client::new(ctx.client_config(url.clone()), None, None)?;
        let session = client.create_session(&creds).await.map_err(refused)?;
        (client, session, given, Some(creds))
    };
    let token = client
        .token()
        .context("the server answered without a token")?;
    let expires = client.token_expiry();
    let email = match &creds {
        Some(SessionCredentials {
            user: Some((LoginName::Email(e), _)),
            ..
        }) => Some(e.clone()),
        _ => None,
    };
    let login = session
        .user
        .as_ref()
        .and_then(|u| u.login.clone())
        .or(login);
    *config.profile_mut(&ctx.settings.profile) = Profile {
        api_url: Some(url.to_string()),
        token: Some(token),
        token_expires: expires,
        user_id: user_id(&session),
        login: login.clone(),
        app_id: session.application_id,
        auth_key: creds.as_ref().map(|c| c.auth_key.clone()),
        email,
    };
    config.save()?;

    let record = SessionRecord {
        profile: Some(ctx.settings.profile.clone()),
        api_url: url.to_string(),
        user_id: user_id(&session),
        login,
        application_id: session.application_id,
        token_expires: expires.map(|t| t.to_rfc3339()),
        token_source: TokenSource::Profile.as_str().into(),
    };
    if ctx.out.json {
        ctx.out.json_line(&record)?;
    } else {
        let who = match (&record.login, record.user_id) {
            (Some(l), _) => format!("`{}`", crate::output::sanitize::escape_for_terminal(l)),
            (None, Some(id)) => format!("user {id}"),
            (None, None) => "an application session".into(),
        };
        ctx.out.status(&format!(
            "Logged in to {url} as {who}; token stored in profile `{}` ({})",
            ctx.settings.profile,
            config.path.display()
        ));
    }
    Ok(Exit::Success)
}

fn user_id(session: &Session) -> Option<u64> {
    session
        .user_id
        .filter(|&id| id != 0)
        .or(session.user.as_ref().map(|u| u.id))
}

/// The session request from the flags (or the environment), else what the profile
/// stored at its last login, and the password source.
async fn credentials(
    args: &LoginArgs,
    stored: Option<&Profile>,
    profile: &str,
) -> Result<SessionCredentials> {
    let missing = |what: &str| {
        let stored = if stored.is_some() {
            format!("profile `{profile}` stores none")
        } else {
            format!("there is no profile `{profile}` yet")
        };
        InputError::Usage(format!(
            "{what} is needed to log in ({stored})\nhint: cubeblob login --app-id ID \
             --auth-key KEY --login NAME"
        ))
    };
    let app_id = args
        .app_id
        .or(stored.and_then(|p| p.app_id))
        .ok_or_else(|| missing("--app-id"))?;
    let auth_key = match (&args.auth_key, stored.and_then(|p| p.auth_key.as_ref())) {
        (Some(key), _) => key.clone(),
        (None, Some(key)) => key.expose().to_string(),
        (None, None) => return Err(missing("--auth-key").into()),
    };
    let stored_name = stored.and_then(|p| match (&p.email, &p.login) {
        (Some(e), _) => Some(LoginName::Email(e.clone())),
        (None, Some(l)) => Some(LoginName::Login(l.clone())),
        (None, None) => None,
    });
    let name = match (&args.login, &args.email, stored_name) {
        (Some(l), _, _) => LoginName::Login(l.clone()),
        (None, Some(e), _) => LoginName::Email(e.clone()),
        (None, None, Some(name)) => name,
        (None, None, None) => return Err(missing("--login or --email").into()),
    };
    let auth_secret = if args.auth_secret {
        Some(
            env_var("CUBEBLOB_AUTH_SECRET")
                .map(Secret::new)
                .ok_or_else(|| {
                    InputError::Invalid(
                "--auth-secret reads the secret from CUBEBLOB_AUTH_SECRET, which is not set".into(),
            )
                })?,
        )
    } else {
        None
    };
    let password = password(args, &name).await?;
    Ok(SessionCredentials {
        app_id,
        auth_key: Secret::new(auth_key),
        user: Some((name, password)),
        auth_secret,
    })
}

/// `--password-stdin`, else CUBEBLOB_PASSWORD, else a prompt without echo.
async fn password(args: &LoginArgs, name: &LoginName) -> Result<Secret> {
    if args.password_stdin {
        return read_stdin_line("password");
    }
    if let Some(p) = env_var("CUBEBLOB_PASSWORD") {
        return Ok(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(InputError::Invalid(
            "no password: stdin is not a terminal to ask on\n\
             hint: pipe it with `--password-stdin`, or set CUBEBLOB_PASSWORD"
                .into(),
        )
        .into());
    }
    let user = match name {
        LoginName::Login(l) | LoginName::Email(l) => l.clone(),
    };
    let prompt = format!("Password for {user}: ");
    let password = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await?
        .context("cannot read the password")?;
    if password.is_empty() {
        return Err(InputError::Invalid("the password is empty".into()).into());
    }
    Ok(Secret::new(password))
}

/// The first line of stdin, without its line ending; an empty one is an error.
fn read_stdin_line(what: &str) -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from stdin"))?;
    let value = line.strip_suffix('\n').unwrap_or(&line);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(InputError::Invalid(format!("the {what} read from stdin is empty")).into());
    }
    Ok(Secret::new(value))
}

/// A refused login says so plainly: the generic 401 hint ("run `cubeblob login`")
/// would be no help here. Other failures keep their own message and code.
fn refused(err: ApiError) -> anyhow::Error {
    if matches!(err.status(), Some(401)) {
        InputError::Auth(format!(
            "{err}\nhint: check the application id, auth key, login and password (or the token)"
        ))
        .into()
    } else {
        err.into()
    }
}
