
use builtin;
use str;

set edit:completion:arg-completer[cubeblob] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cubeblob'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cubeblob'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Create a session and store its token in the profile'
            cand logout 'Destroy the session on the server and forget the stored token'
            cand whoami 'Show who the token belongs to, which API it is for, and when it expires'
            cand upload 'Upload files (create the blob, send it to storage, declare it complete)'
            cand info 'Show blob records by id (digits) or uid (hex)'
            cand list 'List your blobs: one page, or every page with --all'
            cand download 'Download blobs by id or uid to a file, a folder or stdout'
            cand rename 'Rename a blob (the short form of `edit --name`)'
            cand edit 'Change a blob''s name or content type; its id, uid and content stay'
            cand replace 'Send new content for a blob: the id stays, the uid changes'
            cand rm 'Delete blobs by id or uid'
            cand completions 'Print a shell completion script'
            cand serve 'Run the local ConnectyCube-compatible storage server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cubeblob;login'= {
            cand --app-id 'Application id from the ConnectyCube admin panel (default: the profile''s)'
            cand --auth-key 'Application auth key (default: the profile''s)'
            cand --login 'User login (default: the profile''s)'
            cand --email 'User email (instead of a login)'
            cand --password 'Refused: passwords come from a prompt, stdin or CUBEBLOB_PASSWORD'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --password-stdin 'Read the password from the first line of stdin (without it: CUBEBLOB_PASSWORD, else a prompt on a terminal)'
            cand --token-stdin 'Store an existing token read from stdin instead of creating a session'
            cand --auth-secret 'Sign the session request with the application''s auth secret (legacy signature), read from CUBEBLOB_AUTH_SECRET'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;logout'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;whoami'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;upload'= {
            cand --name 'Blob name (only with a single file; default: the file''s name)'
            cand --content-type 'Content type (default: guessed from the name, else application/octet-stream)'
            cand -j 'How many files to upload at once'
            cand --jobs 'How many files to upload at once'
            cand --max-size 'Largest file to accept, in bytes'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --public 'Make the blobs public: anyone with the URL can download them'
            cand --private 'Make the blobs private (the default)'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;info'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --url 'Add a presigned download URL'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;list'= {
            cand --page 'Page to show, from 1'
            cand --per-page 'Blobs per page, 1 to 100'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --all 'Every page, in order'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;download'= {
            cand -o 'Target: a file for one blob, a folder for many, `-` for stdout'
            cand --output 'Target: a file for one blob, a folder for many, `-` for stdout'
            cand -j 'How many blobs to download at once'
            cand --jobs 'How many blobs to download at once'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --force 'Replace existing files'
            cand -c 'Resume a partial download from its .part file'
            cand --continue 'Resume a partial download from its .part file'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;rename'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;edit'= {
            cand --name 'The new name, 1 to 100 characters'
            cand --content-type 'The new content type'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;replace'= {
            cand --name 'A new name as well (default: the blob keeps its name)'
            cand --content-type 'A new content type as well (default: the blob''s current type)'
            cand --max-size 'Largest file to accept, in bytes'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;rm'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --dry-run 'Show what would be deleted, delete nothing'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;completions'= {
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;serve'= {
            cand --listen 'Address to listen on (a bare port means loopback); port 0 picks a free one'
            cand --s3-listen 'Serve the S3 endpoints on a second address (default: the same as --listen)'
            cand --data 'Folder for the database and file contents (default: under the user''s data folder)'
            cand --user 'A user to accept, LOGIN:PASSWORD (repeatable); with none, a demo user is created. Other users of the machine can read this in the process list: prefer --users-file'
            cand --users-file 'Users to accept from a file, one LOGIN:PASSWORD a line (blank and `#` lines skipped)'
            cand --app-id 'Application id to accept'
            cand --auth-key 'Application auth key to accept'
            cand --auth-secret 'Application auth secret, for checking legacy signatures'
            cand --token-ttl 'Token lifetime in seconds; every call extends it again'
            cand --form-ttl 'Upload form lifetime in seconds'
            cand --max-size 'Largest upload accepted, in bytes'
            cand --s3-endpoint 'Keep file contents in this S3-compatible store (SeaweedFS, MinIO, Amazon S3) instead of the data folder, e.g. http://127.0.0.1:8333'
            cand --s3-bucket 'The bucket of --s3-endpoint to keep file contents in'
            cand --s3-access-key 'Access key id for --s3-endpoint (also from AWS_ACCESS_KEY_ID)'
            cand --s3-secret-key 'Secret access key for --s3-endpoint; prefer the environment (also from AWS_SECRET_ACCESS_KEY), where other users cannot see it'
            cand --s3-region 'Signing region of --s3-endpoint'
            cand --public-url 'The address clients reach the server by, e.g. https://files.example.com behind a proxy: upload forms and download URLs name it (default: the --listen address, loopback for a wildcard one), whatever Host header a request carries'
            cand --idle-timeout 'Close a connection that sends no request head for SECS seconds (idle keep-alive connections included)'
            cand --max-connections 'Open connections at most (default: half the open-file limit, less a reserve); more wait to be accepted'
            cand --s3-tamper 'Test aid: spoil every upload form handed out, so that storage refuses it'
            cand --faults 'Test aid: a JSON fault plan that makes chosen requests fail on purpose (error statuses, cut connections, delays) and can log every request'
            cand --api-url 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)'
            cand --profile 'Profile in the config file to read and store the token in'
            cand --progress 'How to show transfer progress on stderr'
            cand --color 'When to use colour (NO_COLOR is honoured too)'
            cand --timeout 'Seconds to wait for a server to answer before giving up on a request'
            cand --retries 'How many times to retry a safe request after a connection error, 5xx or 429'
            cand --token 'Refused: tokens come from the profile or CUBEBLOB_TOKEN, never the command line'
            cand --local 'Run against an embedded local server (data under the user''s data folder); no account needed'
            cand --json 'Print one JSON object per result line (JSON Lines) on stdout'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand --allow-insecure-http 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
            cand -v 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand --verbose 'Log each request and its answer on stderr (tokens and passwords redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cubeblob;help'= {
            cand login 'Create a session and store its token in the profile'
            cand logout 'Destroy the session on the server and forget the stored token'
            cand whoami 'Show who the token belongs to, which API it is for, and when it expires'
            cand upload 'Upload files (create the blob, send it to storage, declare it complete)'
            cand info 'Show blob records by id (digits) or uid (hex)'
            cand list 'List your blobs: one page, or every page with --all'
            cand download 'Download blobs by id or uid to a file, a folder or stdout'
            cand rename 'Rename a blob (the short form of `edit --name`)'
            cand edit 'Change a blob''s name or content type; its id, uid and content stay'
            cand replace 'Send new content for a blob: the id stays, the uid changes'
            cand rm 'Delete blobs by id or uid'
            cand completions 'Print a shell completion script'
            cand serve 'Run the local ConnectyCube-compatible storage server'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cubeblob;help;login'= {
        }
        &'cubeblob;help;logout'= {
        }
        &'cubeblob;help;whoami'= {
        }
        &'cubeblob;help;upload'= {
        }
        &'cubeblob;help;info'= {
        }
        &'cubeblob;help;list'= {
        }
        &'cubeblob;help;download'= {
        }
        &'cubeblob;help;rename'= {
        }
        &'cubeblob;help;edit'= {
        }
        &'cubeblob;help;replace'= {
        }
        &'cubeblob;help;rm'= {
        }
        &'cubeblob;help;completions'= {
        }
        &'cubeblob;help;serve'= {
        }
        &'cubeblob;help;help'= {
        }
    ]
    $completions[$command]
}
