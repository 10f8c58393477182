//! One module per command. Each turns its clap Args into calls on the layers below;
//! this file only translates the global options into `Settings` and dispatches.

mod backup;
mod completions;
mod copy;
mod download;
mod edit;
mod info;
mod list;
mod login;
mod logout;
mod rename;
mod replace;
mod rm;
mod serve;
mod session;
pub mod stats;
mod sync;
mod upload;
mod whoami;

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{Cli, ColorMode, Command, GlobalArgs, ProgressMode};
use crate::exit::Exit;

pub use session::Context;

/// The global options, resolved: terminal detection and colour choice done here, once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API base URL given on the command line or in the environment, if any.
    pub api_url: Option<String>,
    /// The profile to read and store the token in.
    pub profile: String,
    /// Run against an in-process local server.
    pub local: bool,
    /// JSON Lines on stdout.
    pub json: bool,
    /// No chatter on stderr, only errors.
    pub quiet: bool,
    /// Whether stdout is a terminal (tables and human units) or not (TSV, exact values).
    pub stdout_tty: bool,
    /// Colour on stdout.
    pub color: bool,
    /// How to render transfer progress on stderr.
    pub progress: Progress,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries for safe requests.
    pub retries: u32,
    /// Accept http:// for hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Log requests on stderr.
    pub verbose: bool,
}

/// Progress rendering, decided once from `--progress`, `--quiet`, `--json` and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Bars,
    Lines,
    Off,
}

impl Settings {
    pub fn from_args(g: &GlobalArgs) -> Settings {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        // Progress goes to stderr, so stdout carrying JSON is no reason to hide it from
        // a terminal; only off a terminal does --json mean a quiet stderr.
        let progress = match g.progress {
            _ if g.quiet => Progress::Off,
            ProgressMode::None => Progress::Off,
            ProgressMode::Bar => Progress::Bars,
            ProgressMode::Plain => Progress::Lines,
            ProgressMode::Auto if stderr_tty => Progress::Bars,
            ProgressMode::Auto if g.json => Progress::Off,
            ProgressMode::Auto => Progress::Lines,
        };
        Settings {
            api_url: g.api_url.clone(),
            profile: g.profile.clone(),
            local: g.local,
            json: g.json,
            quiet: g.quiet,
            stdout_tty,
            color: color_enabled(g.color, stdout_tty),
            progress,
            timeout: Duration::from_secs(g.timeout),
            retries: g.retries,
            allow_insecure_http: g.allow_insecure_http,
            verbose: g.verbose,
        }
    }
}

/// `--color`, then `NO_COLOR`, then whether the stream is a terminal.
pub fn color_enabled(mode: ColorMode, is_tty: bool) -> bool {
    match mode {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Runs one command to its end and says which exit code it calls for.
pub fn run(cli: Cli) -> Result<Exit> {
    let settings = Settings::from_args(&cli.global);
    if let Command::Completions(args) = cli.command {
        return completions::run(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let ctx = Context::new(settings);
        let result = match cli.command {
            Command::Login(args) => login::run(&ctx, args).await,
            Command::Logout => logout::run(&ctx).await,
            Command::Whoami => whoami::run(&ctx).await,
            Command::Upload(args) => upload::run(&ctx, args).await,
            Command::Info(args) => info::run(&ctx, args).await,
            Command::List(args) => list::run(&ctx, args).await,
            Command::Download(args) => download::run(&ctx, args).await,
            Command::Rename(args) => rename::run(&ctx, args).await,
            Command::Edit(args) => edit::run(&ctx, args).await,
            Command::Replace(args) => replace::run(&ctx, args).await,
            Command::Rm(args) => rm::run(&ctx, args).await,
            Command::Stats(args) => stats::run(&ctx, args).await,
            Command::Sync(args) => sync::run(&ctx, args).await,
            Command::Copy(args) => copy::run(&ctx, args).await,
            Command::Serve(args) => serve::run(&ctx, args).await,
            Command::Completions(_) => unreachable!("handled before the runtime starts"),
        };
        ctx.close().await;
        result
    })
}
