"""Round two of the benchmarks (issue 17, and issue 13's rows): many files and many
blobs. W6 downloads 1,000 small blobs into a folder, W7 syncs 1,000 small files (first
run and no-change reruns), W8 lists 100,000 blobs with a name filter, W9 uploads 1,000
files to one instance on SQLite and to two on one PostgreSQL database, and COPY copies a
100 MiB blob between two users. A mixin of bench.Bench, whose `workload`, `tag`, envs
and tokens it uses."""

import json
import os
import shutil
import subprocess

from harness import (API, BIG, BIN, CURL_DIR, FILE_SIZE, JOBS, PG_SKIP, PG_URLS, SDK, W6_DIR,
                     W6_FILES, W6_SEQ_FILES, W7_FILES, W7_SEQ_FILES, W8_BLOBS, W8_RUNS,
                     W9_FILES, WORK, api, check_ok, human_bytes, log, make_files, md5_file,
                     measure, write_lines)


def json_lines(run):
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def check_count(run, what, n):
    check_ok(run, what)
    got = len([line for line in run.stdout.splitlines() if line.strip()])
    if got != n:
        raise SystemExit(f"{what}: {got} results for {n}:\n{run.stderr[-2000:]}")
    return run


def every_blob(token):
    """A user's blobs, untimed (page loop of the driver itself)."""
    blobs, page = [], 1
    while True:
        body = api("GET", f"/blobs?page={page}&per_page=100", token)
        blobs += [item["blob"] for item in body["items"]]
        if not body["items"] or page * 100 >= body["total_entries"]:
            return blobs
        page += 1


