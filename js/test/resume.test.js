// Resume mode against the chat, whose rooms keep a history and whose
// events carry their position: a page that was away gets what it missed,
// exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@wsgate/client";
import { url, WebSocket, kick, unique, next, say, hello, join, wait } from "./env.js";

const positionOf = (data) => {
  const m = JSON.parse(data);
  return m.pos ? { room: m.room, pos: m.pos } : null;
};

// pair returns a resuming client called name in room, and a plain one that
// talks in the room, both connected.
async function pair(t, name, room, more = {}) {
  const a = new Client(url, { WebSocket, protocols: ["chat.v1"], minDelay: 10, maxDelay: 20, positionOf, ...more });
  const b = new Client(url, { WebSocket, protocols: ["chat.v1"] });
  t.after(() => { a.close(); b.close(); });
  const sent = []; // the positions the joins were made with
  a.replay("hello", hello(name));
  a.joinRoom(room, (pos) => {
    sent.push(pos ?? null);
    return join(room, pos);
  });
  b.replay("hello", hello(unique("bob")));
  b.replay("join", join(room));
  const ready = [next(a, "message", (m) => m.type === "members"), next(b, "message", (m) => m.type === "members")];
  a.connect();
  b.connect();
  await Promise.all(ready);
  return { a, b, sent };
}

// said resolves when c has heard text in the room.
const said = (c, text) => next(c, "message", (m) => m.type === "message" && m.text === text);

// texts collects the texts c hears in the room from now on.
function texts(c) {
  const got = [];
  c.addEventListener("message", (e) => {
    const m = JSON.parse(e.detail);
    if (m.type === "message") got.push(m.text);
    if (m.type === "resync") got.push("RESYNC");
  });
  return got;
}

test("a rejoin after a kick replays what was said meanwhile, once", { timeout: 2 * wait }, async (t) => {
  const name = unique("ada"), room = unique("room");
  const { a, b, sent } = await pair(t, name, room);
  let heard = said(a, "one");
  b.send(say(room, "one"));
  const one = await heard;
  assert.deepEqual(a.position(room), one.pos);

  // Kicked with a final code: a stays away while b talks.
  const closed = next(a, "close");
  assert.equal(await kick(name, 1008, "kicked"), 1);
  assert.equal((await closed).retry, false);
  for (const text of ["missed 1", "missed 2"]) {
    heard = said(b, text);
    b.send(say(room, text));
    await heard;
  }

  const got = texts(a);
  heard = said(a, "after");
  const back = next(a, "message", (m) => m.type === "joined" && m.name === name);
  a.connect();
  await back;
  b.send(say(room, "after"));
  await heard;
  assert.deepEqual(sent, [null, one.pos]);
  assert.deepEqual(got, ["missed 1", "missed 2", "after"]);
});

test("a drop the client retries resumes with nothing lost or doubled", { timeout: 2 * wait }, async (t) => {
  const name = unique("cy"), room = unique("room");
  const { a, b, sent } = await pair(t, name, room);
  const got = texts(a);
  const reopened = next(a, "close").then(() => next(a, "open"));
  assert.equal(await kick(name, 4000, "test drop"), 1);
  // Said while a is away or already back: it hears each once either way.
  b.send(say(room, "during"));
  await reopened;
  const heard = said(a, "after");
  b.send(say(room, "after"));
  await heard;
  assert.deepEqual(got, ["during", "after"]);
  assert.equal(sent.length, 2);
  assert.notEqual(sent[1], null, "the rejoin carries a position");
});

test("a position the server cannot replay from gets a resync", { timeout: 2 * wait }, async (t) => {
  const room = unique("room");
  const c = new Client(url, { WebSocket, protocols: ["chat.v1"], positionOf });
  t.after(() => c.close());
  c.replay("hello", hello(unique("dee")));
  c.joinRoom(room, () => join(room, { e: "an epoch the room never had", o: 7 }));
  const resync = next(c, "message", (m) => m.type === "resync");
  c.connect();
  assert.deepEqual(await resync, { type: "resync", room });
});

test("positions are kept only for joined rooms", { timeout: 2 * wait }, async (t) => {
  const name = unique("eve"), room = unique("room");
  const { a, b } = await pair(t, name, room);
  assert.notEqual(a.position(room), undefined);
  a.forgetRoom(room);
  assert.equal(a.position(room), undefined);
  const heard = said(a, "late"); // a has not left the room on the server
  b.send(say(room, "late"));
  await heard;
  assert.equal(a.position(room), undefined);
});
