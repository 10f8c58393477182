# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cubeblob_global_optspecs
    string join \n api-url= profile= local json q/quiet progress= color= timeout= retries= allow-insecure-http v/verbose h/help V/version
end

function __fish_cubeblob_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cubeblob_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cubeblob_using_subcommand
    set -l cmd (__fish_cubeblob_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cubeblob -n "__fish_cubeblob_needs_command" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -s V -l version -d 'Print version'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "login" -d 'Create a session and store its token in the profile'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "logout" -d 'Destroy the session on the server and forget the stored token'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "whoami" -d 'Show who the token belongs to, which API it is for, and when it expires'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "upload" -d 'Upload files (create the blob, send it to storage, declare it complete)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "put" -d 'Upload files (create the blob, send it to storage, declare it complete)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "info" -d 'Show blob records by id (digits) or uid (hex)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "list" -d 'List your blobs: one page, or every page with --all'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "ls" -d 'List your blobs: one page, or every page with --all'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "download" -d 'Download blobs by id or uid to a file, a folder or stdout'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "get" -d 'Download blobs by id or uid to a file, a folder or stdout'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "rename" -d 'Rename a blob (the short form of `edit --name`)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "mv" -d 'Rename a blob (the short form of `edit --name`)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "edit" -d 'Change a blob\'s name or content type; its id, uid and content stay'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "replace" -d 'Send new content for a blob: the id stays, the uid changes'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "rm" -d 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "delete" -d 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "stats" -d 'Count and total size of your blobs (or those matching filters), by type, month and state'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "copy" -d 'Copy blobs into another profile\'s application and user (ids, uids, filters or all)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "cp" -d 'Copy blobs into another profile\'s application and user (ids, uids, filters or all)'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "sync" -d 'Make the blobs under a prefix match a folder: upload new files, replace changed ones'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "serve" -d 'Run the local ConnectyCube-compatible storage server'
complete -c cubeblob -n "__fish_cubeblob_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l app-id -d 'Application id from the ConnectyCube admin panel (default: the profile\'s)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l auth-key -d 'Application auth key (default: the profile\'s)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l login -d 'User login (default: the profile\'s)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l email -d 'User email (instead of a login)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l password-stdin -d 'Read the password from the first line of stdin (without it: CUBEBLOB_PASSWORD, else a prompt on a terminal)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l token-stdin -d 'Store an existing token read from stdin instead of creating a session'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l auth-secret -d 'Sign the session request with the application\'s auth secret (legacy signature), read from CUBEBLOB_AUTH_SECRET'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand whoami" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l exclude -d 'Leave out files and folders that match (repeatable): `*.map` matches names, `js/*.map` paths below the folder given' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l prefix -d 'Put this before every blob name (`site/` gives `site/js/app.js`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l manifest -d 'Write where every file went (name → id, uid, size, md5, ...) to this JSON file' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l name -d 'Blob name (only with a single file; default: the file\'s name)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l content-type -d 'Content type (default: guessed from the name, else application/octet-stream)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -s j -l jobs -d 'How many files to upload at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l max-size -d 'Largest file to accept, in bytes' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -s r -l recursive -d 'Upload the files under each folder given; a file\'s name is its path below the folder'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l public -d 'Make the blobs public: anyone with the URL can download them'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l private -d 'Make the blobs private (the default)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand upload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l exclude -d 'Leave out files and folders that match (repeatable): `*.map` matches names, `js/*.map` paths below the folder given' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l prefix -d 'Put this before every blob name (`site/` gives `site/js/app.js`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l manifest -d 'Write where every file went (name → id, uid, size, md5, ...) to this JSON file' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l name -d 'Blob name (only with a single file; default: the file\'s name)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l content-type -d 'Content type (default: guessed from the name, else application/octet-stream)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -s j -l jobs -d 'How many files to upload at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l max-size -d 'Largest file to accept, in bytes' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -s r -l recursive -d 'Upload the files under each folder given; a file\'s name is its path below the folder'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l public -d 'Make the blobs public: anyone with the URL can download them'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l private -d 'Make the blobs private (the default)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand put" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l url -d 'Add a presigned download URL'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l page -d 'Page to show, from 1' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l per-page -d 'Blobs per page, 1 to 100' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l sort -d 'Sort every matching blob (implies --all): A-Z, smallest or oldest first' -r -f -a "name\t''
size\t''
created\t''
updated\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l limit -d 'Show at most N blobs (implies --all)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l all -d 'Every page, in order'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l reverse -d 'With --sort: Z-A, largest or newest first'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l page -d 'Page to show, from 1' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l per-page -d 'Blobs per page, 1 to 100' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l sort -d 'Sort every matching blob (implies --all): A-Z, smallest or oldest first' -r -f -a "name\t''
size\t''
created\t''
updated\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l limit -d 'Show at most N blobs (implies --all)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l all -d 'Every page, in order'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l reverse -d 'With --sort: Z-A, largest or newest first'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l manifest -d 'With --all: write a manifest (JSON) mapping each file to its blob id' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s o -l output -d 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s j -l jobs -d 'How many blobs to download at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l all -d 'Back up every blob (or those matching filters) into the folder -o DIR, names as paths'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l force -d 'Replace existing files (and drop an interrupted download\'s `.part`); with `-o -`, print bytes that are not text to a terminal'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s c -l continue -d 'Resume a partial download from its .part file'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand download" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l manifest -d 'With --all: write a manifest (JSON) mapping each file to its blob id' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s o -l output -d 'Target: a file for one blob, a folder (an existing one, or ending in `/`) for many, `-` for stdout' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s j -l jobs -d 'How many blobs to download at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l all -d 'Back up every blob (or those matching filters) into the folder -o DIR, names as paths'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l force -d 'Replace existing files (and drop an interrupted download\'s `.part`); with `-o -`, print bytes that are not text to a terminal'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s c -l continue -d 'Resume a partial download from its .part file'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rename" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand mv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l name -d 'The new name, 1 to 100 characters' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l content-type -d 'The new content type' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand edit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l name -d 'A new name as well (default: the blob keeps its name)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l content-type -d 'A new content type as well (default: the blob\'s current type)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l max-size -d 'Largest file to accept, in bytes' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand replace" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -s j -l jobs -d 'How many blobs to delete at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -s y -l yes -d 'With filters: delete without asking (needed when stdin is not a terminal)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -s j -l jobs -d 'How many blobs to delete at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -s y -l yes -d 'With filters: delete without asking (needed when stdin is not a terminal)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l to-profile -d 'The profile whose stored session receives the copies (never the environment\'s credentials)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l manifest -d 'Write where each blob went (old id → new id, uid, MD5, ...) to this JSON file' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -s j -l jobs -d 'How many blobs to copy at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l skip-existing -d 'Do not copy a blob when the target has one of the same name and size, or the same content (MD5); a rerun copies only what is missing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l dry-run -d 'Show what would be copied and skipped, copy nothing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l to-profile -d 'The profile whose stored session receives the copies (never the environment\'s credentials)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l manifest -d 'Write where each blob went (old id → new id, uid, MD5, ...) to this JSON file' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -s j -l jobs -d 'How many blobs to copy at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l name -d 'Names matching a glob (case-sensitive; `*` stays within a folder, `**` crosses); repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l type -d 'Content types matching a pattern such as `image/*`; repeatable, any of them' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l since -d 'Created at or after WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l before -d 'Created before WHEN: RFC 3339, a date, or a duration ago (`90m`, `12h`, `30d`)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l larger-than -d 'Larger than SIZE (`1500`, `10M` = 10^7, `1.5GiB` = 1.5*2^30); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l smaller-than -d 'Smaller than SIZE (`1500`, `10M`, `1.5GiB`); unfinished blobs never match' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l skip-existing -d 'Do not copy a blob when the target has one of the same name and size, or the same content (MD5); a rerun copies only what is missing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l dry-run -d 'Show what would be copied and skipped, copy nothing'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l public -d 'Public blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l private -d 'Private blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l incomplete -d 'Unfinished uploads only (records never completed)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l complete -d 'Complete blobs only'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand cp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l prefix -d 'Only blobs whose names start with this; put before every file\'s name' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l manifest -d 'Write where every file is (name → id, uid, size, md5, ...) to this JSON file; an existing one spares re-reading unchanged files' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l exclude -d 'Leave out files and folders that match (repeatable), as for `upload`' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -s j -l jobs -d 'How many files to compare or send at once' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l delete -d 'Delete blobs under the prefix that have no file (without --prefix: every blob of yours not in DIR, so it asks, or needs --yes)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l yes -d 'Do not ask before `--delete` without `--prefix`'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l dry-run -d 'Print the plan (upload, replace, delete, skip) and send no write request'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l public -d 'New blobs are public (an existing blob keeps its own setting)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l private -d 'New blobs are private (the default)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l listen -d 'Address to listen on (a bare port means loopback); port 0 picks a free one' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-listen -d 'Serve the S3 endpoints on a second address (default: the same as --listen)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l data -d 'Folder for the database and file contents (default: under the user\'s data folder)' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l user -d 'A user to accept, LOGIN:PASSWORD (repeatable); with none, a demo user is created. Other users of the machine can read this in the process list: prefer --users-file' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l users-file -d 'Users to accept from a file, one LOGIN:PASSWORD a line (blank and `#` lines skipped)' -r -F
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l app-id -d 'Application id to accept' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l auth-key -d 'Application auth key to accept' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l auth-secret -d 'Application auth secret, for checking legacy signatures' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l token-ttl -d 'Token lifetime in seconds; every call extends it again' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l form-ttl -d 'Upload form lifetime in seconds' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l max-size -d 'Largest upload accepted, in bytes' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-endpoint -d 'Keep file contents in this S3-compatible store (SeaweedFS, MinIO, Amazon S3) instead of the data folder, e.g. http://127.0.0.1:8333' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-bucket -d 'The bucket of --s3-endpoint to keep file contents in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-access-key -d 'Access key id for --s3-endpoint (also from AWS_ACCESS_KEY_ID)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-secret-key -d 'Secret access key for --s3-endpoint; prefer the environment (also from AWS_SECRET_ACCESS_KEY), where other users cannot see it' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l s3-region -d 'Signing region of --s3-endpoint' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l public-url -d 'The address clients reach the server by, e.g. https://files.example.com behind a proxy: upload forms and download URLs name it (default: the --listen address, loopback for a wildcard one), whatever Host header a request carries' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l idle-timeout -d 'Close a connection that sends no request head for SECS seconds (idle keep-alive connections included)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l max-connections -d 'Open connections at most (default: half the open-file limit, less a reserve); more wait to be accepted' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l database -d 'Where users, sessions and blob records live: sqlite:PATH (default: cubeblob.db in --data) or postgres://USER:PASSWORD@HOST:PORT/NAME, which several instances can share; prefer the environment for a URL with a password' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l db-pool -d 'Connections to PostgreSQL at most, per instance' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l api-url -d 'Base URL of the ConnectyCube API (enterprise hosts, or a local server)' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l profile -d 'Profile in the config file to read and store the token in' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l progress -d 'How to show transfer progress on stderr' -r -f -a "auto\t'Bars on a terminal, plain lines otherwise'
bar\t'Always bars'
plain\t'Plain timestamped lines'
none\t'No progress at all'"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l color -d 'When to use colour (NO_COLOR is honoured too)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l timeout -d 'Seconds to wait for a server to answer before giving up on a request' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l retries -d 'How many times to retry a safe request after a connection error, 5xx or 429' -r
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l local -d 'Run against an embedded local server (data under the user\'s data folder); no account needed'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l json -d 'Print one JSON object per result line (JSON Lines) on stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -s q -l quiet -d 'Print nothing but results and errors'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -l allow-insecure-http -d 'Allow a plain http:// API URL for a host that is not loopback (tokens travel unencrypted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -s v -l verbose -d 'Log each request and its answer on stderr (tokens and passwords redacted)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "login" -d 'Create a session and store its token in the profile'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "logout" -d 'Destroy the session on the server and forget the stored token'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "whoami" -d 'Show who the token belongs to, which API it is for, and when it expires'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "upload" -d 'Upload files (create the blob, send it to storage, declare it complete)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "info" -d 'Show blob records by id (digits) or uid (hex)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "list" -d 'List your blobs: one page, or every page with --all'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "download" -d 'Download blobs by id or uid to a file, a folder or stdout'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "rename" -d 'Rename a blob (the short form of `edit --name`)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "edit" -d 'Change a blob\'s name or content type; its id, uid and content stay'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "replace" -d 'Send new content for a blob: the id stays, the uid changes'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "rm" -d 'Delete blobs by id or uid, from stdin (`-`), or every blob matching filters'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "stats" -d 'Count and total size of your blobs (or those matching filters), by type, month and state'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "copy" -d 'Copy blobs into another profile\'s application and user (ids, uids, filters or all)'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "sync" -d 'Make the blobs under a prefix match a folder: upload new files, replace changed ones'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "completions" -d 'Print a shell completion script'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "serve" -d 'Run the local ConnectyCube-compatible storage server'
complete -c cubeblob -n "__fish_cubeblob_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami upload info list download rename edit replace rm stats copy sync completions serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
