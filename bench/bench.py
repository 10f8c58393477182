#!/usr/bin/env python3
"""The benchmark driver that bench/run.sh calls once the server is up.

It prepares the data (files on disk, the blobs to download and to list), runs every
workload for every tool, alternating the tools and repeating, measures each run's wall
time and the peak RSS of the tool's process tree (wait4 in bench/spawn.c: the largest of
the process and its children, so the curl script counts its biggest curl or jq), checks
each run's result, and writes the Markdown report.

Everything comes from the environment that run.sh sets; see the top of run.sh.
"""

import datetime
import hashlib
import json
import os
import platform
import signal
import statistics
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
APP_ID = 1
AUTH_KEY = "local-auth-key"
USERS = {"alice": "alice-password", "lister": "lister-password"}

MIB = 1024 * 1024


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


RUNS = env_int("BENCH_RUNS", 1 if SMOKE else 5)
STARTUP_RUNS = env_int("BENCH_STARTUP_RUNS", 3 if SMOKE else 30)
BIG = env_int("BENCH_BIG_BYTES", 4 * MIB if SMOKE else 100 * MIB)
SMALL = env_int("BENCH_SMALL_BYTES", 64 * 1024 if SMOKE else 1 * MIB)
W3_FILES = env_int("BENCH_W3_FILES", 20 if SMOKE else 1000)
W3_SIZE = 16 * 1024
# The sequential curl loop costs about 60 ms a file on a 2-core machine: 1,000 files
# five times would take most of the time budget alone. It runs on the first
# BENCH_W3_SEQ_FILES files instead; a sequential loop's files per second do not depend
# on how many files it is given.
W3_SEQ_FILES = min(env_int("BENCH_W3_SEQ_FILES", W3_FILES if SMOKE else 200), W3_FILES)
W3_JOBS = 16
W4_BLOBS = env_int("BENCH_W4_BLOBS", 250 if SMOKE else 10_000)
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


