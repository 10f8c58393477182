//! The command-line surface, as clap derive types. Parsing only records values;
//! `commands::run` turns them into settings for the layers below.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::{BoolishValueParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 some items of a batch failed, 2 usage error, 3 network or server \
error after retries, 4 authentication (no token, expired, forbidden), 5 not found, \
6 validation or local input error, 130 interrupted.

Environment: CUBEBLOB_TOKEN overrides the stored token. CUBEBLOB_APP_ID, CUBEBLOB_AUTH_KEY, \
CUBEBLOB_LOGIN (or CUBEBLOB_EMAIL), CUBEBLOB_PASSWORD and CUBEBLOB_AUTH_SECRET let any \
command create its own session (for CI) and re-create it when it expires.";

/// `--version`: the package version, the commit it was built from (`unknown` outside
/// a git checkout, a source tarball say) and the target triple (see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CUBEBLOB_COMMIT"),
    " ",
    env!("CUBEBLOB_TARGET"),
    ")"
);

/// cubeblob: upload, inspect, list, download, edit, replace and delete ConnectyCube blobs.
#[derive(Debug, Parser)]
#[command(name = "cubeblob", version = VERSION, about, after_long_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Under their own heading, after the command's own options: they are the same for
/// every command, and mixed in they hid what the command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Base URL of the ConnectyCube API (enterprise hosts, or a local server)
    #[arg(long, global = true, env = "CUBEBLOB_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// Profile in the config file to read and store the token in
    #[arg(
        long,
        global = true,
        env = "CUBEBLOB_PROFILE",
        default_value = crate::config::DEFAULT_PROFILE,
        value_name = "NAME"
    )]
    pub profile: String,

    /// Run against an embedded local server (data under the user's data folder); no account needed
    #[arg(long, global = true, env = "CUBEBLOB_LOCAL", value_parser = EnvBool)]
    pub local: bool,

    /// Print one JSON object per result line (JSON Lines) on stdout
    #[arg(long, global = true, env = "CUBEBLOB_JSON", value_parser = EnvBool)]
    pub json: bool,

    /// Print nothing but results and errors
    #[arg(short, long, global = true, env = "CUBEBLOB_QUIET", value_parser = EnvBool)]
    pub quiet: bool,

    /// How to show transfer progress on stderr
    #[arg(long, global = true, env = "CUBEBLOB_PROGRESS", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,

    /// When to use colour (NO_COLOR is honoured too)
    #[arg(long, global = true, env = "CUBEBLOB_COLOR", value_enum, default_value_t = ColorMode::Auto)]
    pub color: ColorMode,

    /// Seconds to wait for a server to answer before giving up on a request
    #[arg(long, global = true, env = "CUBEBLOB_TIMEOUT", default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// How many times to retry a safe request after a connection error, 5xx or 429
    #[arg(
        long,
        global = true,
        env = "CUBEBLOB_RETRIES",
        default_value_t = 5,
        value_name = "N"
    )]
    pub retries: u32,

    /// Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)
    #[arg(long, global = true, env = "CUBEBLOB_ALLOW_INSECURE_HTTP", value_parser = EnvBool)]
    pub allow_insecure_http: bool,

    /// Log each request and its answer on stderr (tokens and passwords redacted)
    #[arg(short, long, global = true, env = "CUBEBLOB_VERBOSE", value_parser = EnvBool)]
    pub verbose: bool,

    /// Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line
    #[arg(long, global = true, hide = true, num_args = 0..=1, default_missing_value = "",
          value_parser = RefuseSecret(TOKEN_REFUSED))]
    pub token: Option<String>,
}

const TOKEN_REFUSED: &str = "a token is never taken from the command line, where other \
users can read it in the process list: set CUBEBLOB_TOKEN, or store it with \
`cubeblob login --token-stdin`";

const PASSWORD_REFUSED: &str = "a password is never taken from the command line, where \
other users can read it in the process list: pipe it with `--password-stdin`, set \
CUBEBLOB_PASSWORD, or let `cubeblob login` ask for it";

