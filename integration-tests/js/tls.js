"use strict";
// nats.js (v2) against a server whose client port requires TLS: a client that trusts the test CA
// does pub/sub and request/reply, and a client without the CA (nats.js then upgrades to TLS on its
// own, seeing tls_required, and checks the server against the system's CAs) does not get in.
//
// Usage: node tls.js <nats-url> <ca.pem>
// Prints one "ok <check>" or "FAIL <check>: <why>" line per check, then a summary line, and exits 0
// only when every check passed (1 when one failed, 2 on a usage error).

const fs = require("fs");
const { connect, StringCodec, ErrorCode } = require("nats");

const [url, caFile] = process.argv.slice(2);
if (!url || !caFile) {
  console.error("usage: node tls.js <nats-url> <ca.pem>");
  process.exit(2);
}

const sc = StringCodec();
const ca = fs.readFileSync(caFile, "utf8");
/** How long any one check may take before it fails. */
const CHECK_DEADLINE_MS = 10000;

function assert(cond, message) {
  if (!cond) {
    throw new Error(message);
  }
}

function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function openTls(name) {
  return connect({ servers: url, name, reconnect: false, timeout: 5000, tls: { ca } });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

check("tls-pubsub", async () => {
  const nc = await openTls("js-tls-pubsub");
  try {
    const sub = nc.subscribe("jstls.pubsub", { max: 2 });
    await nc.flush();
    nc.publish("jstls.pubsub", sc.encode("one"));
    nc.publish("jstls.pubsub", sc.encode("two"));
    const got = [];
    for await (const m of sub) {
      got.push(sc.decode(m.data));
    }
    assert(got.join(",") === "one,two", `got ${JSON.stringify(got)}`);
    assert(nc.info.tls_required === true, `INFO tls_required is ${nc.info.tls_required}`);
  } finally {
    await nc.close();
  }
});

check("tls-request-reply", async () => {
  const responder = await openTls("js-tls-responder");
  const requester = await openTls("js-tls-requester");
  try {
    responder.subscribe("jstls.echo", { callback: (err, m) => m.respond(sc.encode(`echo ${sc.decode(m.data)}`)) });
    await responder.flush();
    const r = await requester.request("jstls.echo", sc.encode("hi"), { timeout: 5000 });
    assert(sc.decode(r.data) === "echo hi", `reply ${sc.decode(r.data)}`);
  } finally {
    await requester.close();
    await responder.close();
  }
});

check("client-without-ca-refused", async () => {
  let nc;
  try {
    nc = await connect({ servers: url, reconnect: false, timeout: 5000 });
  } catch (err) {
    console.log(`  (client without the CA: ${err.code} ${err.message})`);
    return;
  }
  await nc.close();
  throw new Error("a client that does not trust the test CA connected");
});

(async () => {
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of checks) {
    const start = Date.now();
    try {
      await within(CHECK_DEADLINE_MS, name, fn());
      passed++;
      console.log(`ok ${name} ${Date.now() - start}ms`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    }
  }
  console.log(`nats.js tls: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
