"use strict";
// Core NATS checks with nats.js (v2) against a running server: pub/sub, wildcards, queue groups,
// request/reply, headers, no responders, auto-unsubscribe and drain.
//
// Usage: node core.js nats://127.0.0.1:4222   (or set NATS_URL)
// Prints one "ok <check>" or "FAIL <check>: <why>" line per check, then a summary line, and exits 0
// only when every check passed (1 when one failed, 2 on a usage error).

const { connect, StringCodec, headers, ErrorCode, Empty } = require("nats");

const url = process.argv[2] || process.env.NATS_URL;
if (!url) {
  console.error("usage: node core.js <nats-url>   (or set NATS_URL)");
  process.exit(2);
}

const sc = StringCodec();
/** How long any one check may take before it fails. */
const CHECK_DEADLINE_MS = 10000;

function assert(cond, message) {
  if (!cond) {
    throw new Error(message);
  }
}

/** Resolves when `test()` returns true, rejects with `problem()` after `ms`. */
async function until(ms, test, problem) {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms: ${problem()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Rejects when `promise` has not settled within `ms`. */
function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function open(name) {
  return connect({ servers: url, name, reconnect: false, timeout: 5000 });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

check("pubsub", async () => {
  const nc = await open("js-pubsub");
  try {
    const got = [];
    nc.subscribe("js.pubsub", { callback: (err, m) => got.push(err ? `error ${err.message}` : sc.decode(m.data)) });
    await nc.flush();
    for (let i = 0; i < 200; i++) {
      nc.publish("js.pubsub", sc.encode(`m${i}`));
    }
    await until(CHECK_DEADLINE_MS, () => got.length >= 200, () => `received ${got.length} of 200`);
    for (let i = 0; i < 200; i++) {
      assert(got[i] === `m${i}`, `message ${i} was "${got[i]}", expected "m${i}" (order or content lost)`);
    }
  } finally {
    await nc.close();
  }
});

check("wildcards", async () => {
  const nc = await open("js-wildcards");
  try {
    const star = [];
    const gt = [];
    nc.subscribe("js.wild.*", { callback: (_, m) => star.push(m.subject) });
    nc.subscribe("js.wild.>", { callback: (_, m) => gt.push(m.subject) });
    await nc.flush();
    for (const s of ["js.wild.a", "js.wild.a.b", "js.other.a", "js.wild.b"]) {
      nc.publish(s, sc.encode(s));
    }
    nc.publish("js.wild.end", Empty);
    await until(CHECK_DEADLINE_MS, () => star.includes("js.wild.end") && gt.includes("js.wild.end"),
      () => `'*' got [${star}], '>' got [${gt}]`);
    assert(JSON.stringify(star) === JSON.stringify(["js.wild.a", "js.wild.b", "js.wild.end"]),
      `'js.wild.*' received [${star}]`);
    assert(JSON.stringify(gt) === JSON.stringify(["js.wild.a", "js.wild.a.b", "js.wild.b", "js.wild.end"]),
      `'js.wild.>' received [${gt}]`);
  } finally {
    await nc.close();
  }
});

check("queue", async () => {
  const members = [];
  const pub = await open("js-queue-pub");
  try {
    const seen = new Map();
    for (let i = 0; i < 4; i++) {
      const nc = await open(`js-queue-${i}`);
      const member = { nc, count: 0 };
      nc.subscribe("js.queue", {
        queue: "workers",
        callback: (_, m) => {
          member.count++;
          const id = sc.decode(m.data);
          seen.set(id, (seen.get(id) || 0) + 1);
        },
      });
      await nc.flush();
      members.push(member);
    }
    const total = 800;
    for (let i = 0; i < total; i++) {
      pub.publish("js.queue", sc.encode(`${i}`));
    }
    await pub.flush();
    const sum = () => members.reduce((a, m) => a + m.count, 0);
    await until(CHECK_DEADLINE_MS, () => sum() >= total, () => `members received ${sum()} of ${total}`);
    for (const m of members) {
      await m.nc.flush();
    }
    assert(sum() === total, `members received ${sum()} messages for ${total} published`);
    assert(seen.size === total, `${seen.size} distinct messages received of ${total}`);
    for (const [id, n] of seen) {
      assert(n === 1, `message ${id} was delivered ${n} times`);
    }
    // A fair share: 200 each on average; 100..300 is far outside random variation (sd ~12).
    const counts = members.map((m) => m.count);
    assert(counts.every((c) => c >= 100 && c <= 300), `unfair spread across the group: [${counts}]`);
  } finally {
    await pub.close();
    for (const m of members) {
      await m.nc.close();
    }
  }
});

check("request-reply", async () => {
  const responder = await open("js-responder");
  const requester = await open("js-requester");
  try {
    responder.subscribe("js.echo", {
      callback: (_, m) => m.respond(sc.encode(sc.decode(m.data).toUpperCase())),
    });
    await responder.flush();
    for (let i = 0; i < 20; i++) {
      const reply = await requester.request("js.echo", sc.encode(`hello ${i}`), { timeout: 5000 });
      assert(sc.decode(reply.data) === `HELLO ${i}`, `reply ${i} was "${sc.decode(reply.data)}"`);
    }
  } finally {
    await requester.close();
    await responder.close();
  }
});

check("headers", async () => {
  const nc = await open("js-headers");
  try {
    let got = null;
    nc.subscribe("js.headers", { callback: (_, m) => { got = m; } });
    await nc.flush();
    const h = headers();
    h.append("X-Sensor", "t-17");
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    nc.publish("js.headers", sc.encode("with headers"), { headers: h });
    await until(CHECK_DEADLINE_MS, () => got !== null, () => "no message with headers arrived");
    assert(got.headers, "the message arrived without headers");
    assert(got.headers.get("X-Sensor") === "t-17", `X-Sensor was "${got.headers.get("X-Sensor")}"`);
    const multi = got.headers.values("X-Multi");
    assert(JSON.stringify(multi) === JSON.stringify(["one", "two"]), `X-Multi was [${multi}]`);
    assert(sc.decode(got.data) === "with headers", `payload was "${sc.decode(got.data)}"`);

    // The same through a request: the responder echoes a header back.
    nc.subscribe("js.headers.echo", {
      callback: (_, m) => {
        const rh = headers();
        rh.set("X-Echo", m.headers ? m.headers.get("X-Ask") : "missing");
        m.respond(m.data, { headers: rh });
      },
    });
    await nc.flush();
    const ask = headers();
    ask.set("X-Ask", "42");
    const reply = await nc.request("js.headers.echo", sc.encode("q"), { timeout: 5000, headers: ask });
    assert(reply.headers && reply.headers.get("X-Echo") === "42",
      `the reply's X-Echo header was "${reply.headers ? reply.headers.get("X-Echo") : "(no headers)"}"`);
  } finally {
    await nc.close();
  }
});

check("no-responders", async () => {
  const nc = await open("js-no-responders");
  try {
    const t0 = Date.now();
    let error = null;
    try {
      await nc.request("js.nobody.home", sc.encode("anyone?"), { timeout: 8000 });
    } catch (e) {
      error = e;
    }
    const took = Date.now() - t0;
    assert(error !== null, "a request to a subject without subscribers succeeded");
    assert(error.code === ErrorCode.NoResponders,
      `expected a no-responders error (code ${ErrorCode.NoResponders}), got code ${error.code}: ${error.message}`);
    assert(took < 4000, `the no-responders error took ${took} ms, as long as a timeout`);
  } finally {
    await nc.close();
  }
});

check("auto-unsubscribe", async () => {
  const nc = await open("js-max");
  try {
    let count = 0;
    let barrier = false;
    const sub = nc.subscribe("js.max", { max: 3, callback: () => { count++; } });
    nc.subscribe("js.max.barrier", { callback: () => { barrier = true; } });
    await nc.flush();
    for (let i = 0; i < 10; i++) {
      nc.publish("js.max", sc.encode(`${i}`));
    }
    // Messages from one publisher reach one subscriber in order, so once the barrier is
    // here every js.max message the server sent has been seen.
    nc.publish("js.max.barrier", Empty);
    await until(CHECK_DEADLINE_MS, () => barrier, () => "the barrier message did not arrive");
    assert(count === 3, `a subscription with max 3 received ${count} messages`);
    assert(sub.isClosed(), "the subscription is still open after reaching its max");
  } finally {
    await nc.close();
  }
});

check("drain", async () => {
  const sub = await open("js-drain-sub");
  const pub = await open("js-drain-pub");
  try {
    let count = 0;
    sub.subscribe("js.drain", { callback: () => { count++; } });
    await sub.flush();
    for (let i = 0; i < 500; i++) {
      pub.publish("js.drain", sc.encode(`${i}`));
    }
    await pub.flush();
    await within(CHECK_DEADLINE_MS, "drain", sub.drain());
    assert(count === 500, `drain delivered ${count} of the 500 messages in flight`);
    assert(sub.isClosed(), "the connection is not closed after drain");
  } finally {
    await pub.close();
    if (!sub.isClosed()) {
      await sub.close();
    }
  }
});

async function main() {
  let failed = 0;
  for (const c of checks) {
    const t0 = Date.now();
    try {
      await within(CHECK_DEADLINE_MS * 2, c.name, c.fn());
      console.log(`ok ${c.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${c.name}: ${e && e.message ? e.message : e}`);
    }
  }
  console.log(`nats.js: ${checks.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`nats.js checks crashed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
