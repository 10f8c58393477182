//! `cubeblob logout`: destroy the session on the server, then forget the stored
//! token even when the server call failed (a token we no longer trust is no use).

use anyhow::Result;
use serde::Serialize;

use super::session::env_var;
use super::Context;
use crate::api::Client;
use crate::exit::Exit;
use crate::secret::Secret;

/// The `--json` record of a logout.
#[derive(Debug, Serialize)]
struct LogoutRecord {
    profile: String,
    api_url: String,
    /// The server confirmed the session is gone (or it had already expired).
    session_destroyed: bool,
    /// The token was removed from the profile.
    token_forgotten: bool,
    /// There was a token to end at all (false: nothing to do).
    was_logged_in: bool,
}

pub async fn run(ctx: &Context) -> Result<Exit> {
    if ctx.settings.local {
        ctx.out
            .status("--local needs no logout: its sessions end with each command");
        return Ok(Exit::Success);
    }
    let profile = ctx.settings.profile.clone();
    let mut config = ctx.load_config()?;
    let url = ctx.api_url(&config)?;
    let from_env = env_var("CUBEBLOB_TOKEN").map(Secret::new);
    let stored = config.profile(&profile).and_then(|p| p.token.clone());
    // Both can be set, for different sessions: end each, so none outlives the logout.
    let mut tokens: Vec<Secret> = from_env.iter().chain(stored.iter()).cloned().collect();
    tokens.dedup();
    if tokens.is_empty() {
        if ctx.out.json {
            ctx.out.json_line(&LogoutRecord {
                profile,
                api_url: url.to_string(),
                session_destroyed: false,
                token_forgotten: false,
                was_logged_in: false,
            })?;
        } else {
            ctx.out.status(&format!(
                "Not logged in (profile `{profile}`): nothing to do"
            ));
        }
        return Ok(Exit::Success);
    }

    let mut destroyed = true;
    for token in tokens {
        // No renewal credentials: a session made only to be deleted would be pointless.
        let client = Client::new(ctx.client_config(url.clone()), Some(token), None)?;
        match client.delete_session().await {
            Ok(()) => {}
            // 401: the server no longer knows the token, which is what we wanted.
            Err(e) if e.status() == Some(401) => {}
            Err(e) => {
                ctx.out.warn(&format!(
                    "could not destroy the session on the server ({e}); forgetting the token anyway"
                ));
                destroyed = false;
            }
        }
    }
    let forgotten = stored.is_some();
    if forgotten {
        let p = config.profile_mut(&profile);
        p.token = None;
        p.token_expires = None;
        config.save()?;
    }
    if ctx.out.json {
        ctx.out.json_line(&LogoutRecord {
            profile: profile.clone(),
            api_url: url.to_string(),
            session_destroyed: destroyed,
            token_forgotten: forgotten,
            was_logged_in: true,
        })?;
    } else {
        let what = match (destroyed, forgotten) {
            (true, true) => "session ended, token forgotten",
            (true, false) => "session ended",
            (false, true) => "token forgotten",
            (false, false) => "nothing changed",
        };
        ctx.out.status(&format!(
            "Logged out of {url} (profile `{profile}`): {what}"
        ));
    }
    if from_env.is_some() {
        ctx.out
            .warn("the token came from CUBEBLOB_TOKEN: unset it too");
    }
    Ok(Exit::Success)
}
