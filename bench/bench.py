#!/usr/bin/env python3
"""The benchmark driver that bench/run.sh calls once the servers are up.

It prepares the data (files on disk, the blobs to download and to list), runs every
workload for every tool, alternating the tools and repeating, measures each run's wall
time and the peak RSS of the tool's process tree (wait4 in bench/spawn.c: the largest of
the process and its children, so the curl script counts its biggest curl or jq), checks
each run's result, and writes the Markdown report (report.py).

W1 to W5 are here; W6 to W9 and COPY in many.py. The settings come from the environment
that run.sh sets (harness.py; see the top of run.sh).
"""

import json
import os
import statistics
import sys
import time

from harness import (API, APP_ID, AUTH_KEY, BIG, BIN, CURL_DIR, FILE_SIZE, OUT, RUNS, SDK,
                     SMALL, STARTUP_RUNS, USERS, W3_FILES, W3_JOBS, W3_SEQ_FILES,
                     W4_BLOBS, WORK, api, check_ok, human_bytes, log, make_files, md5_file,
                     measure, selected, session, write_lines, write_random)
from many import ManyWorkloads
from report import report


class Bench(ManyWorkloads):
    def __init__(self):
        os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
        self.cfg = os.path.join(WORK, "cubeblob-config")
        self.results = []  # dicts, one per (workload, tool)
        self.notes = []  # (key, text): workloads skipped, and why
        self.counter = 0

    # -- environments per tool
    def cb_env(self, api_url=API):
        return {"CUBEBLOB_CONFIG_DIR": self.cfg, "CUBEBLOB_API_URL": api_url,
                "NO_COLOR": "1"}

    def curl_env(self, login="alice"):
        return {"CB_API": API, "CB_TOKEN": self.tokens[login]}

    sdk_env = curl_env

    def tag(self, name):
        self.counter += 1
        return f"{self.counter:05d}-{name}"

    # -- set-up (untimed)
    def setup(self):
        t0 = time.perf_counter()
        self.tokens = {login: session(login) for login in USERS}
        for login in USERS:
            self.login(login, "default" if login == "alice" else login)
        log(f"set-up: {len(USERS)} users logged in in {time.perf_counter() - t0:.1f} s")

    def login(self, login, profile, api_url=API):
        run = measure([BIN, "--profile", profile, "login", "--app-id", str(APP_ID),
                       "--auth-key", AUTH_KEY, "--login", login, "--password-stdin"],
                      self.cb_env(api_url), stdin_path=self._password_file(login),
                      tag=f"login-{profile}")
        check_ok(run, f"cubeblob login {login} ({profile})")

    def prepare_big_small(self):
        """W1, W2 and COPY's files: one large and one small."""
        if hasattr(self, "big"):
            return
        data = os.path.join(WORK, "data-files")
        os.makedirs(data, exist_ok=True)
        self.big = os.path.join(data, "big.bin")
        self.small = os.path.join(data, "small.bin")
        write_random(self.big, BIG)
        write_random(self.small, SMALL)
        self.md5 = {self.big: md5_file(self.big), self.small: md5_file(self.small)}

    def prepare_remote(self):
        """W2's blobs (and COPY's source), uploaded once by cubeblob."""
        if hasattr(self, "remote"):
            return
        self.prepare_big_small()
        self.remote = {}
        for path in (self.big, self.small):
            run = measure([BIN, "upload", "--json", path], self.cb_env(), tag="setup-w2")
            check_ok(run, "uploading the W2 blobs")
            self.remote[path] = json.loads(run.stdout.splitlines()[0])

    def prepare_w4(self):
        """W4's blobs: a user of their own, so no other workload changes what is listed."""
        t0 = time.perf_counter()
        w4 = os.path.join(WORK, "data-files", "w4")
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
        log(f"W4 set-up: {W4_BLOBS} blobs in {time.perf_counter() - t0:.1f} s")

    def _password_file(self, login):
        path = os.path.join(WORK, f"pw-{login}")
        with open(path, "w") as f:
            f.write(USERS[login] + "\n")
        return path

    # -- the rounds
    def workload(self, key, title, unit, units, tools, runs=RUNS, sync=False,
                 rotate=True, base=None):
        """tools: list of (label, run_fn) where run_fn(i) -> Run after checking it.
        Each round runs every tool once, the order rotated by one per round (unless
        `rotate` is false: W7's reruns must follow its first run). `base` is the row
        the report's ratios compare with (default: the first)."""
        log(f"{key}: {title}")
        times = {label: [] for label, _ in tools}
        rss = {label: [] for label, _ in tools}
        for i in range(runs):
            shift = i % len(tools) if rotate else 0
            order = tools[shift:] + tools[:shift]
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
                "base": label == (base or tools[0][0]),
            })
            med = statistics.median(times[label])
            log(f"  {label:<40} median {med * 1000:9.1f} ms   "
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
        self.w3_files = make_files("w3", W3_FILES, FILE_SIZE)
        self.w3_list = write_lines(os.path.join(WORK, "data-files", "w3-files.txt"),
                                   self.w3_files)
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
        self.workload(key, f"upload {W3_FILES:,} files of {human_bytes(FILE_SIZE)}", "files",
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
        if selected("W1"):
            self.prepare_big_small()
            self.w1(self.big, "W1")
            self.w1(self.small, "W1 small")
        if selected("W2"):
            self.prepare_remote()
            self.w2(self.big, "W2")
            self.w2(self.small, "W2 small")
        if selected("W3"):
            self.w3()
        if selected("W4"):
            self.prepare_w4()
            self.w4()
        if selected("W5"):
            self.w5()
        if selected("W6"):
            self.w6()
        if selected("W7"):
            self.w7()
        if selected("W8"):
            self.w8()
        if selected("W9"):
            self.w9()
        if selected("COPY"):
            self.prepare_remote()
            self.copy()
        self.elapsed = time.perf_counter() - t0
        log(f"all workloads done in {self.elapsed:.0f} s")


def main():
    bench = Bench()
    bench.load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    bench.run_all()
    text = report(bench)
    # A report in the work folder goes with it: on stdout, then (smoke, BENCH_ONLY).
    if os.path.dirname(os.path.abspath(OUT)) == os.path.abspath(WORK):
        sys.stdout.write(text)
    else:
        log(f"wrote {OUT}")


if __name__ == "__main__":
    main()
