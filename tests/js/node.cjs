// The vendor's JS SDK (`connectycube` 6.1.2) in Node against a running `cubeblob serve`:
// every session and storage call it offers, each checked against what the real service
// answers. Prints one JSON line on stdout ({"calls": [{name, ok, detail}], ...}); run by
// tests/sdk_node.rs:
//
//   CB_API=http://127.0.0.1:PORT CB_LOGIN=alice CB_PASSWORD=... node node.cjs
//
// The SDK's own bugs are recorded as they are, not worked around: its `storage.update`
// is sent as a GET of the record (with the new name as a query parameter), so it can
// change nothing.
"use strict";
const ConnectyCube = require("connectycube").default;

const { CB_API: api, CB_LOGIN: login, CB_PASSWORD: password } = process.env;
if (!api || !login || !password) {
  console.error("node.cjs: set CB_API, CB_LOGIN and CB_PASSWORD");
  process.exit(2);
}
setTimeout(() => {
  console.error("node.cjs: no result within 60 s");
  process.exit(1);
}, 60_000).unref();

ConnectyCube.init(
  { appId: 1, authKey: "local-auth-key" },
  { endpoints: { api_url: api }, debug: { mode: 0 } },
);
const CB = ConnectyCube;
const calls = [];
const out = { calls };

