//! `cubeblob whoami`: who the token belongs to, which API it is for, when it expires.

use anyhow::Result;

use super::session::TokenSource;
use super::Context;
use crate::exit::Exit;
use crate::output::SessionRecord;

pub async fn run(ctx: &Context) -> Result<Exit> {
    let conn = ctx.connection().await?;
    let session = conn.client.session().await?;
    // The profile's login names the token it stores, not one from elsewhere.
    let stored_login = if conn.source != TokenSource::Profile {
        None
    } else {
        ctx.load_config()?
            .profile(&ctx.settings.profile)
            .and_then(|p| p.login.clone())
    };
    let user = session.user.as_ref();
    let record = SessionRecord {
        profile: (!ctx.settings.local).then(|| ctx.settings.profile.clone()),
        api_url: conn.client.base_url().to_string(),
        user_id: session.user_id.filter(|&id| id != 0).or(user.map(|u| u.id)),
        login: user
            .and_then(|u| u.login.clone().or_else(|| u.email.clone()))
            .or(stored_login),
        application_id: session.application_id,
        // Read after the call: the server's answer has just extended it.
        token_expires: conn.client.token_expiry().map(|t| t.to_rfc3339()),
        token_source: conn.source.as_str().into(),
    };
    record.print(&ctx.out)?;
    Ok(Exit::Success)
}
