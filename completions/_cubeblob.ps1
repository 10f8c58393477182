
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cubeblob' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cubeblob'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'cubeblob' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Create a session and store its token in the profile')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Destroy the session on the server and forget the stored token')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show who the token belongs to, which API it is for, and when it expires')
            [CompletionResult]::new('upload', 'upload', [CompletionResultType]::ParameterValue, 'Upload files (create the blob, send it to storage, declare it complete)')
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Upload files (create the blob, send it to storage, declare it complete)')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show blob records by id (digits) or uid (hex)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your blobs: one page, or every page with --all')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List your blobs: one page, or every page with --all')
            [CompletionResult]::new('download', 'download', [CompletionResultType]::ParameterValue, 'Download blobs by id or uid to a file, a folder or stdout')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Download blobs by id or uid to a file, a folder or stdout')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a blob (the short form of `edit --name`)')
            [CompletionResult]::new('mv', 'mv', [CompletionResultType]::ParameterValue, 'Rename a blob (the short form of `edit --name`)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a blob''s name or content type; its id, uid and content stay')
            [CompletionResult]::new('replace', 'replace', [CompletionResultType]::ParameterValue, 'Send new content for a blob: the id stays, the uid changes')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count and total size of your blobs (or those matching filters), by type, month and state')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Make the blobs under a prefix match a folder: upload new files, replace changed ones')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the local ConnectyCube-compatible storage server')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cubeblob;login' {
            [CompletionResult]::new('--app-id', '--app-id', [CompletionResultType]::ParameterName, 'Application id from the ConnectyCube admin panel (default: the profile''s)')
            [CompletionResult]::new('--auth-key', '--auth-key', [CompletionResultType]::ParameterName, 'Application auth key (default: the profile''s)')
            [CompletionResult]::new('--login', '--login', [CompletionResultType]::ParameterName, 'User login (default: the profile''s)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'User email (instead of a login)')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin (without it: CUBEBLOB_PASSWORD, else a prompt on a terminal)')
            [CompletionResult]::new('--token-stdin', '--token-stdin', [CompletionResultType]::ParameterName, 'Store an existing token read from stdin instead of creating a session')
            [CompletionResult]::new('--auth-secret', '--auth-secret', [CompletionResultType]::ParameterName, 'Sign the session request with the application''s auth secret (legacy signature), read from CUBEBLOB_AUTH_SECRET')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;logout' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;whoami' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;upload' {
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders that match (repeatable): `*.map` matches names, `js/*.map` paths below the folder given')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Put this before every blob name (`site/` gives `site/js/app.js`)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Write where every file went (name → id, uid, size, md5, ...) to this JSON file')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Blob name (only with a single file; default: the file''s name)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content type (default: guessed from the name, else application/octet-stream)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many files to upload at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many files to upload at once')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest file to accept, in bytes')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Upload the files under each folder given; a file''s name is its path below the folder')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Upload the files under each folder given; a file''s name is its path below the folder')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Make the blobs public: anyone with the URL can download them')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Make the blobs private (the default)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;put' {
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders that match (repeatable): `*.map` matches names, `js/*.map` paths below the folder given')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Put this before every blob name (`site/` gives `site/js/app.js`)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Write where every file went (name → id, uid, size, md5, ...) to this JSON file')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Blob name (only with a single file; default: the file''s name)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content type (default: guessed from the name, else application/octet-stream)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many files to upload at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many files to upload at once')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest file to accept, in bytes')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Upload the files under each folder given; a file''s name is its path below the folder')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Upload the files under each folder given; a file''s name is its path below the folder')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Make the blobs public: anyone with the URL can download them')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Make the blobs private (the default)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;info' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Add a presigned download URL')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;list' {
            [CompletionResult]::new('--page', '--page', [CompletionResultType]::ParameterName, 'Page to show, from 1')
            [CompletionResult]::new('--per-page', '--per-page', [CompletionResultType]::ParameterName, 'Blobs per page, 1 to 100')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort every matching blob (implies --all): A-Z, smallest or oldest first')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N blobs (implies --all)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every page, in order')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'With --sort: Z-A, largest or newest first')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;ls' {
            [CompletionResult]::new('--page', '--page', [CompletionResultType]::ParameterName, 'Page to show, from 1')
            [CompletionResult]::new('--per-page', '--per-page', [CompletionResultType]::ParameterName, 'Blobs per page, 1 to 100')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort every matching blob (implies --all): A-Z, smallest or oldest first')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N blobs (implies --all)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every page, in order')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'With --sort: Z-A, largest or newest first')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;download' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'With --all: write a manifest (JSON) mapping each file to its blob id')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many blobs to download at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many blobs to download at once')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Back up every blob (or those matching filters) into the folder -o DIR, names as paths')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace existing files (and drop an interrupted download''s `.part`); with `-o -`, print bytes that are not text to a terminal')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Resume a partial download from its .part file')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Resume a partial download from its .part file')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;get' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'With --all: write a manifest (JSON) mapping each file to its blob id')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many blobs to download at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many blobs to download at once')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Back up every blob (or those matching filters) into the folder -o DIR, names as paths')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace existing files (and drop an interrupted download''s `.part`); with `-o -`, print bytes that are not text to a terminal')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Resume a partial download from its .part file')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Resume a partial download from its .part file')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;rename' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;mv' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;edit' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The new name, 1 to 100 characters')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'The new content type')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;replace' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A new name as well (default: the blob keeps its name)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'A new content type as well (default: the blob''s current type)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest file to accept, in bytes')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;rm' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many blobs to delete at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many blobs to delete at once')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted, delete nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'With filters: delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With filters: delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;delete' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many blobs to delete at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many blobs to delete at once')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted, delete nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'With filters: delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With filters: delete without asking (needed when stdin is not a terminal)')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;stats' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Content types matching a pattern such as `image/*`; repeatable, any of them')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)')
            [CompletionResult]::new('--larger-than', '--larger-than', [CompletionResultType]::ParameterName, 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match')
            [CompletionResult]::new('--smaller-than', '--smaller-than', [CompletionResultType]::ParameterName, 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'Public blobs only')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'Private blobs only')
            [CompletionResult]::new('--incomplete', '--incomplete', [CompletionResultType]::ParameterName, 'Unfinished uploads only (records never completed)')
            [CompletionResult]::new('--complete', '--complete', [CompletionResultType]::ParameterName, 'Complete blobs only')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;sync' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only blobs whose names start with this; put before every file''s name')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Write where every file is (name → id, uid, size, md5, ...) to this JSON file; an existing one spares re-reading unchanged files')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders that match (repeatable), as for `upload`')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'How many files to compare or send at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many files to compare or send at once')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete blobs under the prefix that have no file (without --prefix: every blob of yours not in DIR, so it asks, or needs --yes)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before `--delete` without `--prefix`')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (upload, replace, delete, skip) and send no write request')
            [CompletionResult]::new('--public', '--public', [CompletionResultType]::ParameterName, 'New blobs are public (an existing blob keeps its own setting)')
            [CompletionResult]::new('--private', '--private', [CompletionResultType]::ParameterName, 'New blobs are private (the default)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;completions' {
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (a bare port means loopback); port 0 picks a free one')
            [CompletionResult]::new('--s3-listen', '--s3-listen', [CompletionResultType]::ParameterName, 'Serve the S3 endpoints on a second address (default: the same as --listen)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Folder for the database and file contents (default: under the user''s data folder)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'A user to accept, LOGIN:PASSWORD (repeatable); with none, a demo user is created. Other users of the machine can read this in the process list: prefer --users-file')
            [CompletionResult]::new('--users-file', '--users-file', [CompletionResultType]::ParameterName, 'Users to accept from a file, one LOGIN:PASSWORD a line (blank and `#` lines skipped)')
            [CompletionResult]::new('--app-id', '--app-id', [CompletionResultType]::ParameterName, 'Application id to accept')
            [CompletionResult]::new('--auth-key', '--auth-key', [CompletionResultType]::ParameterName, 'Application auth key to accept')
            [CompletionResult]::new('--auth-secret', '--auth-secret', [CompletionResultType]::ParameterName, 'Application auth secret, for checking legacy signatures')
            [CompletionResult]::new('--token-ttl', '--token-ttl', [CompletionResultType]::ParameterName, 'Token lifetime in seconds; every call extends it again')
            [CompletionResult]::new('--form-ttl', '--form-ttl', [CompletionResultType]::ParameterName, 'Upload form lifetime in seconds')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest upload accepted, in bytes')
            [CompletionResult]::new('--s3-endpoint', '--s3-endpoint', [CompletionResultType]::ParameterName, 'Keep file contents in this S3-compatible store (SeaweedFS, MinIO, Amazon S3) instead of the data folder, e.g. http://127.0.0.1:8333')
            [CompletionResult]::new('--s3-bucket', '--s3-bucket', [CompletionResultType]::ParameterName, 'The bucket of --s3-endpoint to keep file contents in')
            [CompletionResult]::new('--s3-access-key', '--s3-access-key', [CompletionResultType]::ParameterName, 'Access key id for --s3-endpoint (also from AWS_ACCESS_KEY_ID)')
            [CompletionResult]::new('--s3-secret-key', '--s3-secret-key', [CompletionResultType]::ParameterName, 'Secret access key for --s3-endpoint; prefer the environment (also from AWS_SECRET_ACCESS_KEY), where other users cannot see it')
            [CompletionResult]::new('--s3-region', '--s3-region', [CompletionResultType]::ParameterName, 'Signing region of --s3-endpoint')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'The address clients reach the server by, e.g. https://files.example.com behind a proxy: upload forms and download URLs name it (default: the --listen address, loopback for a wildcard one), whatever Host header a request carries')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close a connection that sends no request head for SECS seconds (idle keep-alive connections included)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Open connections at most (default: half the open-file limit, less a reserve); more wait to be accepted')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'Where users, sessions and blob records live: sqlite:PATH (default: cubeblob.db in --data) or postgres://USER:PASSWORD@HOST:PORT/NAME, which several instances can share; prefer the environment for a URL with a password')
            [CompletionResult]::new('--db-pool', '--db-pool', [CompletionResultType]::ParameterName, 'Connections to PostgreSQL at most, per instance')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile in the config file to read and store the token in')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show transfer progress on stderr')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a server to answer before giving up on a request')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How many times to retry a safe request after a connection error, 5xx or 429')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Run against an embedded local server (data under the user''s data folder); no account needed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per result line (JSON Lines) on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but results and errors')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each request and its answer on stderr (tokens and passwords redacted)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cubeblob;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Create a session and store its token in the profile')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Destroy the session on the server and forget the stored token')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show who the token belongs to, which API it is for, and when it expires')
            [CompletionResult]::new('upload', 'upload', [CompletionResultType]::ParameterValue, 'Upload files (create the blob, send it to storage, declare it complete)')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show blob records by id (digits) or uid (hex)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your blobs: one page, or every page with --all')
            [CompletionResult]::new('download', 'download', [CompletionResultType]::ParameterValue, 'Download blobs by id or uid to a file, a folder or stdout')
            [CompletionResult]::new('rename', 'rename', [CompletionResultType]::ParameterValue, 'Rename a blob (the short form of `edit --name`)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Change a blob''s name or content type; its id, uid and content stay')
            [CompletionResult]::new('replace', 'replace', [CompletionResultType]::ParameterValue, 'Send new content for a blob: the id stays, the uid changes')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count and total size of your blobs (or those matching filters), by type, month and state')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Make the blobs under a prefix match a folder: upload new files, replace changed ones')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the local ConnectyCube-compatible storage server')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cubeblob;help;login' {
            break
        }
        'cubeblob;help;logout' {
            break
        }
        'cubeblob;help;whoami' {
            break
        }
        'cubeblob;help;upload' {
            break
        }
        'cubeblob;help;info' {
            break
        }
        'cubeblob;help;list' {
            break
        }
        'cubeblob;help;download' {
            break
        }
        'cubeblob;help;rename' {
            break
        }
        'cubeblob;help;edit' {
            break
        }
        'cubeblob;help;replace' {
            break
        }
        'cubeblob;help;rm' {
            break
        }
        'cubeblob;help;stats' {
            break
        }
        'cubeblob;help;sync' {
            break
        }
        'cubeblob;help;completions' {
            break
        }
        'cubeblob;help;serve' {
            break
        }
        'cubeblob;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
