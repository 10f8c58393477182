"""The Markdown report of a benchmark run: the table of every workload and tool, the
issues' targets met or not, the tools, the machine. bench/NOTES.md, when there, is
included as written (what the profile shows where a target is missed), so that a
regenerated report keeps it."""

import datetime
import json
import os
import platform
import statistics
import subprocess

from harness import (BIG, BIN, HERE, JOBS, MIB, OUT, REPO, RUNS, SMOKE, W6_DIR,
                     STARTUP_RUNS, W3_FILES, W3_JOBS, W3_SEQ_FILES, W4_BLOBS, W6_FILES,
                     W6_SEQ_FILES, W7_FILES, W7_SEQ_FILES, W8_BLOBS, W8_RUNS, W9_FILES,
                     human_bytes)

# "No worse than today" (issue 17): cubeblob's medians in the published run before it
# (bench/RESULTS.md of 2026-11-26, git 3a409ae, this 2-core machine), with the units
# they were measured on; a run on other sizes is not compared.
BASELINE = {
    ("W1", "cubeblob"): (0.3231, 100 * MIB),
    ("W1 small", "cubeblob"): (0.0133, 1 * MIB),
    ("W3", "cubeblob"): (1.10, 1000),
    ("W4", "cubeblob"): (0.1772, 10_000),
    ("W5", "cubeblob --version"): (0.0026, 1),
    ("W5", "cubeblob whoami"): (0.0054, 1),
}
# How much slower than the baseline still counts as no worse: the machine is shared
# and noisy (see each row's min – max).
BASELINE_SLACK = 0.10


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
        base = next(r for r in rows if r["base"])  # cubeblob's row, first unless said
        for r in rows:
            # Time per unit against the base row's: above 1, the base is faster.
            r["ratio"] = base["per_s"] / r["per_s"]
            r["base_units"] = base["units"]
    return by_key


