//! `cubeblob serve`: run the local storage server until Ctrl-C or SIGTERM. Its one
//! line on stdout tells scripts where it is and how to log in.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{FormTamper, ServeArgs};
use crate::exit::{Exit, InputError};
use crate::secret::Secret;
use crate::server::{
    default_data_dir, public_base, DatabaseUrl, ExternalS3, FaultPlan, RunningServer, SeedSpec,
    ServerConfig, Tamper,
};

pub async fn run(ctx: &Context, args: ServeArgs) -> Result<Exit> {
    let config = config_from(args)?;
    let data_dir = config.data_dir.clone();
    let database = config.database.clone();
    let fault_rules = config.faults.as_ref().map(|plan| plan.len());
    let seeded = config.seed.clone();
    let server = RunningServer::start(config).await?;

    print_start_line(&server, ctx.settings.json)?;
    if !ctx.settings.quiet {
        eprintln!(
            "cubeblob: local server at {} (S3 at {}), data in `{}`",
            server.base_url(),
            server.s3_url(),
            data_dir.display()
        );
        if matches!(database, DatabaseUrl::Postgres(_)) {
            eprintln!("cubeblob: metadata in {}", database.shown());
        }
        eprintln!(
            "cubeblob: log in with `cubeblob --api-url {} login --app-id {} --auth-key {} --login {}`",
            server.base_url(),
            server.app_id(),
            server.auth_key(),
            server.login()
        );
        if let Some(rules) = fault_rules {
            let s = if rules == 1 { "" } else { "s" };
            eprintln!(
                "cubeblob: a fault plan of {rules} rule{s} is active: requests fail on purpose"
            );
        }
        for spec in &seeded {
            eprintln!(
                "cubeblob: {} blob records seeded for `{}` (a test aid: they have no content)",
                spec.count, spec.login
            );
        }
        eprintln!("cubeblob: press Ctrl-C to stop");
    }

    stop_requested().await?;
    if !ctx.settings.quiet {
        eprintln!("cubeblob: stopping, finishing requests in flight");
    }
    server.shutdown().await;
    Ok(Exit::Success)
}

fn config_from(mut args: ServeArgs) -> Result<ServerConfig> {
    let s3_store = external_store(&mut args)?;
    let mut users = args
        .users
        .iter()
        .map(|spec| parse_user(spec))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(path) = &args.users_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the users file `{}`", path.display()))?;
        users.extend(users_from_file(&text)?);
    }
    for (what, secs) in [
        ("--token-ttl", args.token_ttl),
        ("--form-ttl", args.form_ttl),
        ("--idle-timeout", args.idle_timeout),
    ] {
        if secs == 0 {
            return Err(InputError::Invalid(format!("`{what}` must be at least 1 second")).into());
        }
    }
    let database = match args.database.as_deref().filter(|url| !url.is_empty()) {
        Some(url) => DatabaseUrl::parse(url)
            .map_err(|e| InputError::Invalid(format!("`--database`: {e}")))?,
        None => DatabaseUrl::Sqlite(None),
    };
    if args.db_pool == 0 {
        return Err(InputError::Invalid("`--db-pool` must be at least 1".into()).into());
    }
    Ok(ServerConfig {
        database,
        db_pool: args.db_pool,
        listen: args.listen,
        s3_listen: args.s3_listen,
        data_dir: args.data.unwrap_or_else(default_data_dir),
        users,
        app_id: args.app_id,
        auth_key: args.auth_key,
        auth_secret: args.auth_secret,
        token_ttl: Duration::from_secs(args.token_ttl),
        form_ttl: Duration::from_secs(args.form_ttl),
        max_size: args.max_size,
        s3_store,
        s3_tamper: args.s3_tamper.map(|how| match how {
            FormTamper::ContentType => Tamper::ContentType,
            FormTamper::ExtraField => Tamper::ExtraField,
            FormTamper::Expired => Tamper::Expired,
        }),
        faults: match &args.faults {
            Some(path) => Some(Arc::new(
                FaultPlan::load(path).map_err(|e| InputError::Invalid(format!("{e:#}")))?,
            )),
            None => None,
        },
        seed: args
            .seed_blobs
            .iter()
            .map(|spec| SeedSpec::parse(spec).map_err(InputError::Invalid))
            .collect::<Result<_, _>>()?,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        public_url: match &args.public_url {
            Some(url) => Some(
                public_base(url)
                    .map_err(|e| InputError::Invalid(format!("`--public-url`: {e}")))?,
            ),
            None => None,
        },
        max_connections: match args.max_connections {
            Some(0) => {
                return Err(
                    InputError::Invalid("`--max-connections` must be at least 1".into()).into(),
                )
            }
            other => other,
        },
    })
}

