//! The record of a session, printed by `login` and `whoami`: who, on which API,
//! until when. Never the token itself.

use std::io;

use serde::{Deserialize, Serialize};

use super::{human, sanitize::escape_for_terminal, Out};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The profile the token is stored in (null for `--local`).
    pub profile: Option<String>,
    pub api_url: String,
    /// Null for an application session (no user).
    pub user_id: Option<u64>,
    pub login: Option<String>,
    pub application_id: Option<u64>,
    /// RFC 3339; each call to the API extends it.
    pub token_expires: Option<String>,
    /// `profile`, `environment` (CUBEBLOB_TOKEN), `credentials` (a session made from
    /// the CUBEBLOB_* credentials) or `local`.
    pub token_source: String,
}

impl SessionRecord {
    /// TSV: user_id, login, application_id, api_url, token_expires, profile, token_source.
    pub fn tsv_fields(&self) -> Vec<String> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        vec![
            opt(self.user_id.map(|v| v.to_string())),
            opt(self.login.clone()),
            opt(self.application_id.map(|v| v.to_string())),
            self.api_url.clone(),
            opt(self.token_expires.clone()),
            opt(self.profile.clone()),
            self.token_source.clone(),
        ]
    }

    /// On stdout: JSON, TSV, or `key: value` lines on a terminal.
    pub fn print(&self, out: &Out) -> io::Result<()> {
        if out.json {
            return out.json_line(self);
        }
        if !out.tty {
            return out.tsv_line(&self.tsv_fields());
        }
        out.data(&self.detail())
    }

    fn detail(&self) -> String {
        let dash = || "-".to_string();
        let user = match (&self.login, self.user_id) {
            (Some(login), Some(id)) => format!("{} (id {id})", escape_for_terminal(login)),
            (None, Some(id)) => format!("id {id}"),
            (Some(login), None) => escape_for_terminal(login),
            (None, None) => "none (an application session)".into(),
        };
        let expires = self
            .token_expires
            .as_deref()
            .map(|t| format!("{} ({t})", human::time(t)))
            .unwrap_or_else(dash);
        let lines = [
            ("user", user),
            (
                "application",
                self.application_id
                    .map(|a| a.to_string())
                    .unwrap_or_else(dash),
            ),
            ("api", self.api_url.clone()),
            ("expires", expires),
            ("profile", self.profile.clone().unwrap_or_else(dash)),
            ("token from", self.token_source.clone()),
        ];
        lines
            .iter()
            .map(|(k, v)| format!("{:<13}{v}\n", format!("{k}:")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_view_escapes_the_login() {
        let r = SessionRecord {
            profile: Some("default".into()),
            api_url: "http://127.0.0.1:1".into(),
            user_id: Some(81),
            login: Some("al\u{1b}[2Jice".into()),
            application_id: Some(1),
            token_expires: None,
            token_source: "profile".into(),
        };
        let text = r.detail();
        assert!(
            text.contains("user:        al\\x1b[2Jice (id 81)\n"),
            "{text}"
        );
        assert_eq!(r.tsv_fields().len(), 7);
    }
}