def targets(by_key):
    """The issues' targets, each as (target, figures, met), for the workloads run."""
    out = []

    def row(key, tool):
        return next(r for r in by_key[key] if r["tool"] == tool)

    def ran(*keys):
        return all(k in by_key for k in keys)

    def faster(what, cb, other, times):
        out.append((what, f"{cb['per_s']:,.0f} vs {other['per_s']:,.0f} {cb['unit']}/s "
                    f"({cb['per_s'] / other['per_s']:.1f}×)",
                    cb["per_s"] >= times * other["per_s"] if times else
                    cb["per_s"] > other["per_s"]))

    def against_loops(key, times, jobs):
        """A many-file workload against the curl loops and the SDK."""
        cb = row(key, "cubeblob")
        faster(f"{key}: at least {times}× the files/s of the sequential curl loop", cb,
               row(key, "curl script, sequential"), times)
        faster(f"{key}: ahead of xargs -P {jobs} curl", cb,
               row(key, f"curl script, xargs -P {jobs}"), None)
        faster(f"{key}: ahead of the SDK", cb, row(key, "JS SDK"), None)

    def memory(key, small):
        cb, cbs = row(key, "cubeblob"), row(small, "cubeblob")
        out.append((f"{key}: peak memory under 30 MB",
                    f"{cb['peak_mib']:.1f} MiB ({human_bytes(cb['units'])}), "
                    f"{cbs['peak_mib']:.1f} MiB ({human_bytes(cbs['units'])})",
                    max(cb["peak_mib"], cbs["peak_mib"]) * MIB < 30e6))
        diff = cb["peak_mib"] - cbs["peak_mib"]
        out.append((f"{key}: same memory for 1 MB and 100 MB (±5 MB)",
                    f"{diff:+.1f} MiB", abs(diff) * MIB <= 5e6))

    if ran("W1", "W1 small"):
        cb, curl, sdk = row("W1", "cubeblob"), row("W1", "curl script"), row("W1", "JS SDK")
        over = cb["median"] / curl["median"] - 1
        out.append(("W1: wall time within 10% of curl",
                    f"cubeblob {fmt_time(cb['median'])}, curl {fmt_time(curl['median'])} "
                    f"({over:+.0%})", over <= 0.10))
        out.append(("W1: ahead of the SDK",
                    f"cubeblob {fmt_time(cb['median'])}, SDK {fmt_time(sdk['median'])}",
                    cb["median"] < sdk["median"]))
        memory("W1", "W1 small")
    if ran("W2", "W2 small"):
        cb, curl = row("W2", "cubeblob"), row("W2", "curl script")
        verified, sdk = row("W2", "curl script + MD5 check"), row("W2", "JS SDK")
        x = cb["median"] / curl["median"]
        out.append(("W2: at most 1.25× raw curl (which checks nothing)",
                    f"cubeblob {fmt_time(cb['median'])}, curl {fmt_time(curl['median'])} "
                    f"({x:.2f}×)", x <= 1.25))
        x = cb["median"] / verified["median"]
        out.append(("W2: faster than curl plus an MD5 check (under 1.0×)",
                    f"cubeblob {fmt_time(cb['median'])}, curl + MD5 "
                    f"{fmt_time(verified['median'])} ({x:.2f}×)", x < 1.0))
        out.append(("W2: ahead of the SDK",
                    f"cubeblob {fmt_time(cb['median'])}, SDK {fmt_time(sdk['median'])}",
                    cb["median"] < sdk["median"]))
        memory("W2", "W2 small")
    if ran("W3"):
        against_loops("W3", 5, W3_JOBS)
    if ran("W4"):
        cb, loop = row("W4", "cubeblob"), row("W4", "curl script, page loop")
        out.append(("W4: at least 3× faster than the sequential page loop",
                    f"{fmt_time(cb['median'])} vs {fmt_time(loop['median'])} "
                    f"({loop['median'] / cb['median']:.1f}×)",
                    loop["median"] >= 3 * cb["median"]))
    if ran("W5"):
        v, w = row("W5", "cubeblob --version"), row("W5", "cubeblob whoami")
        out.append(("W5: `--version` under 5 ms median", fmt_time(v["median"]),
                    v["median"] < 0.005))
        out.append(("W5: `whoami` against the local server under 20 ms",
                    fmt_time(w["median"]), w["median"] < 0.020))
    for (key, tool), (median, units) in BASELINE.items():
        if key not in by_key:
            continue
        r = row(key, tool)
        if SMOKE:
            out.append((f"{key}: {tool} no worse than before (+{BASELINE_SLACK:.0%})",
                        "not compared in a smoke run", None))
            continue
        if r["units"] != units:
            out.append((f"{key}: {tool} no worse than before (+{BASELINE_SLACK:.0%})",
                        "not compared: this run's size differs from the baseline's", None))
            continue
        x = r["median"] / median
        out.append((f"{key}: {tool} no worse than before (+{BASELINE_SLACK:.0%})",
                    f"{fmt_time(r['median'])} vs {fmt_time(median)} ({x:.2f}×)",
                    x <= 1 + BASELINE_SLACK))
    if ran("W6"):
        against_loops("W6", 10, JOBS)
    if ran("W7"):
        rerun = row("W7", "cubeblob sync, rerun with its manifest")
        listing = row("W7", "cubeblob list --all (the same blobs)")
        curl = row("W7", "curl script, uploads everything again (sequential)")
        again = row("W7", f"cubeblob upload -j {JOBS}, everything again")
        x = rerun["median"] / listing["median"]
        out.append(("W7: the rerun with its manifest at most 1.5× `list --all`",
                    f"{fmt_time(rerun['median'])} vs {fmt_time(listing['median'])} "
                    f"({x:.2f}×)", x <= 1.5))
        # The curl loop ran on fewer files: its time for all of them, at its rate.
        curl_all = curl["median"] * rerun["units"] / curl["units"]
        out.append(("W7: the rerun with its manifest at least 10× faster than re-uploading",
                    f"{fmt_time(rerun['median'])} vs {fmt_time(curl_all)} for the curl "
                    f"loop ({curl_all / rerun['median']:.0f}×; "
                    f"{again['median'] / rerun['median']:.1f}× against `upload -j {JOBS}`)",
                    curl_all >= 10 * rerun["median"]))
    if ran("W8"):
        cb, bare = row("W8", "cubeblob --name '*.png'"), row("W8", "cubeblob, no filter")
        out.append(("W8: `list --all --name` peak memory under 30 MB",
                    f"{cb['peak_mib']:.1f} MiB ({cb['units']:,} blobs)",
                    cb["peak_mib"] * MIB < 30e6))
        x = cb["median"] / bare["median"]
        out.append(("W8: `list --all --name` within 10% of unfiltered `list --all`",
                    f"{fmt_time(cb['median'])} vs {fmt_time(bare['median'])} ({x:.2f}×)",
                    x <= 1.10))
    if ran("COPY"):
        cb = row("COPY", "cubeblob copy")
        out.append(("COPY: peak memory under 30 MB",
                    f"{cb['peak_mib']:.1f} MiB ({human_bytes(cb['units'])})",
                    cb["peak_mib"] * MIB < 30e6))
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
        f"with a fresh data folder (W9 also to two more on one PostgreSQL database). "
        f"Each workload runs {RUNS} times per tool (start-up: {STARTUP_RUNS}; W8: "
        f"{W8_RUNS}), the tools alternating in rotated order (W7: in a fixed order, "
        "below); the figures are the median wall time, the fastest and slowest run, the "
        "throughput at the median, and the peak RSS (the highest of the runs) of the "
        "tool's process tree as `wait4` reports it (through `bench/spawn.c`, so the "
        "driver's own memory does not leak into the figure).")
    add("")
    add("| workload | tool | wall (median) | min – max | throughput | peak RSS | time vs cubeblob |")
    add("|---|---|---:|---:|---:|---:|---:|")
    for key, rows in by_key.items():
        for r in rows:
            title = f"{key}: {r['title']}"
            if r["units"] != r["base_units"]:
                title += f" (this tool: {r['units']:,} {r['unit']})"
            ratio = "1.00×" if r["base"] else f"{r['ratio']:.2f}×"
            if key == "W5":
                ratio = "–"
            add(f"| {title} | {r['tool']} | {fmt_time(r['median'])} | "
                f"{fmt_time(min(r['times']))} – {fmt_time(max(r['times']))} | "
                f"{fmt_rate(r['unit'], r['per_s'])} | {r['peak_mib']:.1f} MiB | {ratio} |")
    add("")
    add("*time vs cubeblob*: the tool's time per byte, file or blob divided by the "
        "workload's row marked 1.00× (cubeblob's; in W7 the rerun with its manifest, in "
        "W8 the filtered listing, in W9 the one instance on SQLite); above 1.00× that row "
        "is faster. For the sequential curl loops in W3, W6 and W7 it compares files per "
        "second, since those loops run on fewer files (below).")
    add("")
    for key, note in bench.notes:
        add(f"**{key}**: {note}.")
        add("")
    add("## The issues' targets")
    add("")
    add("| target | figures | met |")
    add("|---|---|---|")
    for target, figures, met in targets(by_key):
        shown = "–" if met is None else "yes" if met else "**no**"
        add(f"| {target} | {figures} | {shown} |")
    add("")
    notes = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes) and not SMOKE:
        with open(notes) as f:
            add(f.read().rstrip())
        add("")
    add("## The tools")
    add("")
    add("- **cubeblob**: the release build; the token stored by `cubeblob login` "
        "beforehand. `upload --json FILE`, `download ID -o FILE --force`, "
        f"`upload -j {W3_JOBS} --json FILE...`, `list --all --json`, `--version`, "
        f"`whoami`; `download -j {JOBS} --json ID... -o DIR/` and `download --all "
        f"-j {JOBS} --json -o DIR`, `sync DIR --prefix w7/ -j {JOBS} --json` (with and "
        "without `--manifest FILE`), `list --all --json --name '*.png'`, `copy ID "
        "--to-profile target`. It checks what the others do not: the MD5 of every upload "
        "against the storage's ETag, and the size and MD5 of every download.")
    add("- **curl script**: `bench/curl/*.sh`, bash with curl and jq, the README's "
        "walk-through as a user would script it (one jq call per blob, no MD5 check); "
        "the token from an earlier `POST /session`. W3 runs it as one sequential loop "
        f"over the first {W3_SEQ_FILES:,} of the {W3_FILES:,} files (about 60 ms a file: "
        f"the full set five times would use most of the time budget; a sequential "
        f"loop's files per second do not depend on the count), and as "
        f"`xargs -P {W3_JOBS} -n 1 upload.sh` over all of them. W6 likewise: "
        f"`download-many.sh` (one `curl -L` a blob, one after another) over the first "
        f"{W6_SEQ_FILES:,} of the {W6_FILES:,} blobs, and `xargs -P {JOBS} -n 2 "
        "download.sh` over all of them. W7's re-upload is `upload.sh` over the first "
        f"{W7_SEQ_FILES:,} of the {W7_FILES:,} files, to another user (the copies would "
        "otherwise land among the synced blobs); COPY's is `copy.sh`: `download.sh` into "
        "a temporary folder, then `upload.sh` with the other user's token. In W2, *curl "
        "script + MD5 check* (`download-verified.sh`) also does the work cubeblob does: "
        "the MD5 of the file (`md5sum`) against the storage's ETag. Its peak RSS is the "
        "largest of bash, curl, jq, md5sum and xargs.")
    add(f"- **JS SDK**: `bench/sdk/sdk.cjs` on `connectycube` {sdk_version} in Node: "
        "`storage.createAndUpload` with a file stream (the SDK's form-data body streams "
        "it chunked; a Buffer would hold the whole file), `storage.getFileObject` for the "
        "download URL then the SDK's own `node-fetch` piped to a file, a `storage.list` "
        f"page loop of 100, and W3 and W6 as `Promise.all` over {JOBS} workers. W8's "
        "page loop prints each page's matches (a glob turned into a RegExp) as it "
        "arrives. The token is handed to `ConnectyCube.init`, so no run pays for a login.")
    add("- W1 deletes each uploaded blob after the run (untimed) and every upload is "
        "checked on the server (size, status complete); downloads are checked by size "
        "and MD5 (W6: every file of the folder, which is then removed); W4 lists the "
        "blobs of a user of its own, created once by cubeblob, so "
        f"every run of every tool lists the same {W4_BLOBS:,}. The page cache is warm "
        "(each file was read before), and `sync` runs before every upload and download "
        "run.")
    add(f"- W6 downloads the {W6_FILES:,} blobs of a user of their own, uploaded once by "
        f"cubeblob, each run into a fresh folder under `{W6_DIR}` (tmpfs where there is "
        "one: on ext4, 1,000 files created right after the previous run deleted 1,000 "
        "wait on the inode allocator, which skips the recently deleted inodes, slower "
        "with every run; `BENCH_W6_DIR` sets another). The `--all` row lists them first, "
        "as a backup would.")
    add(f"- W7: each round runs, in this order, the first sync of {W7_FILES:,} files "
        "(after an untimed `rm --name 'w7/**' --yes` and without a manifest), the rerun "
        "with the manifest the first run wrote (nothing changed: no file read again, no "
        "request but the listing), the rerun without one (every file read and hashed, "
        "every blob's MD5 asked of storage with a ranged GET), `list --all` of the same "
        "blobs, and the re-uploads (what people do without sync: every file again).")
    add(f"- W8 lists the {W8_BLOBS:,} blobs of a user of their own, seeded at the "
        "server's start straight into its database (`serve --seed-blobs`, a hidden test "
        "aid: records without content), one name in ten a `.png`.")
    add(f"- W9 uploads {W9_FILES:,} files to a user of its own: to the SQLite server, to "
        "one of two instances on one PostgreSQL database (a private cluster started by "
        "`.ci/postgres.sh`, `fsync=off`), and to both at once, half the files each, each "
        "instance with its built-in store in a data folder of its own (which is why each "
        "uploader talks to one instance: behind a balancer, the instances would share "
        "an S3 store).")
    add(f"- COPY copies the {human_bytes(BIG)} blob of W2 to another user (the "
        "`target` profile's) and deletes the copy after each run (untimed), after "
        "checking its size and status.")
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
    if "W9" in by_key:
        pg_bin = os.environ.get("CUBEBLOB_TEST_POSTGRES_BIN", "")
        add(f"- PostgreSQL: `{command_version([os.path.join(pg_bin, 'postgres'), '--version'])}` "
            "(W9)")
    add("")
    add("Reproduce: `bench/run.sh` (environment: `BENCH_RUNS`, `BENCH_SMOKE=1` for a "
        "30-second check, `BENCH_ONLY=W6,W8` for some workloads, `BENCH_W3_SEQ_FILES`, "
        "`BENCH_W4_BLOBS`, `BENCH_W8_BLOBS`, `BENCH_NO_POSTGRES=1`; see the top of the "
        "script).")
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as f:
        f.write(text)
    return text