/// The parser of a hidden option that exists only to refuse a secret with a helpful
/// message. Its error never repeats the value.
#[derive(Debug, Clone, Copy)]
pub struct RefuseSecret(&'static str);

impl TypedValueParser for RefuseSecret {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        _value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Err(clap::Error::raw(ErrorKind::ValueValidation, format!("{}\n", self.0)).with_cmd(cmd))
    }
}

/// The parser of an on/off option that has a variable: clap's boolish values
/// (`1/0`, `true/false`, `yes/no`, `on/off`), as CI systems set them, and an empty
/// variable as off, like every other `CUBEBLOB_*` variable set but empty.
#[derive(Debug, Clone, Copy)]
pub struct EnvBool;

impl TypedValueParser for EnvBool {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<bool, clap::Error> {
        if value.is_empty() {
            return Ok(false);
        }
        BoolishValueParser::new().parse_ref(cmd, arg, value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise
    Auto,
    /// Always bars
    Bar,
    /// Plain timestamped lines
    Plain,
    /// No progress at all
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

// Parsed once per run and moved, never stored in bulk: boxing `ServeArgs` buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a session and store its token in the profile
    #[command(after_long_help = "\
With no options, it makes a new session for the profile's application and user (after
the token expired, say), asking only for the password.

Examples:
  cubeblob login --app-id 123 --auth-key AbCd --login alice        (asks for the password)
  cubeblob login                                                   (the profile's again)
  printf '%s' \"$PASS\" | cubeblob login --app-id 123 --auth-key AbCd --email a@b.c --password-stdin
  printf '%s' \"$TOKEN\" | cubeblob login --token-stdin")]
    Login(LoginArgs),

    /// Destroy the session on the server and forget the stored token
    #[command(
        after_long_help = "Examples:\n  cubeblob logout\n  cubeblob --profile staging logout"
    )]
    Logout,

    /// Show who the token belongs to, which API it is for, and when it expires
    #[command(
        after_long_help = "Examples:\n  cubeblob whoami\n  cubeblob whoami --json | jq .user_id"
    )]
    Whoami,

    /// Upload files (create the blob, send it to storage, declare it complete)
    #[command(visible_alias = "put")]
    #[command(after_long_help = "\
Examples:
  cubeblob upload cat.jpg
  cubeblob upload --public -j 8 assets/*.png
  cubeblob upload -r dist --prefix site/ --exclude '*.map'      (names like site/js/app.js)
  cubeblob upload 'dist/**/*.js'                                 (the pattern expanded by cubeblob)
  tar cz dist | cubeblob upload - --name dist.tar.gz --content-type application/gzip
  cubeblob upload --json report.pdf | jq -r .uid")]
    Upload(UploadArgs),

    /// Show blob records by id (digits) or uid (hex)
    #[command(after_long_help = "\
Examples:
  cubeblob info 46919
  cubeblob info 763ef825ad8748239ed07def2c14555100 --url
  cubeblob info --json 1 2 3")]
    Info(InfoArgs),

    /// List your blobs: one page, or every page with --all
    #[command(visible_alias = "ls")]
    #[command(after_long_help = "\
Examples:
  cubeblob list
  cubeblob list --page 2 --per-page 50
  cubeblob list --all | cut -f1,3
  cubeblob list --all --json | jq -r 'select(.size > 1000000) | .id'
  cubeblob list --name '**/*.png' --larger-than 1MiB --sort size --reverse --limit 10
  cubeblob list --incomplete --before 1d")]
    List(ListArgs),

    /// Download blobs by id or uid to a file, a folder or stdout
    #[command(visible_alias = "get")]
    #[command(after_long_help = "\