/// The external store of `--s3-endpoint`, its keys from the options or the
/// environment (ours, then the AWS SDKs' names).
fn external_store(args: &mut ServeArgs) -> Result<Option<ExternalS3>, InputError> {
    let Some(endpoint) = args.s3_endpoint.take() else {
        return Ok(None);
    };
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let access_key = args
        .s3_access_key
        .take()
        .or_else(|| from_env("AWS_ACCESS_KEY_ID"));
    let secret_key = args
        .s3_secret_key
        .take()
        .or_else(|| from_env("AWS_SECRET_ACCESS_KEY"));
    let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
        return Err(InputError::Invalid(
            "`--s3-endpoint` needs keys: `--s3-access-key` and `CUBEBLOB_S3_SECRET_KEY` \
             (or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`)"
                .into(),
        ));
    };
    Ok(Some(ExternalS3 {
        endpoint,
        bucket: args.s3_bucket.take().unwrap_or_default(),
        region: args.s3_region.clone(),
        access_key,
        secret_key: Secret::new(secret_key),
    }))
}

/// `LOGIN:PASSWORD`, split at the first colon (passwords may hold colons).
fn parse_user(spec: &str) -> Result<(String, String), InputError> {
    match spec.split_once(':') {
        Some((login, password)) if !login.is_empty() && !password.is_empty() => {
            Ok((login.to_string(), password.to_string()))
        }
        _ => Err(InputError::Invalid(format!(
            "`--user` takes LOGIN:PASSWORD, got `{}`",
            spec.split(':').next().unwrap_or_default().escape_debug()
        ))),
    }
}

/// `url=... s3_url=... app_id=... auth_key=... login=...[ password=...]`, or the
/// same as one JSON object; flushed, for the script reading it.
fn print_start_line(server: &RunningServer, json: bool) -> Result<()> {
    let line = if json {
        let mut value = serde_json::json!({
            "url": server.base_url(),
            "s3_url": server.s3_url(),
            "app_id": server.app_id(),
            "auth_key": server.auth_key(),
            "login": server.login(),
        });
        if let Some(password) = server.demo_password() {
            value["password"] = password.into();
        }
        value.to_string()
    } else {
        let mut line = format!(
            "url={} s3_url={} app_id={} auth_key={} login={}",
            server.base_url(),
            server.s3_url(),
            server.app_id(),
            server.auth_key(),
            server.login()
        );
        if let Some(password) = server.demo_password() {
            line.push_str(&format!(" password={password}"));
        }
        line
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

async fn stop_requested() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}

/// `LOGIN:PASSWORD` lines; blank lines and `#` comments are skipped.
fn users_from_file(text: &str) -> Result<Vec<(String, String)>, InputError> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(parse_user)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_files_skip_blanks_and_comments() {
        let users = users_from_file("# team\nalice:pa ss\r\n\n  \nbob:x:y\n").unwrap();
        assert_eq!(
            users,
            [
                ("alice".to_string(), "pa ss".to_string()),
                ("bob".to_string(), "x:y".to_string())
            ]
        );
        assert!(users_from_file("alice\n").is_err());
    }

    #[test]
    fn users_split_at_the_first_colon() {
        assert_eq!(
            parse_user("alice:pa:ss").unwrap(),
            ("alice".to_string(), "pa:ss".to_string())
        );
        assert!(parse_user("alice").is_err());
        assert!(parse_user(":pw").is_err());
        assert!(parse_user("alice:").is_err());
        // The password is never echoed back in the error.
        assert!(!parse_user("alice").unwrap_err().to_string().contains("pw"));
    }
}
