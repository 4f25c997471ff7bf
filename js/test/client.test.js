// The client against a real wsgate server (the chat example): a message
// round trip, the queue before the first open, replays after the server
// drops the session, close codes and reasons, and no retry after a final
// code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@wsgate/client";
import { url, WebSocket, kick, sessions, unique, next, record, say, hello, join, wait } from "./env.js";

const opts = { WebSocket, protocols: ["chat.v1"], minDelay: 10, maxDelay: 20 };

// chatter returns a client that says hello as name and joins room on every
// connect, closed when the test ends.
function chatter(t, name, room, more = {}) {
  const c = new Client(url, { ...opts, ...more });
  c.replay("hello", hello(name));
  c.replay("join", join(room));
  t.after(() => c.close());
  return c;
}

test("a message makes a round trip", { timeout: 2 * wait }, async (t) => {
  const name = unique("ada"), room = unique("room");
  const c = chatter(t, name, room);
  const states = record(c, "state");
  const opened = next(c, "open");
  const members = next(c, "message", (m) => m.type === "members" && m.room === room);
  c.connect();
  await opened;
  assert.deepEqual((await members).members, [name]);
  const echo = next(c, "message", (m) => m.type === "message");
  c.send(say(room, "hi from node"));
  const { pos, ...m } = await echo;
  assert.equal(typeof pos?.o, "number", "the chat's history position");
  assert.deepEqual(m, { type: "message", room, name, text: "hi from node" });
  assert.equal(c.state, "open");
  c.close();
  assert.deepEqual(states.map(([, s]) => s), ["connecting", "open", "closed"]);
});

test("messages sent before the first open wait in the queue, after the replays", { timeout: 2 * wait }, async (t) => {
  const name = unique("bea"), room = unique("room");
  const c = chatter(t, name, room, { maxQueue: 2 });
  const drops = record(c, "drop");
  c.send(say(room, "one")); // dropped: the queue holds two
  c.send(say(room, "two"));
  c.send(say(room, "three"));
  assert.deepEqual(c.queue, [say(room, "two"), say(room, "three")]);
  assert.equal(c.dropped, 1);
  assert.deepEqual(drops, [["drop", { data: say(room, "one") }]]);

  const got = record(c, "message");
  const three = next(c, "message", (m) => m.type === "message" && m.text === "three");
  c.connect();
  await three;
  assert.deepEqual(c.queue, []);
  // The join (a replay) went before the queue: no "you are not in that
  // room" error, and the room heard two, then three.
  const texts = got.map(([, m]) => m.type === "message" ? m.text : m.type === "error" ? "error: " + m.text : null).filter(Boolean);
  assert.deepEqual(texts, ["two", "three"]);
});

test("after the server drops the session, the client reconnects and replays", { timeout: 2 * wait }, async (t) => {
  const name = unique("cy"), room = unique("room");
  const c = chatter(t, name, room);
  const joins = [];
  c.addEventListener("message", (e) => {
    const m = JSON.parse(e.detail);
    if (m.type === "joined" && m.name === name) joins.push(m);
  });
  let members = next(c, "message", (m) => m.type === "members");
  c.connect();
  await members;

  const closed = next(c, "close");
  const reopened = next(c, "state", (s) => s === "reconnecting").then(() => next(c, "open"));
  members = next(c, "message", (m) => m.type === "members" && joins.length === 2);
  assert.equal(await kick(name, 4000, "test drop"), 1);
  const d = await closed;
  assert.equal(d.code, 4000);
  assert.equal(d.reason, "test drop");
  assert.equal(d.retry, true);
  assert.ok(d.delay >= 0 && d.delay < 10, `delay ${d.delay}, want [0, minDelay)`);
  await reopened;
  await members; // the replayed join went through
  // The client reconnected as soon as it saw the close frame, maybe before
  // the server had ended the old session, which the members list of the
  // rejoin may then still show: once the old session has ended, a fresh
  // list shows that the replayed hello and join made the new session the
  // same chatter in the same room.
  assert.equal(await sessions(name, 1), 1);
  const fresh = next(c, "message", (m) => m.type === "members");
  c.send(join(room)); // joining again only asks for a fresh list
  assert.deepEqual((await fresh).members, [name]);
  const echo = next(c, "message", (m) => m.type === "message");
  c.send(say(room, "back"));
  assert.equal((await echo).text, "back");
});

test("a final close code from the server is reported and not retried", { timeout: 2 * wait }, async (t) => {
  const name = unique("dee"), room = unique("room");
  const c = chatter(t, name, room, { minDelay: 1, maxDelay: 1 });
  const states = record(c, "state");
  const members = next(c, "message", (m) => m.type === "members");
  c.connect();
  await members;
  const closed = next(c, "close");
  assert.equal(await kick(name, 1008, "kicked"), 1);
  assert.deepEqual(await closed, { code: 1008, reason: "kicked", retry: false, delay: 0 });
  assert.equal(c.state, "closed");
  // The client saw the close frame before the server ended the session.
  assert.equal(await sessions(name, 0), 0);

  // A retry would have happened within 1 ms; a whole round trip of
  // another client later, there was none.
  const other = chatter(t, unique("other"), room);
  const m = next(other, "message", (m) => m.type === "members");
  other.connect();
  await m;
  assert.equal(await sessions(name), 0);
  assert.deepEqual(states.map(([, s]) => s), ["connecting", "open", "closed"]);

  // retryOn decides: this one reconnects after the same kick.
  const name2 = unique("eve");
  const stubborn = chatter(t, name2, room, { retryOn: () => true });
  let joined = next(stubborn, "message", (m) => m.type === "members");
  stubborn.connect();
  await joined; // the server knows its name
  const again = next(stubborn, "close");
  joined = next(stubborn, "message", (m) => m.type === "members");
  assert.equal(await kick(name2, 1008, "kicked"), 1);
  assert.equal((await again).retry, true);
  await joined;
});

test("a binary message to the chat ends with 1003 and its reason", { timeout: 2 * wait }, async (t) => {
  const c = new Client(url, opts);
  t.after(() => c.close());
  c.addEventListener("open", () => c.send(new Uint8Array([1])));
  const closed = next(c, "close");
  c.connect();
  assert.deepEqual(await closed, { code: 1003, reason: "chat.v1 speaks text only", retry: false, delay: 0 });
  assert.equal(c.state, "closed");
});

test("a refused connection is 1006, retried within the backoff caps", { timeout: 2 * wait }, async (t) => {
  // Nothing listens on port 1 of the loopback address.
  const c = new Client("ws://127.0.0.1:1/ws", { WebSocket, minDelay: 10, maxDelay: 40 });
  t.after(() => c.close());
  const closes = [];
  await new Promise((resolve) => {
    c.addEventListener("close", (e) => {
      closes.push(e.detail);
      if (closes.length === 5) {
        c.close();
        resolve();
      }
    });
    c.connect();
    c.connect(); // a second call while connecting does nothing
  });
  const caps = [10, 20, 40, 40, 40];
  closes.forEach((d, i) => {
    assert.equal(d.code, 1006, `close ${i}`);
    assert.equal(d.retry, true, `close ${i}`);
    assert.ok(d.delay >= 0 && d.delay < caps[i], `close ${i}: delay ${d.delay}, want [0, ${caps[i]})`);
  });
  assert.equal(c.state, "closed");
});
