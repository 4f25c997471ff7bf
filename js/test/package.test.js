// The package itself, without a server: what it exports, that its
// hand-written types name what the code has, and what the constructor
// refuses with a clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as pkg from "@wsgate/client";

const { Client } = pkg;
// Node 22 on has a global WebSocket; before, ws (a devDependency) is one.
const WebSocket = globalThis.WebSocket ?? (await import("ws")).WebSocket;
const here = (p) => new URL("../" + p, import.meta.url);

test("the package exports Client, and its types file", async () => {
  assert.deepEqual(Object.keys(pkg), ["Client"]);
  const meta = JSON.parse(await readFile(here("package.json"), "utf8"));
  assert.equal(meta.type, "module");
  assert.equal(meta.types, "./wsgate.d.ts");
  assert.equal(meta.exports["."].types, "./wsgate.d.ts");
  assert.equal(meta.exports["."].default, "./wsgate.js");
  assert.deepEqual(meta.dependencies ?? {}, {}, "no runtime dependencies");
  for (const f of meta.files) await readFile(here(f)); // every published file exists
});

test("wsgate.d.ts declares every public method and option", async () => {
  const dts = await readFile(here("wsgate.d.ts"), "utf8");
  const methods = Object.getOwnPropertyNames(Client.prototype).filter((m) => m !== "constructor");
  assert.ok(methods.length >= 8);
  for (const m of methods) assert.match(dts, new RegExp(`^  ${m}\\(`, "m"), `method ${m}`);
  const c = new Client("ws://127.0.0.1:1/", { WebSocket });
  for (const field of ["url", "protocols", "minDelay", "maxDelay", "stableAfter", "maxQueue", "retryOn", "queue", "dropped", "state", "ws"]) {
    assert.ok(field in c, `field ${field} in the code`);
    assert.match(dts, new RegExp(`^  (readonly )?${field}: `, "m"), `field ${field} in the types`);
  }
  const src = await readFile(here("wsgate.js"), "utf8");
  const options = new Set([...src.matchAll(/opts\.(\w+)|option\(opts, "(\w+)"/g)].map((m) => m[1] ?? m[2]));
  assert.ok(options.size >= 9);
  for (const o of options) assert.match(dts, new RegExp(`^  ${o}\\?: `, "m"), `option ${o}`);
  for (const e of ["state", "open", "message", "close", "drop"]) {
    assert.match(src, new RegExp(`detailEvent\\("${e}"`), `event ${e} in the code`);
    assert.match(dts, new RegExp(`^  ${e}: CustomEvent<`, "m"), `event ${e} in the types`);
  }
});

test("a URL is mapped to ws: or wss:", () => {
  const cases = [
    ["ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws"],
    ["http://example.com/ws?room=a", "ws://example.com/ws?room=a"],
    ["https://example.com/ws", "wss://example.com/ws"],
    ["wss://example.com/ws", "wss://example.com/ws"],
    [new URL("http://[::1]:9/x"), "ws://[::1]:9/x"],
  ];
  for (const [input, want] of cases) assert.equal(new Client(input, { WebSocket }).url.href, want);
});

test("without a page, a relative URL is refused with a clear error", () => {
  assert.equal(globalThis.location, undefined);
  assert.throws(() => new Client("/ws", { WebSocket }), { name: "TypeError", message: /"\/ws" is not an absolute URL; without a page/ });
  assert.throws(() => new Client("ftp://example.com/", { WebSocket }), { name: "TypeError", message: /is not a ws:, wss:, http: or https: URL/ });
});

test("bad options are refused with a RangeError naming the option", () => {
  const bad = [
    [{ minDelay: 0 }, /minDelay must be a finite number of at least 1, not 0/],
    [{ minDelay: -5 }, /minDelay .* not -5/],
    [{ maxDelay: "x" }, /maxDelay must be a finite number of at least 250, not "x"/],
    [{ minDelay: 500, maxDelay: 400 }, /maxDelay .* at least 500, not 400/],
    [{ maxDelay: Infinity }, /maxDelay .* not Infinity/],
    [{ stableAfter: NaN }, /stableAfter .* not NaN/],
    [{ maxQueue: -1 }, /maxQueue must be an integer of at least 0, not -1/],
    [{ maxQueue: 1.5 }, /maxQueue must be an integer/],
  ];
  for (const [opts, message] of bad) {
    assert.throws(() => new Client("ws://127.0.0.1:1/", { WebSocket, ...opts }), { name: "RangeError", message }, JSON.stringify(opts));
  }
  const c = new Client("ws://127.0.0.1:1/", { WebSocket, minDelay: 1, maxDelay: 1, stableAfter: 0, maxQueue: 0 });
  assert.deepEqual([c.minDelay, c.maxDelay, c.stableAfter, c.maxQueue], [1, 1, 0, 0]);
});

test("with maxQueue 0, what is sent while not open is dropped at once", () => {
  const c = new Client("ws://127.0.0.1:1/", { WebSocket, maxQueue: 0 });
  const drops = [];
  c.addEventListener("drop", (e) => drops.push(e.detail.data));
  c.send("a");
  c.send("b");
  assert.deepEqual(drops, ["a", "b"]);
  assert.equal(c.dropped, 2);
  assert.deepEqual(c.queue, []);
});

test("without a WebSocket, the constructor says which option to give", (t) => {
  const global = globalThis.WebSocket;
  globalThis.WebSocket = undefined; // as in Node before 22
  t.after(() => { globalThis.WebSocket = global; });
  assert.throws(() => new Client("ws://127.0.0.1:1/"), { name: "TypeError", message: /pass one as the WebSocket option/ });
  assert.doesNotThrow(() => new Client("ws://127.0.0.1:1/", { WebSocket }));
});

test("events carry their detail also where CustomEvent is missing", (t) => {
  for (const missing of [false, true]) {
    const custom = globalThis.CustomEvent;
    if (missing) globalThis.CustomEvent = undefined; // as in Node 18
    try {
      const c = new Client("ws://127.0.0.1:1/", { WebSocket, maxQueue: 1 });
      const got = [];
      c.addEventListener("drop", (e) => got.push(e.detail));
      c.send("a");
      c.send("b");
      assert.deepEqual(got, [{ data: "a" }], `CustomEvent missing: ${missing}`);
      assert.deepEqual(c.queue, ["b"]);
    } finally {
      globalThis.CustomEvent = custom;
    }
  }
});