Examples:
  cubeblob download 46919
  cubeblob download 46919 -o cat.jpg
  cubeblob download 1 2 3 -o backup/
  cubeblob download 46919 -o - | sha256sum
  cubeblob download -c 46919            (resume an interrupted download)
  cubeblob download --all -o backup/ --manifest backup.json   (rerun to resume)
  cubeblob download --all --type 'image/*' --since 30d -o images/")]
    Download(DownloadArgs),

    /// Rename a blob (the short form of `edit --name`)
    #[command(visible_alias = "mv")]
    #[command(after_long_help = "Examples:\n  cubeblob rename 46919 kitten.jpg")]
    Rename(RenameArgs),

    /// Change a blob's name or content type; its id, uid and content stay
    #[command(after_long_help = "\
Examples:
  cubeblob edit 46919 --name kitten.jpg
  cubeblob edit 46919 --content-type image/png
  cubeblob edit 763ef825ad8748239ed07def2c14555100 --name a.png --content-type image/png

`public` is fixed when a blob is created; no call changes it.")]
    Edit(EditArgs),

    /// Send new content for a blob: the id stays, the uid changes
    #[command(after_long_help = "\
The blob keeps its id and gets a new uid: references by id stay valid, the old uid and
URLs made with it (public links, presigned downloads) stop working. The service drops
the old content when the replacement starts, so a replacement that fails for good leaves
the blob empty (exit 3): run the same `cubeblob replace ID FILE` again to finish it.

Examples:
  cubeblob replace 46919 cat-v2.jpg
  cubeblob replace 46919 config.json --content-type application/json
  build-config | cubeblob replace 46919 -
  cubeblob replace --json 46919 avatar.png | jq -r .uid")]
    Replace(ReplaceArgs),

    /// Delete blobs by id or uid, from stdin (`-`), or every blob matching filters
    #[command(visible_alias = "delete")]
    #[command(after_long_help = "\
With filters, rm shows what it will delete and asks on a terminal; without a terminal it \
needs --yes. `--dry-run` and `rm -` never ask.

Examples:
  cubeblob rm 46919
  cubeblob rm --dry-run 1 2 3
  cubeblob rm --incomplete --before 1d --yes
  cubeblob list --all --json | jq -r 'select(.size == 0) | .id' | cubeblob rm -
  cubeblob list --all | awk -F'\\t' '$3 ~ /\\.tmp$/ {print $1}' | xargs cubeblob rm")]
    Rm(RmArgs),

    /// Count and total size of your blobs (or those matching filters), by type, month and state
    #[command(after_long_help = "\
A table on a terminal; piped, TSV lines `group<TAB>key<TAB>count<TAB>bytes` (groups: total, \
type, month, status, access); one JSON object with --json.

Examples:
  cubeblob stats
  cubeblob stats --type 'image/*' --since 30d
  cubeblob stats --json | jq .incomplete")]
    Stats(StatsArgs),

    /// Copy blobs into another profile's application and user (ids, uids, filters or all)
    #[command(visible_alias = "cp")]
    #[command(after_long_help = "\
The blobs come from what every command uses (the current profile, --profile, the
CUBEBLOB_* credentials or --local); they go to the session stored in the profile
--to-profile names, and only there (log it in with `cubeblob --profile NAME login`).
Without ids or filters, every blob is copied. Each keeps its name, content type and
public flag and gets a new id and uid; its bytes stream from one storage to the other,
MD5-checked at both ends. Unfinished uploads are skipped. A copy that fails leaves
nothing on the target. Piped, a line per copy: old_id, new_id, old_uid, new_uid, size,
name.

Examples:
  cubeblob copy --to-profile prod                       (every blob)
  cubeblob copy 46919 763ef825ad8748239ed07def2c14555100 --to-profile prod
  cubeblob --profile staging copy --name 'img/**' --to-profile prod --skip-existing
  cubeblob copy --to-profile prod --dry-run --skip-existing
  cubeblob copy --to-profile prod --manifest moved.json && jq '.blobs[\"46919\"].new_uid' moved.json")]
    Copy(CopyArgs),

    /// Make the blobs under a prefix match a folder: upload new files, replace changed ones
    #[command(after_long_help = "\