class ManyWorkloads:
    # W6: download many small blobs into a folder
    def w6(self):
        key = "W6"
        files = make_files("w6", W6_FILES, FILE_SIZE)
        md5 = {os.path.basename(p): md5_file(p) for p in files}
        run = measure([BIN, "--profile", "fetcher", "upload", "-j", str(JOBS), "--json"]
                      + files, self.cb_env(), tag="setup-w6")
        check_count(run, "uploading the W6 blobs", W6_FILES)
        blobs = [(str(r["id"]), r["uid"], r["name"]) for r in json_lines(run)]
        seq_list = write_lines(os.path.join(WORK, "data-files", "w6-seq.txt"),
                               [f"{uid} {name}" for _, uid, name in blobs[:W6_SEQ_FILES]])
        outputs = os.path.join(W6_DIR, f"cubeblob-bench-w6-{os.getpid()}")

        def fresh(i, tool):
            folder = os.path.join(outputs, f"{i}-{tool}")
            os.makedirs(folder)
            return folder

        def check(run, what, folder, n):
            """Every file there, with its bytes; then the folder goes (disk stays flat)."""
            check_ok(run, what)
            names = sorted(os.listdir(folder))
            want = sorted(name for _, _, name in blobs[:n])
            if names != want:
                raise SystemExit(f"{what}: {len(names)} files in {folder}, not {n}")
            for name in names:
                if md5_file(os.path.join(folder, name)) != md5[name]:
                    raise SystemExit(f"{what}: {name} differs from the uploaded file")
            shutil.rmtree(folder)
            return run

        def cubeblob(i):
            folder = fresh(i, "cubeblob")
            run = measure([BIN, "--profile", "fetcher", "download", "-j", str(JOBS), "--json"]
                          + [blob_id for blob_id, _, _ in blobs] + ["-o", folder + "/"],
                          self.cb_env(), tag=self.tag(key))
            return check(run, "cubeblob download -j", folder, W6_FILES)

        def cubeblob_all(i):
            folder = fresh(i, "cubeblob-all")
            run = measure([BIN, "--profile", "fetcher", "download", "--all", "-j", str(JOBS),
                           "--json", "-o", folder], self.cb_env(), tag=self.tag(key))
            return check(run, "cubeblob download --all", folder, W6_FILES)

        def curl_seq(i):
            folder = fresh(i, "curl-seq")
            run = measure([os.path.join(CURL_DIR, "download-many.sh"), folder],
                          self.curl_env("fetcher"), stdin_path=seq_list, tag=self.tag(key))
            return check(run, "curl sequential loop", folder, W6_SEQ_FILES)

        def curl_xargs(i):
            folder = fresh(i, "curl-xargs")
            pairs = write_lines(os.path.join(WORK, "data-files", "w6-xargs.txt"),
                                [f"{uid} {folder}/{name}" for _, uid, name in blobs])
            run = measure(["xargs", "-P", str(JOBS), "-n", "2",
                           os.path.join(CURL_DIR, "download.sh")],
                          self.curl_env("fetcher"), stdin_path=pairs, tag=self.tag(key))
            return check(run, f"curl xargs -P {JOBS}", folder, W6_FILES)

        def sdk(i):
            folder = fresh(i, "sdk")
            run = measure(["node", SDK, "download-many", "-j", str(JOBS), folder]
                          + [uid for _, uid, _ in blobs],
                          self.sdk_env("fetcher"), tag=self.tag(key))
            return check(run, "SDK download-many", folder, W6_FILES)

        seq = "curl script, sequential"
        xargs = f"curl script, xargs -P {JOBS}"
        units = {"cubeblob": W6_FILES, "cubeblob download --all": W6_FILES,
                 seq: W6_SEQ_FILES, xargs: W6_FILES, "JS SDK": W6_FILES}
        try:
            self.workload(key, f"download {W6_FILES:,} blobs of {human_bytes(FILE_SIZE)} "
                          "into a folder", "files", units,
                          [("cubeblob", cubeblob), ("cubeblob download --all", cubeblob_all),
                           (seq, curl_seq), (xargs, curl_xargs), ("JS SDK", sdk)], sync=True)
        finally:
            shutil.rmtree(outputs, ignore_errors=True)

    # W7: sync a folder, then rerun it with no change
    def w7(self):
        key = "W7"
        files = make_files("w7", W7_FILES, FILE_SIZE)
        folder = os.path.dirname(files[0])
        manifest = os.path.join(WORK, "w7-manifest.json")
        sync = [BIN, "--profile", "syncer", "--json", "sync", folder, "--prefix", "w7/",
                "-j", str(JOBS)]

        def actions(run, what, want):
            check_count(run, what, W7_FILES)
            got = {(line["action"], line["done"]) for line in json_lines(run)}
            if got != {want}:
                raise SystemExit(f"{what}: actions {got}, not {want} for every file")
            return run

        def first(i):
            # Untimed: no blob under the prefix, no manifest.
            run = measure([BIN, "--profile", "syncer", "rm", "--name", "w7/**", "--yes",
                           "-j", str(JOBS)], self.cb_env(), tag=self.tag("W7-reset"))
            check_ok(run, "W7 reset (cubeblob rm --name 'w7/**')")
            if os.path.exists(manifest):
                os.remove(manifest)
            run = measure(sync + ["--manifest", manifest], self.cb_env(), tag=self.tag(key))
            return actions(run, "cubeblob sync (first run)", ("upload", True))

        def rerun_manifest(i):
            run = measure(sync + ["--manifest", manifest], self.cb_env(), tag=self.tag(key))
            return actions(run, "cubeblob sync (rerun, manifest)", ("skip", True))

        def rerun_bare(i):
            run = measure(sync, self.cb_env(), tag=self.tag(key))
            return actions(run, "cubeblob sync (rerun, no manifest)", ("skip", True))

        def listing(i):
            run = measure([BIN, "--profile", "syncer", "list", "--all", "--json"],
                          self.cb_env(), tag=self.tag(key))
            return check_count(run, "cubeblob list --all", W7_FILES)

        def curl_again(i):
            # Another user's blobs, so that the copies do not change the synced prefix.
            run = measure([os.path.join(CURL_DIR, "upload.sh")] + files[:W7_SEQ_FILES],
                          self.curl_env("reuploader"), tag=self.tag(key))
            return check_count(run, "curl upload loop", W7_SEQ_FILES)

        def upload_again(i):
            run = measure([BIN, "--profile", "reuploader", "upload", "-j", str(JOBS), "--json"]
                          + files, self.cb_env(), tag=self.tag(key))
            return check_count(run, "cubeblob upload -j", W7_FILES)

        rerun = "cubeblob sync, rerun with its manifest"
        curl = "curl script, uploads everything again (sequential)"
        units = {label: W7_FILES for label in (
            "cubeblob sync, first run", rerun, "cubeblob sync, rerun without a manifest",
            "cubeblob list --all (the same blobs)",
            f"cubeblob upload -j {JOBS}, everything again")}
        units[curl] = W7_SEQ_FILES
        self.workload(key, f"sync {W7_FILES:,} files of {human_bytes(FILE_SIZE)}", "files",
                      units,
                      [("cubeblob sync, first run", first), (rerun, rerun_manifest),
                       ("cubeblob sync, rerun without a manifest", rerun_bare),
                       ("cubeblob list --all (the same blobs)", listing),
                       (curl, curl_again),
                       (f"cubeblob upload -j {JOBS}, everything again", upload_again)],
                      sync=True, rotate=False, base=rerun)

    # W8: list every blob with a name filter
    def w8(self):
        key = "W8"
        # The seeded names cycle through ten extensions, the first a .png (see
        # src/server/seed.rs): records 1, 11, 21, ...
        pngs = (W8_BLOBS + 9) // 10

        def cubeblob(i):
            run = measure([BIN, "--profile", "many", "list", "--all", "--json",
                           "--name", "*.png"], self.cb_env(), tag=self.tag(key))
            return check_count(run, "cubeblob list --all --name", pngs)

        def unfiltered(i):
            run = measure([BIN, "--profile", "many", "list", "--all", "--json"],
                          self.cb_env(), tag=self.tag(key))
            return check_count(run, "cubeblob list --all", W8_BLOBS)

        def sdk(i):
            run = measure(["node", SDK, "list", "--name", "*.png"], self.sdk_env("many"),
                          tag=self.tag(key))
            return check_count(run, "SDK page loop with a filter", pngs)

        total = api("GET", "/blobs?page=1&per_page=1", self.tokens["many"])["total_entries"]
        if total != W8_BLOBS:
            raise SystemExit(f"W8: the server holds {total} seeded blobs, not {W8_BLOBS}")
        self.workload(key, f"list {W8_BLOBS:,} blobs, `--name '*.png'` ({pngs:,} match)",
                      "blobs", W8_BLOBS,
                      [("cubeblob --name '*.png'", cubeblob),
                       ("cubeblob, no filter", unfiltered),
                       ("JS SDK, page loop with a filter", sdk)], runs=W8_RUNS)

    # W9: many uploads, one instance on SQLite and two on one PostgreSQL database
    def w9(self):
        key = "W9"
        if not PG_URLS:
            self.notes.append((key, f"skipped: {PG_SKIP or 'no PostgreSQL instances'}"))
            log(f"{key}: skipped ({PG_SKIP})")
            return
        files = make_files("w9", W9_FILES, FILE_SIZE)
        pg_a, pg_b = PG_URLS[:2]
        self.login("w9", "pg-a", pg_a)
        self.login("w9", "pg-b", pg_b)
        half = len(files) // 2
        outs = [os.path.join(WORK, f"w9-{name}.out") for name in ("a", "b")]
        # Both uploaders at once, each to its own instance, waited for together.
        both = os.path.join(WORK, "w9-both.sh")
        with open(both, "w") as f:
            f.write("#!/usr/bin/env bash\n")
            for profile, url, part, out in (("pg-a", pg_a, files[:half], outs[0]),
                                            ("pg-b", pg_b, files[half:], outs[1])):
                f.write(f"CUBEBLOB_API_URL={url} {BIN} --profile {profile} upload "
                        f"-j {JOBS} --json {' '.join(part)} >{out} &\n"
                        f"pids+=($!)\n")
            f.write('code=0\nfor pid in "${pids[@]}"; do wait "$pid" || code=1; done\n'
                    'exit $code\n')
        os.chmod(both, 0o755)

        def complete(lines, what):
            if len(lines) != W9_FILES or any(r.get("status") != "complete" for r in lines):
                raise SystemExit(f"{what}: {len(lines)} uploads, not {W9_FILES} complete")

        def upload(profile, url, what):
            run = measure([BIN, "--profile", profile, "upload", "-j", str(JOBS), "--json"]
                          + files, self.cb_env(url), tag=self.tag(key))
            check_ok(run, what)
            complete(json_lines(run), what)
            return run

        def sqlite(i):
            return upload("w9", API, "upload to SQLite")

        def pg_one(i):
            return upload("pg-a", pg_a, "upload to one instance on PostgreSQL")

        def pg_two(i):
            run = measure([both], self.cb_env(), tag=self.tag(key))
            what = "uploads to two instances on PostgreSQL"
            check_ok(run, what)
            lines = []
            for out in outs:
                with open(out) as f:
                    lines += [json.loads(line) for line in f if line.strip()]
            complete(lines, what)
            return run

        self.workload(key, f"upload {W9_FILES:,} files of {human_bytes(FILE_SIZE)}",
                      "files", W9_FILES,
                      [("cubeblob, 1 instance on SQLite", sqlite),
                       ("cubeblob, 1 instance on PostgreSQL", pg_one),
                       (f"cubeblob, 2 instances on PostgreSQL ({half:,} files each)", pg_two)],
                      sync=True)

    # COPY: one blob from one user to another (issue 13)
    def copy(self):
        key = "COPY"
        probe = subprocess.run([BIN, "copy", "--help"], capture_output=True, text=True,
                               env={**os.environ, **self.cb_env()})
        if probe.returncode != 0:
            why = (probe.stderr.strip().splitlines() or ["no output"])[0]
            self.notes.append((key, f"skipped: `cubeblob copy --help` failed ({why}); the "
                               "command is being built on another branch"))
            log(f"{key}: skipped, `cubeblob copy --help` failed: {why}")
            return
        source = self.remote[self.big]
        target = self.tokens["target"]

        def check(run, what):
            """The copy is the target's one blob, complete and of the right size; it is
            deleted after (the disk stays flat)."""
            check_ok(run, what)
            blobs = every_blob(target)
            if len(blobs) != 1 or blobs[0].get("size") != BIG \
                    or blobs[0].get("blob_status") != "complete":
                raise SystemExit(f"{what}: the target holds {blobs}")
            for blob in blobs:
                api("DELETE", f"/blobs/{blob['id']}", target)
            return run

        def cubeblob(i):
            run = measure([BIN, "copy", str(source["id"]), "--to-profile", "target"],
                          self.cb_env(), tag=self.tag(key))
            return check(run, "cubeblob copy")

        def curl(i):
            env = {**self.curl_env(), "CB_TARGET_TOKEN": target}
            run = measure([os.path.join(CURL_DIR, "copy.sh"), source["uid"], source["name"]],
                          env, tag=self.tag(key))
            return check(run, "curl download then upload")

        self.workload(key, f"copy one {human_bytes(BIG)} blob to another user", "bytes", BIG,
                      [("cubeblob copy", cubeblob),
                       ("curl script, download then upload", curl)], sync=True)
