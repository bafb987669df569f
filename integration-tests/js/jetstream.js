"use strict";
// JetStream checks with nats.js (v2) against a running server: the manager, stream add, publish
// acks, the simplified consumers API (fetch, next, consume, ordered), and the KV view.
//
// Usage: node jetstream.js nats://127.0.0.1:4222   (or set NATS_URL)
// Prints one "ok <check>" or "FAIL <check>: <why>" line per check, then
// "jetstream: N passed, M failed", and exits 0 only when every check passed (2 on a usage error).

const { connect, StringCodec, AckPolicy, ConsumerEvents } = require("nats");

const url = process.argv[2] || process.env.NATS_URL;
if (!url) {
  console.error("usage: node jetstream.js <nats-url>   (or set NATS_URL)");
  process.exit(2);
}

const sc = StringCodec();
const CHECK_DEADLINE_MS = 20000;

function assert(cond, message) {
  if (!cond) {
    throw new Error(message);
  }
}

function delay(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(ms, test, problem) {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms: ${problem()}`);
    }
    await delay(10);
  }
}

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let nc;
let jsm;
let js;

check("manager", async () => {
  jsm = await nc.jetstreamManager();
  const info = await jsm.getAccountInfo();
  assert(typeof info.streams === "number", `account info without streams: ${JSON.stringify(info)}`);
  js = nc.jetstream();
});

check("stream-add", async () => {
  const si = await jsm.streams.add({ name: "NJS", subjects: ["njs.>"] });
  assert(si.config.name === "NJS", `name ${si.config.name}`);
  assert(si.config.max_msgs === -1, `max_msgs ${si.config.max_msgs}`);
  assert(si.config.duplicate_window === 120000000000, `duplicate_window ${si.config.duplicate_window}`);
  const again = await jsm.streams.info("NJS");
  assert(again.state.messages === 0, `messages ${again.state.messages}`);
  let notFound = null;
  try {
    await jsm.streams.info("NOPE");
  } catch (err) {
    notFound = err;
  }
  assert(notFound && notFound.message === "stream not found", `missing stream: ${notFound && notFound.message}`);
});

check("publish", async () => {
  for (let i = 1; i <= 10; i++) {
    const pa = await js.publish(`njs.${i % 2 === 0 ? "even" : "odd"}`, sc.encode(`m${i}`));
    assert(pa.stream === "NJS" && pa.seq === i, `ack ${JSON.stringify(pa)}`);
  }
  const a = await js.publish("njs.odd", sc.encode("d"), { msgID: "dup-1" });
  const b = await js.publish("njs.odd", sc.encode("d"), { msgID: "dup-1" });
  assert(!a.duplicate && b.duplicate && a.seq === b.seq, `dedupe ${JSON.stringify([a, b])}`);
  let failed = null;
  try {
    await js.publish("njs.odd", sc.encode("x"), { expect: { lastSequence: 3 } });
  } catch (err) {
    failed = err;
  }
  assert(failed && /wrong last sequence/.test(failed.message), `expectation: ${failed && failed.message}`);
});

check("fetch", async () => {
  await jsm.consumers.add("NJS", { durable_name: "C", ack_policy: AckPolicy.Explicit });
  const c = await js.consumers.get("NJS", "C");
  const iter = await c.fetch({ max_messages: 5, expires: 2000 });
  const seqs = [];
  for await (const m of iter) {
    seqs.push(m.seq);
    m.ack();
  }
  assert(JSON.stringify(seqs) === "[1,2,3,4,5]", `fetched ${seqs}`);
});

check("next", async () => {
  const c = await js.consumers.get("NJS", "C");
  const m = await c.next({ expires: 2000 });
  assert(m && m.seq === 6, `next ${m && m.seq}`);
  assert(m.info.redeliveryCount === 1, `delivery count ${m.info.redeliveryCount}`);
  await m.ackAck();
});

check("consume", async () => {
  const c = await js.consumers.get("NJS", "C");
  const missed = [];
  const msgs = await c.consume({ max_messages: 100, expires: 2000 });
  (async () => {
    for await (const s of await msgs.status()) {
      if (s.type === ConsumerEvents.HeartbeatsMissed) {
        missed.push(s.data);
      }
    }
  })();
  const seqs = [];
  const done = (async () => {
    for await (const m of msgs) {
      seqs.push(m.seq);
      m.ack();
    }
  })();
  await until(5000, () => seqs.length >= 5, () => `consumed ${seqs}`);
  // Idle across two pull expiries: heartbeats and 408s must keep it quiet.
  await delay(3000);
  await js.publish("njs.late", sc.encode("late"));
  await until(5000, () => seqs.length >= 6, () => `after idling: ${seqs}`);
  msgs.stop();
  await within(5000, "consume stop", done);
  assert(JSON.stringify(seqs) === "[7,8,9,10,11,12]", `consumed ${seqs}`);
  assert(missed.length === 0, `heartbeats missed: ${missed}`);
});

check("ordered", async () => {
  const oc = await js.consumers.get("NJS");
  const iter = await oc.fetch({ max_messages: 20, expires: 2000 });
  const seqs = [];
  for await (const m of iter) {
    seqs.push(m.info.streamSequence);
    assert(m.info.deliverySequence === seqs.length, `consumer seq ${m.info.deliverySequence} at ${seqs.length}`);
  }
  assert(seqs.length === 12 && seqs[0] === 1 && seqs[11] === 12, `ordered ${seqs}`);
});

check("kv", async () => {
  const kv = await js.views.kv("njsb", { history: 5 });
  const r1 = await kv.put("k", sc.encode("v1"));
  const e = await kv.get("k");
  assert(e && sc.decode(e.value) === "v1" && e.revision === r1, `get ${e && sc.decode(e.value)}`);
  let exists = null;
  try {
    await kv.create("k", sc.encode("again"));
  } catch (err) {
    exists = err;
  }
  assert(exists !== null, "create on an existing key succeeded");
  const r2 = await kv.create("fresh", sc.encode("f"));
  assert(r2 === r1 + 1, `create revision ${r2}`);
  await kv.delete("fresh");
  assert((await kv.get("fresh")).operation === "DEL", "deleted key");
  await kv.create("fresh", sc.encode("f2"));
  const status = await kv.status();
  assert(status.history === 5, `history ${status.history}`);
  const again = await js.views.kv("njsb");
  assert(sc.decode((await again.get("fresh")).value) === "f2", "reopened bucket");
});

check("kv-watch", async () => {
  const kv = await js.views.kv("njsw");
  await kv.put("a", sc.encode("1"));
  await kv.put("b", sc.encode("1"));
  const seen = [];
  const w = await kv.watch({ key: ">" });
  const done = (async () => {
    for await (const e of w) {
      seen.push(`${e.key}=${e.value.length ? sc.decode(e.value) : ""}:${e.operation}`);
    }
  })();
  await until(5000, () => seen.length >= 2, () => `initial ${seen}`);
  await kv.put("a", sc.encode("2"));
  await kv.delete("b");
  await until(5000, () => seen.length >= 4, () => `updates ${seen}`);
  w.stop();
  await within(5000, "watch stop", done);
  assert(JSON.stringify(seen) === JSON.stringify(["a=1:PUT", "b=1:PUT", "a=2:PUT", "b=:DEL"]), `watched ${seen}`);
});

(async () => {
  let passed = 0;
  let failed = 0;
  try {
    nc = await connect({ servers: url, timeout: 5000 });
  } catch (err) {
    console.log(`FAIL connect: ${err.message}`);
    console.log("jetstream: 0 passed, 1 failed");
    process.exit(1);
  }
  for (const { name, fn } of checks) {
    try {
      await within(CHECK_DEADLINE_MS, name, fn());
      console.log(`ok ${name}`);
      passed++;
    } catch (err) {
      console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
      failed++;
    }
  }
  await nc.close();
  console.log(`jetstream: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