Each file under DIR is named like `upload -r` names it (the prefix, then its path below
DIR). No blob of that name: uploaded. A blob of a different size or MD5: its content is
replaced (same id, new uid). The same size and MD5: skipped. Incomplete blobs under the
prefix are deleted and their files uploaded afresh; with --delete, so are blobs under
the prefix with no file. Several complete blobs of one name refuse the sync (exit 6).

Examples:
  cubeblob sync dist --prefix site/ --dry-run
  cubeblob sync dist --prefix site/ --delete --manifest blobs.json
  cubeblob sync assets --prefix img/ --public --exclude '*.psd' -j 8")]
    Sync(SyncArgs),

    /// Print a shell completion script
    #[command(after_long_help = "\
Examples:
  cubeblob completions bash > ~/.local/share/bash-completion/completions/cubeblob
  cubeblob completions zsh > \"${fpath[1]}/_cubeblob\"")]
    Completions(CompletionsArgs),

    /// Run the local ConnectyCube-compatible storage server
    #[command(after_long_help = "\
On start it prints one line on stdout that scripts can parse, for example:
  url=http://127.0.0.1:8080 app_id=1 auth_key=local-auth-key login=demo password=...
(with --json, the same as one JSON object). The password is printed only for the demo
user it creates when no --user is given.

Examples:
  cubeblob serve
  cubeblob serve --listen 127.0.0.1:0 --data /tmp/cb --user alice:secret --user bob:hunter2
  cubeblob serve --token-ttl 5 --form-ttl 2 --max-size 1048576     (for tests)")]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Application id from the ConnectyCube admin panel (default: the profile's)
    #[arg(long, env = "CUBEBLOB_APP_ID", value_name = "ID")]
    pub app_id: Option<u64>,

    /// Application auth key (default: the profile's)
    #[arg(
        long,
        env = "CUBEBLOB_AUTH_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub auth_key: Option<String>,

    /// User login (default: the profile's)
    #[arg(
        long,
        env = "CUBEBLOB_LOGIN",
        conflicts_with = "email",
        value_name = "LOGIN"
    )]
    pub login: Option<String>,

    /// User email (instead of a login)
    #[arg(long, env = "CUBEBLOB_EMAIL", value_name = "EMAIL")]
    pub email: Option<String>,

    /// Read the password from the first line of stdin (without it: CUBEBLOB_PASSWORD,
    /// else a prompt on a terminal)
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,

    /// Refused: passwords come from a prompt, stdin or CUBEBLOB_PASSWORD
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "",
          value_parser = RefuseSecret(PASSWORD_REFUSED))]
    pub password: Option<String>,

    /// Store an existing token read from stdin instead of creating a session
    #[arg(long)]
    pub token_stdin: bool,

    /// Sign the session request with the application's auth secret (legacy signature),
    /// read from CUBEBLOB_AUTH_SECRET
    #[arg(long)]
    pub auth_secret: bool,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Files, folders (with -r) or quoted glob patterns (`'dist/**/*.js'`) to upload;
    /// `-` reads stdin (needs --name)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Upload the files under each folder given; a file's name is its path below the folder
    #[arg(short, long)]
    pub recursive: bool,

    /// Leave out files and folders that match (repeatable): `*.map` matches names,
    /// `js/*.map` paths below the folder given
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Put this before every blob name (`site/` gives `site/js/app.js`)
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,

    /// Write where every file went (name → id, uid, size, md5, ...) to this JSON file
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Blob name (only with a single file; default: the file's name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Content type (default: guessed from the name, else application/octet-stream)
    #[arg(long, value_name = "MIME")]
    pub content_type: Option<String>,

    /// Make the blobs public: anyone with the URL can download them
    #[arg(long, conflicts_with = "private")]
    pub public: bool,

    /// Make the blobs private (the default)
    #[arg(long)]
    pub private: bool,

    /// How many files to upload at once
    #[arg(short, long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,

    /// Largest file to accept, in bytes
    #[arg(long, default_value_t = 104_857_600, value_name = "BYTES")]
    pub max_size: u64,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Blob ids (digits) or uids (hex)
    #[arg(required = true, value_name = "ID|UID")]
    pub blobs: Vec<String>,

    /// Add a presigned download URL
    #[arg(long)]
    pub url: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Page to show, from 1
    #[arg(long, default_value_t = 1, value_name = "N", conflicts_with = "all")]
    pub page: u64,

    /// Blobs per page, 1 to 100
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub per_page: u64,

    /// Every page, in order
    #[arg(long)]
    pub all: bool,

    /// Sort every matching blob (implies --all): A-Z, smallest or oldest first
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SortKey>,

    /// With --sort: Z-A, largest or newest first
    #[arg(long, requires = "sort")]
    pub reverse: bool,

    /// Show at most N blobs (implies --all)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// What `list --sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    Name,
    Size,
    Created,
    Updated,
}