class Bench:
    def __init__(self):
        os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
        self.cfg = os.path.join(WORK, "cubeblob-config")
        self.results = []  # dicts, one per (workload, tool)
        self.counter = 0

    # -- environments per tool
    def cb_env(self):
        return {"CUBEBLOB_CONFIG_DIR": self.cfg, "CUBEBLOB_API_URL": API,
                "NO_COLOR": "1"}

    def curl_env(self, login="alice"):
        return {"CB_API": API, "CB_TOKEN": self.tokens[login]}

    sdk_env = curl_env

    def tag(self, name):
        self.counter += 1
        return f"{self.counter:05d}-{name}"

    # -- set-up
    def setup(self):
        t0 = time.perf_counter()
        self.tokens = {login: session(login) for login in USERS}
        for login in USERS:
            profile = "default" if login == "alice" else login
            run = measure([BIN, "--profile", profile, "login", "--app-id", str(APP_ID),
                           "--auth-key", AUTH_KEY, "--login", login, "--password-stdin"],
                          self.cb_env(), stdin_path=self._password_file(login),
                          tag=f"login-{login}")
            check_ok(run, f"cubeblob login {login}")

        data = os.path.join(WORK, "data-files")
        os.makedirs(data, exist_ok=True)
        self.big = os.path.join(data, "big.bin")
        self.small = os.path.join(data, "small.bin")
        write_random(self.big, BIG)
        write_random(self.small, SMALL)
        self.md5 = {self.big: md5_file(self.big), self.small: md5_file(self.small)}

        w3 = os.path.join(data, "w3")
        os.makedirs(w3)
        self.w3_files = []
        for i in range(W3_FILES):
            path = os.path.join(w3, f"f{i:05d}.bin")
            write_random(path, W3_SIZE)
            self.w3_files.append(path)
        self.w3_list = os.path.join(data, "w3-files.txt")
        with open(self.w3_list, "w") as f:
            f.write("".join(p + "\n" for p in self.w3_files))

        # W2's blobs, uploaded once by cubeblob.
        self.remote = {}
        for path in (self.big, self.small):
            run = measure([BIN, "upload", "--json", path], self.cb_env(), tag="setup-w2")
            check_ok(run, "uploading the W2 blobs")
            rec = json.loads(run.stdout.splitlines()[0])
            self.remote[path] = rec

        # W4's blobs: a user of their own, so no other workload changes what is listed.
        w4 = os.path.join(data, "w4")
        os.makedirs(w4)
        paths = []
        for i in range(W4_BLOBS):
            path = os.path.join(w4, f"b{i:05d}.txt")
            with open(path, "w") as f:
                f.write(f"blob {i}\n")
            paths.append(path)
        step = 2000
        for start in range(0, len(paths), step):
            run = measure([BIN, "--profile", "lister", "upload", "-j", "16", "--json"]
                          + paths[start:start + step], self.cb_env(), tag="setup-w4")
            check_ok(run, "creating the W4 blobs")
        total = api("GET", "/blobs?page=1&per_page=1", self.tokens["lister"])["total_entries"]
        if total != W4_BLOBS:
            raise SystemExit(f"W4 set-up: the server holds {total} blobs, not {W4_BLOBS}")
        log(f"set-up done in {time.perf_counter() - t0:.1f} s "
            f"({human_bytes(BIG)} + {human_bytes(SMALL)} files, {W3_FILES} W3 files, "
            f"{W4_BLOBS} W4 blobs)")

    def _password_file(self, login):
        path = os.path.join(WORK, f"pw-{login}")
        with open(path, "w") as f:
            f.write(USERS[login] + "\n")
        return path

    # -- the rounds
    def workload(self, key, title, unit, units, tools, runs=RUNS, sync=False):
        """tools: list of (label, run_fn) where run_fn(i) -> Run after checking it.
        Each round runs every tool once, the order rotated by one per round."""
        log(f"{key}: {title}")
        times = {label: [] for label, _ in tools}
        rss = {label: [] for label, _ in tools}
        for i in range(runs):
            order = tools[i % len(tools):] + tools[:i % len(tools)]
            for label, fn in order:
                if sync:
                    os.sync()
                run = fn(i)
                times[label].append(run.wall)
                rss[label].append(run.rss_kb)
        for label, _ in tools:
            n = units[label] if isinstance(units, dict) else units
            self.results.append({
                "key": key, "title": title, "tool": label, "unit": unit, "units": n,
                "times": times[label], "rss_kb": rss[label],
            })
            med = statistics.median(times[label])
            log(f"  {label:<28} median {med * 1000:9.1f} ms   "
                f"peak RSS {max(rss[label]) / 1024:6.1f} MiB")

    # W1: upload one file
    def w1(self, path, key):
        size = os.path.getsize(path)

        def finish(run, blob_id, what):
            rec = api("GET", f"/blobs/{blob_id}", self.tokens["alice"])["blob"]
            if rec.get("size") != size or rec.get("blob_status") != "complete":
                raise SystemExit(f"{what}: the server holds {rec}, expected {size} bytes")
            api("DELETE", f"/blobs/{blob_id}", self.tokens["alice"])  # keep the disk flat
            return run

        def cubeblob(i):
            run = measure([BIN, "upload", "--json", path], self.cb_env(), tag=self.tag(key))
            check_ok(run, "cubeblob upload")
            return finish(run, json.loads(run.stdout.splitlines()[0])["id"], "cubeblob upload")

        def curl(i):
            run = measure([os.path.join(CURL_DIR, "upload.sh"), path], self.curl_env(),
                          tag=self.tag(key))
            check_ok(run, "curl upload")
            return finish(run, run.stdout.split()[0], "curl upload")

        def sdk(i):
            run = measure(["node", SDK, "upload", path], self.sdk_env(), tag=self.tag(key))
            check_ok(run, "SDK upload")
            return finish(run, run.stdout.split()[0], "SDK upload")

        self.workload(key, f"upload one {human_bytes(size)} file", "bytes", size,
                      [("cubeblob", cubeblob), ("curl script", curl), ("JS SDK", sdk)],
                      sync=True)

    # W2: download one blob
    def w2(self, path, key):
        size = os.path.getsize(path)
        rec = self.remote[path]
        target = os.path.join(WORK, "download.bin")

        def prepare():
            if os.path.exists(target):
                os.remove(target)

        def check(run, what, i):
            check_ok(run, what)
            got = os.path.getsize(target)
            if got != size or (i == 0 and md5_file(target) != self.md5[path]):
                raise SystemExit(f"{what}: the downloaded file differs ({got} bytes)")
            return run

        def cubeblob(i):
            prepare()
            run = measure([BIN, "download", str(rec["id"]), "-o", target, "--force"],
                          self.cb_env(), tag=self.tag(key))
            return check(run, "cubeblob download", i)

        def curl(i):
            prepare()
            run = measure([os.path.join(CURL_DIR, "download.sh"), rec["uid"], target],
                          self.curl_env(), tag=self.tag(key))
            return check(run, "curl download", i)

        def curl_verified(i):
            prepare()
            run = measure([os.path.join(CURL_DIR, "download-verified.sh"), rec["uid"], target],
                          self.curl_env(), tag=self.tag(key))
            return check(run, "curl download + MD5 check", i)

        def sdk(i):
            prepare()
            run = measure(["node", SDK, "download", rec["uid"], target], self.sdk_env(),
                          tag=self.tag(key))
            return check(run, "SDK download", i)

        self.workload(key, f"download one {human_bytes(size)} blob", "bytes", size,
                      [("cubeblob", cubeblob), ("curl script", curl),
                       ("curl script + MD5 check", curl_verified), ("JS SDK", sdk)],
                      sync=True)

    # W3: many small files
    def w3(self):
        key = "W3"
        seq_list = os.path.join(WORK, "data-files", "w3-seq.txt")
        with open(seq_list, "w") as f:
            f.write("".join(p + "\n" for p in self.w3_files[:W3_SEQ_FILES]))

        def check(run, what, n):
            check_ok(run, what)
            lines = [l for l in run.stdout.splitlines() if l.strip()]
            if len(lines) != n:
                raise SystemExit(f"{what}: {len(lines)} results for {n} files")
            return run

        def cubeblob(i):
            run = measure([BIN, "upload", "-j", str(W3_JOBS), "--json"] + self.w3_files,
                          self.cb_env(), tag=self.tag(key))
            check(run, "cubeblob upload -j", W3_FILES)
            if any(json.loads(l).get("status") != "complete" for l in run.stdout.splitlines()):
                raise SystemExit("cubeblob upload -j: some uploads did not complete")
            return run

        def curl_seq(i):
            run = measure([os.path.join(CURL_DIR, "upload.sh")] + self.w3_files[:W3_SEQ_FILES],
                          self.curl_env(), tag=self.tag(key))
            return check(run, "curl sequential loop", W3_SEQ_FILES)

        def curl_xargs(i):
            run = measure(["xargs", "-P", str(W3_JOBS), "-n", "1",
                           os.path.join(CURL_DIR, "upload.sh")],
                          self.curl_env(), stdin_path=self.w3_list, tag=self.tag(key))
            return check(run, "curl xargs -P", W3_FILES)

        def sdk(i):
            run = measure(["node", SDK, "upload", "-j", str(W3_JOBS)] + self.w3_files,
                          self.sdk_env(), tag=self.tag(key))
            return check(run, "SDK upload", W3_FILES)

        seq_label = "curl script, sequential"
        units = {"cubeblob": W3_FILES, seq_label: W3_SEQ_FILES,
                 f"curl script, xargs -P {W3_JOBS}": W3_FILES, "JS SDK": W3_FILES}
        self.workload(key, f"upload {W3_FILES:,} files of {human_bytes(W3_SIZE)}", "files",
                      units,
                      [("cubeblob", cubeblob), (seq_label, curl_seq),
                       (f"curl script, xargs -P {W3_JOBS}", curl_xargs), ("JS SDK", sdk)],
                      sync=True)

    # W4: list every blob
    def w4(self):
        key = "W4"

        def check(run, what):
            check_ok(run, what)
            ids = {json.loads(l)["id"] for l in run.stdout.splitlines() if l.strip()}
            if len(ids) != W4_BLOBS:
                raise SystemExit(f"{what}: listed {len(ids)} blobs, not {W4_BLOBS}")
            return run

        def cubeblob(i):
            run = measure([BIN, "--profile", "lister", "list", "--all", "--json"],
                          self.cb_env(), tag=self.tag(key))
            return check(run, "cubeblob list --all")

        def curl(i):
            run = measure([os.path.join(CURL_DIR, "list.sh")], self.curl_env("lister"),
                          tag=self.tag(key))
            return check(run, "curl page loop")

        def sdk(i):
            run = measure(["node", SDK, "list"], self.sdk_env("lister"), tag=self.tag(key))
            return check(run, "SDK page loop")

        self.workload(key, f"list {W4_BLOBS:,} blobs", "blobs", W4_BLOBS,
                      [("cubeblob", cubeblob), ("curl script, page loop", curl),
                       ("JS SDK", sdk)])

    # W5: start-up
    def w5(self):
        def version(i):
            run = measure([BIN, "--version"], self.cb_env(), tag=self.tag("W5"))
            check_ok(run, "cubeblob --version")
            return run

        def whoami(i):
            run = measure([BIN, "whoami"], self.cb_env(), tag=self.tag("W5"))
            check_ok(run, "cubeblob whoami")
            return run

        def true(i):
            return measure(["true"], {}, tag=self.tag("W5"))

        self.workload("W5", "start-up", "runs", 1,
                      [("cubeblob --version", version), ("cubeblob whoami", whoami),
                       ("/bin/true (spawn cost)", true)], runs=STARTUP_RUNS)

    def run_all(self):
        t0 = time.perf_counter()
        self.setup()
        self.w1(self.big, "W1")
        self.w1(self.small, "W1 small")
        self.w2(self.big, "W2")
        self.w2(self.small, "W2 small")
        self.w3()
        self.w4()
        self.w5()
        self.elapsed = time.perf_counter() - t0
        log(f"all workloads done in {self.elapsed:.0f} s")


