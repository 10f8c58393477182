// The JavaScript SDK alternative: the vendor's `connectycube` 6.1.2 package, as a Node
// script would use it. The session token comes from CB_TOKEN (as cubeblob's comes from
// its profile and the curl script's from CB_TOKEN): no run pays for a login.
//
//   CB_API=http://127.0.0.1:8080 CB_TOKEN=... node sdk.cjs upload [-j N] FILE...
//   CB_API=... CB_TOKEN=... node sdk.cjs download UID OUTPUT
//   CB_API=... CB_TOKEN=... node sdk.cjs download-many [-j N] DIR UID...
//   CB_API=... CB_TOKEN=... node sdk.cjs list [--name GLOB]
"use strict";
const fs = require("fs");
const path = require("path");
const { pipeline } = require("stream/promises");
const ConnectyCube = require("connectycube").default;
const fetch = require("node-fetch"); // the fetch the SDK itself uses in Node

const api = process.env.CB_API;
const token = process.env.CB_TOKEN;
ConnectyCube.init(
  { appId: Number(process.env.CB_APP_ID || 1), token },
  { endpoints: { api_url: api }, debug: { mode: 0 } },
);

// createAndUpload with a file stream: the SDK's form-data body streams it (chunked),
// so memory stays flat; a Buffer would hold the whole file.
async function uploadOne(file) {
  const size = fs.statSync(file).size;
  const blob = await ConnectyCube.storage.createAndUpload({
    name: path.basename(file),
    file: fs.createReadStream(file),
    size,
    type: "application/octet-stream",
    public: false,
  });
  process.stdout.write(`${blob.id}\t${blob.uid}\n`);
}

async function upload(args) {
  let jobs = 1;
  if (args[0] === "-j") {
    jobs = Number(args[1]);
    args = args.slice(2);
  }
  // Promise.all over `jobs` workers, each taking the next file: 16 at a time.
  let next = 0;
  const worker = async () => {
    while (next < args.length) await uploadOne(args[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, args.length) }, worker));
}

async function download(uid, output) {
  const { blob } = await ConnectyCube.storage.getFileObject(uid, { download_url: 1 });
  const access = blob.blob_object_access;
  const url = access.download_url || access.dowload_url;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  await pipeline(res.body, fs.createWriteStream(output));
}

// Promise.all over `jobs` workers, each taking the next uid: getFileObject for the
// record (its name and download URL), then fetch piped to DIR/NAME.
async function downloadMany(args) {
  let jobs = 1;
  if (args[0] === "-j") {
    jobs = Number(args[1]);
    args = args.slice(2);
  }
  const [dir, ...uids] = args;
  let next = 0;
  const worker = async () => {
    while (next < uids.length) {
      const { blob } = await ConnectyCube.storage.getFileObject(uids[next++], { download_url: 1 });
      const access = blob.blob_object_access;
      const url = access.download_url || access.dowload_url;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      await pipeline(res.body, fs.createWriteStream(path.join(dir, path.basename(blob.name))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, uids.length) }, worker));
}

// A name glob as a script would write it: `*` within a folder, `**` across.
function globToRegExp(glob) {
  const body = glob
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*"),
    )
    .join(".*");
  return new RegExp(`^${body}$`);
}

// The page loop with a filter: each page's matches printed as it arrives, so memory
// stays flat however many blobs there are.
async function listMatching(glob) {
  const match = globToRegExp(glob);
  for (let page = 1; ; page++) {
    const res = await ConnectyCube.storage.list({ page, per_page: 100 });
    const lines = res.items.filter((i) => match.test(i.blob.name)).map((i) => JSON.stringify(i.blob));
    if (lines.length) process.stdout.write(lines.join("\n") + "\n");
    if (res.items.length === 0 || page * 100 >= res.total_entries) break;
  }
}

async function list() {
  const out = [];
  for (let page = 1; ; page++) {
    const res = await ConnectyCube.storage.list({ page, per_page: 100 });
    for (const item of res.items) out.push(JSON.stringify(item.blob));
    if (res.items.length === 0 || page * 100 >= res.total_entries) break;
  }
  if (out.length) process.stdout.write(out.join("\n") + "\n");
}

const [cmd, ...args] = process.argv.slice(2);
const run = {
  upload: () => upload(args),
  download: () => download(args[0], args[1]),
  "download-many": () => downloadMany(args),
  list: () => (args[0] === "--name" ? listMatching(args[1]) : list()),
}[cmd];
if (!run) {
  console.error(
    "usage: sdk.cjs upload [-j N] FILE... | download UID OUTPUT | download-many [-j N] DIR UID... | list [--name GLOB]",
  );
  process.exit(2);
}
run().catch((err) => {
  console.error("sdk.cjs:", err && err.message ? err.message : JSON.stringify(err));
  process.exit(1);
});