/// The filters shared by `list`, `rm`, `stats`, `download --all` and `copy`
/// (`filter::BlobFilter` gives them their meaning); any filter implies every page.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them
    #[arg(long, value_name = "GLOB")]
    pub name: Vec<String>,

    /// Content types matching a pattern such as `image/*`; repeatable, any of them
    #[arg(long = "type", value_name = "PATTERN")]
    pub content_type: Vec<String>,

    /// Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)
    #[arg(long, value_name = "WHEN")]
    pub before: Option<String>,

    /// Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match
    #[arg(long, value_name = "SIZE")]
    pub larger_than: Option<String>,

    /// Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match
    #[arg(long, value_name = "SIZE")]
    pub smaller_than: Option<String>,

    /// Public blobs only
    #[arg(long, conflicts_with = "private")]
    pub public: bool,

    /// Private blobs only
    #[arg(long)]
    pub private: bool,

    /// Unfinished uploads only (records never completed)
    #[arg(long, conflicts_with = "complete")]
    pub incomplete: bool,

    /// Complete blobs only
    #[arg(long)]
    pub complete: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Blob ids (digits) or uids (hex)
    #[arg(required_unless_present = "all", value_name = "ID|UID")]
    pub blobs: Vec<String>,

    /// Back up every blob (or those matching filters) into the folder -o DIR, names as paths
    #[arg(long, conflicts_with = "blobs", requires = "output")]
    pub all: bool,

    /// With --all: write a manifest (JSON) mapping each file to its blob id
    #[arg(long, value_name = "FILE", requires = "all")]
    pub manifest: Option<PathBuf>,

    /// Target: a file for one blob, a folder (an existing one, or ending in `/`) for
    /// many, `-` for stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Replace existing files (and drop an interrupted download's `.part`); with
    /// `-o -`, print bytes that are not text to a terminal
    #[arg(long)]
    pub force: bool,

    /// Resume a partial download from its .part file
    #[arg(short = 'c', long = "continue")]
    pub resume: bool,

    /// How many blobs to download at once
    #[arg(short, long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Blob id (digits) or uid (hex)
    #[arg(value_name = "ID|UID")]
    pub id: String,

    /// The new name, 1 to 100 characters
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true)))]
pub struct EditArgs {
    /// Blob id (digits) or uid (hex)
    #[arg(value_name = "ID|UID")]
    pub blob: String,

    /// The new name, 1 to 100 characters
    #[arg(long, value_name = "NAME", group = "change")]
    pub name: Option<String>,