# -------------------------------------------------------------------------- the report
def command_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        return out.strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - a missing tool is reported, not fatal
        return "unknown"


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return cpu, os.cpu_count(), mem_kb / 1024 / 1024


def fmt_time(s):
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_rate(unit, per_s):
    if unit == "bytes":
        return f"{per_s / MIB:.0f} MiB/s" if per_s >= 10 * MIB else f"{per_s / MIB:.1f} MiB/s"
    if unit == "runs":
        return "–"
    return f"{per_s:,.0f} {unit}/s"


def summarise(results):
    by_key = {}
    for r in results:
        r["median"] = statistics.median(r["times"])
        r["per_s"] = r["units"] / r["median"]
        r["peak_mib"] = max(r["rss_kb"]) / 1024
        by_key.setdefault(r["key"], []).append(r)
    for rows in by_key.values():
        base = rows[0]  # cubeblob is first in every workload
        for r in rows:
            # Time per unit against cubeblob's: above 1, cubeblob is faster.
            r["ratio"] = base["per_s"] / r["per_s"]
    return by_key


def targets(by_key):
    """The issue's targets, each as (target, figures, met)."""
    out = []

    def row(key, tool):
        return next(r for r in by_key[key] if r["tool"] == tool)

    for key, small in (("W1", "W1 small"), ("W2", "W2 small")):
        cb, curl, sdk = row(key, "cubeblob"), row(key, "curl script"), row(key, "JS SDK")
        over = cb["median"] / curl["median"] - 1
        out.append((f"{key}: wall time within 10% of curl",
                    f"cubeblob {fmt_time(cb['median'])}, curl {fmt_time(curl['median'])} "
                    f"({over:+.0%})", over <= 0.10))
        out.append((f"{key}: ahead of the SDK",
                    f"cubeblob {fmt_time(cb['median'])}, SDK {fmt_time(sdk['median'])}",
                    cb["median"] < sdk["median"]))
        cbs = row(small, "cubeblob")
        out.append((f"{key}: peak memory under 30 MB",
                    f"{cb['peak_mib']:.1f} MiB ({human_bytes(cb['units'])}), "
                    f"{cbs['peak_mib']:.1f} MiB ({human_bytes(cbs['units'])})",
                    max(cb["peak_mib"], cbs["peak_mib"]) * MIB < 30e6))
        diff = cb["peak_mib"] - cbs["peak_mib"]
        out.append((f"{key}: same memory for 1 MB and 100 MB (±5 MB)",
                    f"{diff:+.1f} MiB", abs(diff) * MIB <= 5e6))
    cb = row("W3", "cubeblob")
    seq = row("W3", "curl script, sequential")
    xargs = row("W3", f"curl script, xargs -P {W3_JOBS}")
    sdk = row("W3", "JS SDK")
    out.append(("W3: at least 5× the files/s of the sequential curl loop",
                f"{cb['per_s']:,.0f} vs {seq['per_s']:,.0f} files/s "
                f"({cb['per_s'] / seq['per_s']:.1f}×)", cb["per_s"] >= 5 * seq["per_s"]))
    out.append((f"W3: ahead of xargs -P {W3_JOBS} curl",
                f"{cb['per_s']:,.0f} vs {xargs['per_s']:,.0f} files/s "
                f"({cb['per_s'] / xargs['per_s']:.1f}×)", cb["per_s"] > xargs["per_s"]))
    out.append(("W3: ahead of the SDK",
                f"{cb['per_s']:,.0f} vs {sdk['per_s']:,.0f} files/s "
                f"({cb['per_s'] / sdk['per_s']:.1f}×)", cb["per_s"] > sdk["per_s"]))
    cb, loop = row("W4", "cubeblob"), row("W4", "curl script, page loop")
    out.append(("W4: at least 3× faster than the sequential page loop",
                f"{fmt_time(cb['median'])} vs {fmt_time(loop['median'])} "
                f"({loop['median'] / cb['median']:.1f}×)", loop["median"] >= 3 * cb["median"]))
    v, w = row("W5", "cubeblob --version"), row("W5", "cubeblob whoami")
    out.append(("W5: `--version` under 5 ms median", fmt_time(v["median"]),
                v["median"] < 0.005))
    out.append(("W5: `whoami` against the local server under 20 ms",
                fmt_time(w["median"]), w["median"] < 0.020))
    return out