function describe(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return JSON.stringify(err);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function call(name, body) {
  try {
    const detail = await body();
    calls.push({ name, ok: true, detail: detail ?? null });
  } catch (err) {
    calls.push({ name, ok: false, detail: describe(err) });
  }
}

// A call that must be refused: the SDK rejects with {code, info}.
async function refused(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("not refused");
}

async function bytesOf(url) {
  const res = await fetch(url);
  return { status: res.status, text: res.ok ? await res.text() : null };
}

async function main() {
  // Sessions (ConnectyCube.auth, also on ConnectyCube itself).
  await call("createSession (application)", async () => {
    const session = await CB.createSession();
    check(session.user_id === null, `user_id ${session.user_id}`);
    return { user_id: session.user_id };
  });
  await call("getSession", async () => {
    const session = await CB.getSession();
    check(typeof session.token === "string", "a token");
    return { application_id: session.application_id };
  });
  await call("storage.create as the application", async () => {
    const err = await refused(CB.storage.create({ name: "x", content_type: "text/plain", public: false }));
    check(err.code === 403, `code ${err.code}`);
    return { code: err.code, info: err.info };
  });
  await call("login", async () => {
    const user = await CB.login({ login, password });
    check(user.login === login, "the user");
    const session = await CB.getSession();
    check(session.user_id === user.id, "the session acts for the user");
    return { user_id: user.id };
  });
  await call("logout", async () => {
    await CB.logout();
    const session = await CB.getSession();
    check(session.user_id === null, `user_id ${session.user_id}`);
    return null;
  });
  await call("destroySession", async () => {
    await CB.destroySession();
    const err = await refused(CB.getSession());
    check(err.code === 401, `code ${err.code}`);
    return { code: err.code };
  });
  await call("createSession (guest)", async () => {
    const session = await CB.createSession({ guest: "1", full_name: "Node Guest" });
    check(session.user && session.user.is_guest === true, "a guest");
    check(session.user.full_name === "Node Guest", "its name");
    return { user_id: session.user_id };
  });
  for (const [provider, params] of [
    ["facebook", { provider: "facebook", keys: { token: "fb" } }],
    ["twitter", { provider: "twitter", keys: { token: "t", secret: "s" } }],
    ["firebase_phone", { provider: "firebase_phone", firebase_phone: { project_id: "p", access_token: "a" } }],
    ["firebase_email", { provider: "firebase_email", firebase_email: { project_id: "p", access_token: "a" } }],
  ]) {
    await call(`createSession (${provider}) refused`, async () => {
      const err = await refused(CB.createSession(params));
      check(err.code === 422, `code ${err.code}`);
      const message = err.info.errors.provider[0];
      check(message.includes(`\`${provider}\``), message);
      return { code: err.code, message };
    });
  }
  await call("createSession (email)", async () => {
    const session = await CB.createSession({ email: login, password });
    check(session.user.login === login, "the user");
    return { user_id: session.user_id };
  });
  await call("createSession (login)", async () => {
    const session = await CB.createSession({ login, password });
    check(typeof session.user_id === "number", "a user id");
    out.token = session.token;
    return { user_id: session.user_id };
  });

  // Storage, step by step and all at once.
  let stepwise;
  await call("storage.create", async () => {
    const { blob } = await CB.storage.create({ name: "steps.txt", content_type: "text/plain", public: false });
    check(blob.blob_object_access.object_access_type === "Write", "a write form");
    check(blob.app_id === 1 && typeof blob.account_id === "number", "account_id and app_id");
    stepwise = blob;
    return { id: blob.id, uid: blob.uid };
  });
  await call("storage.upload", async () => {
    const params = new URL(stepwise.blob_object_access.params);
    const data = {};
    for (const [k, v] of params.searchParams) data[k] = v;
    check(data.acl === "authenticated-read", `acl ${data.acl}`);
    data.file = Buffer.from("step by step");
    await CB.storage.upload({ url: `${params.origin}${params.pathname}`, data });
    return null;
  });
  await call("storage.markUploaded", async () => {
    await CB.storage.markUploaded({ id: stepwise.id, size: 12 });
    const { blob } = await CB.storage.getInfo(stepwise.id);
    check(blob.blob_status === "complete" && blob.size === 12, JSON.stringify(blob));
    return null;
  });
  let blob;
  await call("storage.createAndUpload", async () => {
    blob = await CB.storage.createAndUpload({
      name: "node.txt",
      file: Buffer.from("from node"),
      size: 9,
      type: "text/plain",
      public: false,
    });
    out.kept = { id: blob.id, uid: blob.uid };
    return out.kept;
  });
  await call("storage.getInfo (id)", async () => {
    const { blob: info } = await CB.storage.getInfo(blob.id);
    check(info.uid === blob.uid && info.size === 9, JSON.stringify(info));
    return null;
  });
  await call("storage.getInfo (uid)", async () => {
    const { blob: info } = await CB.storage.getInfo(blob.uid);
    check(info.id === blob.id, JSON.stringify(info));
    return null;
  });
  await call("storage.getFile", async () => {
    const { blob: info } = await CB.storage.getFile(blob.uid);
    check(info.id === blob.id, JSON.stringify(info));
    return null;
  });
  await call("storage.getFileObject", async () => {
    const { blob: object } = await CB.storage.getFileObject(blob.uid, { download_url: 1 });
    const got = await bytesOf(object.blob_object_access.download_url);
    check(got.text === "from node", JSON.stringify(got));
    return null;
  });
  await call("storage.list", async () => {
    const page = await CB.storage.list({ page: 1, per_page: 1 });
    check(page.per_page === 1 && page.items.length === 1, JSON.stringify(page));
    check(page.total_entries >= 2, `total ${page.total_entries}`);
    return { total_entries: page.total_entries };
  });
  await call("storage.update (the SDK sends a GET)", async () => {
    const answer = await CB.storage.update({ id: blob.id, name: "renamed.txt" });
    // The SDK's bug: a GET of the record, which answers it unchanged.
    check(answer.blob.name === "node.txt", `name ${answer.blob.name}`);
    return { name: answer.blob.name };
  });
  await call("storage.privateUrl", async () => {
    const got = await bytesOf(CB.storage.privateUrl(blob.uid));
    check(got.text === "from node", JSON.stringify(got));
    return null;
  });
  await call("storage.publicUrl", async () => {
    const open = await CB.storage.createAndUpload({
      name: "open.txt", file: Buffer.from("for all"), size: 7, type: "text/plain", public: true,
    });
    const got = await bytesOf(CB.storage.publicUrl(open.uid));
    check(got.text === "for all", JSON.stringify(got));
    // A private blob's public URL carries no token: refused.
    const closed = await bytesOf(CB.storage.publicUrl(blob.uid));
    check(closed.status === 401, `status ${closed.status}`);
    return null;
  });
  await call("storage.delete", async () => {
    await CB.storage.delete(stepwise.id);
    const err = await refused(CB.storage.getInfo(stepwise.id));
    check(err.code === 404, `code ${err.code}`);
    out.deleted = { id: stepwise.id };
    return null;
  });
}

main()
  .then(() => process.stdout.write(JSON.stringify(out) + "\n"))
  .catch((err) => {
    console.error(`node.cjs: ${describe(err)}`);
    process.exit(1);
  });