    /// The new content type
    #[arg(long, value_name = "MIME", group = "change")]
    pub content_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReplaceArgs {
    /// Blob id (digits) or uid (hex)
    #[arg(value_name = "ID|UID")]
    pub blob: String,

    /// The new content; `-` reads stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// A new name as well (default: the blob keeps its name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A new content type as well (default: the blob's current type)
    #[arg(long, value_name = "MIME")]
    pub content_type: Option<String>,

    /// Largest file to accept, in bytes
    #[arg(long, default_value_t = 104_857_600, value_name = "BYTES")]
    pub max_size: u64,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The folder to mirror
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Only blobs whose names start with this; put before every file's name
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,

    /// Delete blobs under the prefix that have no file (without --prefix: every blob
    /// of yours not in DIR, so it asks, or needs --yes)
    #[arg(long)]
    pub delete: bool,

    /// Do not ask before `--delete` without `--prefix`
    #[arg(long, requires = "delete")]
    pub yes: bool,

    /// Print the plan (upload, replace, delete, skip) and send no write request
    #[arg(long)]
    pub dry_run: bool,

    /// Write where every file is (name → id, uid, size, md5, ...) to this JSON file;
    /// an existing one spares re-reading unchanged files
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Leave out files and folders that match (repeatable), as for `upload`
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// New blobs are public (an existing blob keeps its own setting)
    #[arg(long, conflicts_with = "private")]
    pub public: bool,

    /// New blobs are private (the default)
    #[arg(long)]
    pub private: bool,

    /// How many files to compare or send at once
    #[arg(short, long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Blob ids (digits) or uids (hex); `-` reads them from stdin, one a line
    #[arg(value_name = "ID|UID")]
    pub ids: Vec<String>,

    /// Show what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,

    /// With filters: delete without asking (needed when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// How many blobs to delete at once
    #[arg(short, long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Blob ids (digits) or uids (hex); with neither these nor filters, every blob
    #[arg(value_name = "ID|UID")]
    pub blobs: Vec<String>,

    /// The profile whose stored session receives the copies (never the environment's
    /// credentials)
    #[arg(long, value_name = "NAME")]
    pub to_profile: String,

    /// Do not copy a blob when the target has one of the same name and size, or the
    /// same content (MD5); a rerun copies only what is missing
    #[arg(long)]
    pub skip_existing: bool,

    /// Show what would be copied and skipped, copy nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Write where each blob went (old id → new id, uid, MD5, ...) to this JSON file
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// How many blobs to copy at once
    #[arg(short, long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (a bare port means loopback); port 0 picks a free one
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR",
          value_parser = parse_listen)]
    pub listen: SocketAddr,

    /// Serve the S3 endpoints on a second address (default: the same as --listen)
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub s3_listen: Option<SocketAddr>,

    /// Folder for the database and file contents (default: under the user's data folder)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// A user to accept, LOGIN:PASSWORD (repeatable); with none, a demo user is created.
    /// Other users of the machine can read this in the process list: prefer --users-file
    #[arg(long = "user", value_name = "LOGIN:PASSWORD")]
    pub users: Vec<String>,

    /// Users to accept from a file, one LOGIN:PASSWORD a line (blank and `#` lines skipped)
    #[arg(long, env = "CUBEBLOB_SERVE_USERS_FILE", value_name = "FILE")]
    pub users_file: Option<PathBuf>,

    /// Application id to accept
    #[arg(long, default_value_t = 1, value_name = "ID")]
    pub app_id: u64,

    /// Application auth key to accept
    #[arg(long, default_value = "local-auth-key", value_name = "KEY")]
    pub auth_key: String,

    /// Application auth secret, for checking legacy signatures
    #[arg(
        long,
        env = "CUBEBLOB_SERVE_AUTH_SECRET",
        default_value = "local-auth-secret",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub auth_secret: String,

    /// Token lifetime in seconds; every call extends it again
    #[arg(long, default_value_t = 7200, value_name = "SECS")]
    pub token_ttl: u64,

    /// Upload form lifetime in seconds
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub form_ttl: u64,

    /// Largest upload accepted, in bytes
    #[arg(long, default_value_t = 104_857_600, value_name = "BYTES")]
    pub max_size: u64,

    /// Keep file contents in this S3-compatible store (SeaweedFS, MinIO, Amazon S3)
    /// instead of the data folder, e.g. http://127.0.0.1:8333
    #[arg(
        long,
        value_name = "URL",
        requires = "s3_bucket",
        conflicts_with = "s3_listen"
    )]
    pub s3_endpoint: Option<String>,

    /// The bucket of --s3-endpoint to keep file contents in
    #[arg(long, value_name = "NAME", requires = "s3_endpoint")]
    pub s3_bucket: Option<String>,

    /// Access key id for --s3-endpoint (also from AWS_ACCESS_KEY_ID)
    #[arg(
        long,
        env = "CUBEBLOB_S3_ACCESS_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub s3_access_key: Option<String>,

    /// Secret access key for --s3-endpoint; prefer the environment (also from
    /// AWS_SECRET_ACCESS_KEY), where other users cannot see it
    #[arg(
        long,
        env = "CUBEBLOB_S3_SECRET_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub s3_secret_key: Option<String>,

    /// Signing region of --s3-endpoint
    #[arg(
        long,
        env = "CUBEBLOB_S3_REGION",
        default_value = "us-east-1",
        value_name = "REGION"
    )]
    pub s3_region: String,

    /// The address clients reach the server by, e.g. https://files.example.com behind a
    /// proxy: upload forms and download URLs name it (default: the --listen address,
    /// loopback for a wildcard one), whatever Host header a request carries
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Close a connection that sends no request head for SECS seconds (idle keep-alive
    /// connections included)
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub idle_timeout: u64,

    /// Open connections at most (default: half the open-file limit, less a reserve);
    /// more wait to be accepted
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Where users, sessions and blob records live: sqlite:PATH (default: cubeblob.db in
    /// --data) or postgres://USER:PASSWORD@HOST:PORT/NAME, which several instances can
    /// share; prefer the environment for a URL with a password
    #[arg(
        long,
        env = "CUBEBLOB_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: Option<String>,

    /// Connections to PostgreSQL at most, per instance
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub db_pool: usize,

    /// Test aid: spoil every upload form handed out, so that storage refuses it
    #[arg(long, hide = true, value_enum, value_name = "HOW")]
    pub s3_tamper: Option<FormTamper>,

    /// Test aid: a JSON fault plan that makes chosen requests fail on purpose
    /// (error statuses, cut connections, delays) and can log every request
    #[arg(long, hide = true, env = "CUBEBLOB_SERVE_FAULTS", value_name = "FILE")]
    pub faults: Option<PathBuf>,

    /// Test aid: add N complete blob records without content for LOGIN at start, in
    /// one transaction (repeatable); names from TEMPLATE (default `seed-{n}.{ext}`,
    /// `{ext}` cycling through ten extensions, `.png` one in ten)
    #[arg(long, hide = true, value_name = "N:LOGIN[:TEMPLATE]")]
    pub seed_blobs: Vec<String>,
}

/// `HOST:PORT`, or a bare port for loopback: `--listen 8081` is what people type, and
/// loopback is the safe reading of it (`0.0.0.0:8081` exposes the server on purpose).
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!(
            "`{text}` is not an address: give HOST:PORT (`127.0.0.1:8080`, `[::1]:8080`) or a port"
        )
    })
}

/// How `serve --s3-tamper` spoils upload forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormTamper {
    /// A Content-Type other than the signed one
    ContentType,
    /// A field the policy does not cover
    ExtraField,
    /// A policy that has already expired
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bare_port_listens_on_loopback() {
        assert_eq!(parse_listen("8081").unwrap().to_string(), "127.0.0.1:8081");
        assert_eq!(
            parse_listen("0.0.0.0:80").unwrap().to_string(),
            "0.0.0.0:80"
        );
        assert_eq!(parse_listen("[::1]:0").unwrap().to_string(), "[::1]:0");
        assert!(parse_listen("localhost").is_err());
        assert!(parse_listen("70000").is_err());
    }
}