def report(bench):
    by_key = summarise(bench.results)
    cpu, cores, mem_gib = machine()
    sdk_version = json.load(open(os.path.join(HERE, "node_modules", "connectycube",
                                              "package.json")))["version"]
    git = command_version(["git", "-C", REPO, "describe", "--always", "--dirty"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = []
    add = lines.append
    add("# Benchmarks: cubeblob, a curl script and the JS SDK")
    add("")
    if SMOKE:
        add("**Smoke run** (`BENCH_SMOKE=1`): tiny sizes, one run each. These figures "
            "only show that the script works; they measure nothing.")
        add("")
    add(f"Written by `bench/run.sh` on {now}, in {bench.elapsed / 60:.1f} minutes "
        f"(build excluded). Every tool talks to the same `cubeblob serve` on loopback, "
        f"with a fresh data folder. Each workload runs {RUNS} times per tool "
        f"(start-up: {STARTUP_RUNS}), the tools alternating in rotated order; "
        "the figures are the median wall time, the fastest and slowest run, the "
        "throughput at the median, and the peak RSS (the highest of the runs) of the "
        "tool's process tree as `wait4` reports it (through `bench/spawn.c`, so the "
        "driver's own memory does not leak into the figure).")
    add("")
    add("| workload | tool | wall (median) | min – max | throughput | peak RSS | time vs cubeblob |")
    add("|---|---|---:|---:|---:|---:|---:|")
    for key, rows in by_key.items():
        for r in rows:
            title = f"{key}: {r['title']}"
            if r["units"] != rows[0]["units"]:
                title += f" (this tool: {r['units']:,} {r['unit']})"
            ratio = "1.00×" if r is rows[0] else f"{r['ratio']:.2f}×"
            if key == "W5":
                ratio = "–"
            add(f"| {title} | {r['tool']} | {fmt_time(r['median'])} | "
                f"{fmt_time(min(r['times']))} – {fmt_time(max(r['times']))} | "
                f"{fmt_rate(r['unit'], r['per_s'])} | {r['peak_mib']:.1f} MiB | {ratio} |")
    add("")
    add("*time vs cubeblob*: the tool's time per byte, file or blob divided by "
        "cubeblob's; above 1.00× cubeblob is faster. For the sequential curl loop in W3 it "
        "compares files per second, since that loop runs on fewer files (below).")
    add("")
    add("## The issue's targets")
    add("")
    add("| target | figures | met |")
    add("|---|---|---|")
    for target, figures, met in targets(by_key):
        add(f"| {target} | {figures} | {'yes' if met else '**no**'} |")
    add("")
    add("## The tools")
    add("")
    add("- **cubeblob**: the release build; the token stored by `cubeblob login` "
        "beforehand. `upload --json FILE`, `download ID -o FILE --force`, "
        f"`upload -j {W3_JOBS} --json FILE...`, `list --all --json`, `--version`, "
        "`whoami`. It checks what the others do not: the MD5 of every upload against "
        "the storage's ETag, and the size and MD5 of every download.")
    add("- **curl script**: `bench/curl/*.sh`, bash with curl and jq, the README's "
        "walk-through as a user would script it (one jq call per blob, no MD5 check); "
        "the token from an earlier `POST /session`. W3 runs it as one sequential loop "
        f"over the first {W3_SEQ_FILES:,} of the {W3_FILES:,} files (about 60 ms a file: "
        f"the full set five times would use most of the 15-minute budget; a sequential "
        f"loop's files per second do not depend on the count), and as "
        f"`xargs -P {W3_JOBS} -n 1 upload.sh` over all of them. In W2, *curl script + MD5 "
        "check* (`download-verified.sh`) also does the work cubeblob does: the MD5 of the "
        "file (`md5sum`) against the storage's ETag. Its peak RSS is the largest of bash, "
        "curl, jq, md5sum and xargs.")
    add(f"- **JS SDK**: `bench/sdk/sdk.cjs` on `connectycube` {sdk_version} in Node: "
        "`storage.createAndUpload` with a file stream (the SDK's form-data body streams "
        "it chunked; a Buffer would hold the whole file), `storage.getFileObject` for the "
        "download URL then the SDK's own `node-fetch` piped to a file, a `storage.list` "
        f"page loop of 100, and W3 as `Promise.all` over {W3_JOBS} workers. The token is "
        "handed to `ConnectyCube.init`, so no run pays for a login.")
    add("- W1 deletes each uploaded blob after the run (untimed) and every upload is "
        "checked on the server (size, status complete); downloads are checked by size "
        "and MD5; W4 lists the blobs of a user of its own, created once by cubeblob, so "
        "every run of every tool lists the same "
        f"{W4_BLOBS:,}. The page cache is warm (each file was read before), and "
        "`sync` runs before every upload and download run.")
    add("")
    add("## The machine")
    add("")
    add(f"- {cores} cores ({cpu}), {mem_gib:.1f} GiB memory, "
        f"{platform.system()} {platform.release()}")
    add(f"- load average before the run: {bench.load_before}")
    add(f"- cubeblob: `{command_version([BIN, '--version'])}` (git {git}), "
        f"{command_version(['rustc', '--version'])}")
    add(f"- curl: `{command_version(['curl', '--version'])}`")
    add(f"- jq: `{command_version(['jq', '--version'])}`, bash "
        f"`{command_version(['bash', '-c', 'echo $BASH_VERSION'])}`")
    add(f"- Node `{command_version(['node', '--version'])}`, connectycube {sdk_version}")
    add(f"- Python {platform.python_version()} (the driver)")
    add("")
    add("Reproduce: `bench/run.sh` (environment: `BENCH_RUNS`, `BENCH_SMOKE=1` for a "
        "10-second check, `BENCH_W3_SEQ_FILES`, `BENCH_W4_BLOBS`; see the top of the "
        "script).")
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as f:
        f.write(text)
    return text


def main():
    bench = Bench()
    bench.load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    bench.run_all()
    text = report(bench)
    log(f"wrote {OUT}")
    if SMOKE:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
