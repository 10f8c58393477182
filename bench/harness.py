"""What every part of the benchmark driver shares: the settings from the environment
that bench/run.sh sets (see the top of run.sh), untimed calls to the local server, the
measured runs (through bench/spawn.c) and the test data."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CURL_DIR = os.path.join(HERE, "curl")
SDK = os.path.join(HERE, "sdk", "sdk.cjs")

API = os.environ["BENCH_API"]
WORK = os.environ["BENCH_WORK"]
BIN = os.environ["BENCH_BIN"]
SPAWN = os.environ["BENCH_SPAWN"]
OUT = os.environ["BENCH_OUT"]
SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
# Workloads to run (W1 ... W9, COPY); empty: all of them.
ONLY = {k.strip().upper() for k in os.environ.get("BENCH_ONLY", "").split(",") if k.strip()}
APP_ID = 1
AUTH_KEY = "local-auth-key"
# One user per collection that must not change under another workload (run.sh makes
# them all, each with the password LOGIN-password): alice for W1 to W3, W5 and COPY's
# source, lister for W4, fetcher for W6, syncer and reuploader for W7, many for W8 (its
# blobs seeded at start), target for COPY's copies, w9 for W9 on SQLite.
LOGINS = ["alice", "lister", "fetcher", "syncer", "reuploader", "many", "target", "w9"]
USERS = {login: f"{login}-password" for login in LOGINS}

MIB = 1024 * 1024


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


def selected(key):
    return not ONLY or key in ONLY


RUNS = env_int("BENCH_RUNS", 1 if SMOKE else 5)
STARTUP_RUNS = env_int("BENCH_STARTUP_RUNS", 3 if SMOKE else 30)
BIG = env_int("BENCH_BIG_BYTES", 4 * MIB if SMOKE else 100 * MIB)
SMALL = env_int("BENCH_SMALL_BYTES", 64 * 1024 if SMOKE else 1 * MIB)
# Many small files (W3, W6, W7, W9): 16 KiB each, and 16 at a time for every tool that
# can run several (cubeblob's -j, xargs -P, the SDK's Promise.all workers).
FILE_SIZE = 16 * 1024
JOBS = 16
W3_FILES = env_int("BENCH_W3_FILES", 20 if SMOKE else 1000)
# The sequential curl loop costs about 60 ms a file on a 2-core machine: 1,000 files
# five times would take most of the time budget alone. It runs on the first
# BENCH_W3_SEQ_FILES files instead; a sequential loop's files per second do not depend
# on how many files it is given. W6 and W7 do the same.
W3_SEQ_FILES = min(env_int("BENCH_W3_SEQ_FILES", W3_FILES if SMOKE else 200), W3_FILES)
W3_JOBS = JOBS
W4_BLOBS = env_int("BENCH_W4_BLOBS", 250 if SMOKE else 10_000)
W6_FILES = env_int("BENCH_W6_FILES", 20 if SMOKE else 1000)
W6_SEQ_FILES = min(env_int("BENCH_W6_SEQ_FILES", W6_FILES if SMOKE else 200), W6_FILES)
# W6's download folders: on tmpfs where there is one. On ext4, creating 1,000 files
# right after the previous run deleted 1,000 makes the inode allocator scan past the
# recently deleted ones (`recently_deleted` in the profile), slower with every run:
# that measures the file system after the benchmark's own deletions, not the tools.
W6_DIR = os.environ.get("BENCH_W6_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else WORK)
W7_FILES = env_int("BENCH_W7_FILES", 20 if SMOKE else 1000)
W7_SEQ_FILES = min(env_int("BENCH_W7_SEQ_FILES", W7_FILES if SMOKE else 200), W7_FILES)
# Seeded by run.sh (`serve --seed-blobs`), which passes the count on.
W8_BLOBS = env_int("BENCH_W8_BLOBS", 2000 if SMOKE else 100_000)
# Each listing of 100,000 blobs takes about 10 s, nearly all of it the local server's
# (1,000 pages, each with a COUNT and an OFFSET over the user's blobs): three runs each.
W8_RUNS = env_int("BENCH_W8_RUNS", min(RUNS, 3))
W9_FILES = env_int("BENCH_W9_FILES", 20 if SMOKE else 1000)
# W9's two instances on one PostgreSQL database, or why there are none.
PG_URLS = os.environ.get("BENCH_PG_URLS", "").split()
PG_SKIP = os.environ.get("BENCH_PG_SKIP", "")
TIMEOUT = env_int("BENCH_TIMEOUT", 600)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human_bytes(n):
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


# ---------------------------------------------------------------------------- the API
def api(method, path, token=None, body=None):
    """One untimed call to the local server (set-up, checks and clean-up only)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("CB-Token", token)
    with urllib.request.urlopen(req, timeout=60) as res:
        text = res.read()
    return json.loads(text) if text.strip() else None


def session(login):
    body = {"application_id": APP_ID, "auth_key": AUTH_KEY,
            "user": {"login": login, "password": USERS[login]}}
    return api("POST", "/session", body=body)["session"]["token"]


# ------------------------------------------------------------------ running a process
class Run:
    def __init__(self, wall, rss_kb, code, stdout, stderr):
        self.wall, self.rss_kb, self.code = wall, rss_kb, code
        self.stdout, self.stderr = stdout, stderr


def measure(argv, env=None, stdin_path=None, tag="run"):
    """Runs argv under bench/spawn.c (see there why not from Python) with stdout and
    stderr to files: wall time from its fork to its wait4, and the peak RSS of the
    process tree."""
    out_path = os.path.join(WORK, "logs", f"{tag}.out")
    err_path = os.path.join(WORK, "logs", f"{tag}.err")
    report_path = os.path.join(WORK, "logs", f"{tag}.rusage")
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(out_path, "wb") as out, open(err_path, "wb") as err, \
            open(stdin_path or os.devnull, "rb") as stdin:
        proc = subprocess.Popen([SPAWN, report_path] + argv, stdin=stdin, stdout=out,
                                stderr=err, env=full_env, cwd=WORK, start_new_session=True)
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise SystemExit(f"{argv[0]} ran longer than {TIMEOUT} s; logs in {err_path}")
    with open(report_path) as f:
        wall, rss_kb, code = f.read().split()
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    return Run(float(wall), int(rss_kb), int(code), stdout, stderr)


def check_ok(run, what):
    if run.code != 0:
        raise SystemExit(f"{what} failed (exit {run.code}):\n{run.stderr[-3000:]}")


# ---------------------------------------------------------------------------- the data
def write_random(path, size):
    """Incompressible, and different per file."""
    with open(path, "wb") as f:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 4 * MIB))
            f.write(chunk)
            left -= len(chunk)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def make_files(name, count, size):
    """`count` files of `size` random bytes in data-files/NAME, named f00000.bin ...;
    their paths."""
    folder = os.path.join(WORK, "data-files", name)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"f{i:05d}.bin")
        write_random(path, size)
        paths.append(path)
    return paths


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path
