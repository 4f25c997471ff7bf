// wsgate.js — a small, dependency-free client for wsgate endpoints, for
// browsers and Node. The package is @wsgate/client (js/ in the wsgate
// repository); its types are in wsgate.d.ts and its guide is
// docs/browser-client.md. In a page, copy this one file next to it and
// import it as an ES module:
//
//   import { Client } from "./wsgate.js";
//
//   const c = new Client("/ws", { protocols: ["chat.v1"] });
//   c.addEventListener("message", (e) => console.log("got", e.detail));
//   c.addEventListener("state", (e) => console.log("now", e.detail));
//   c.addEventListener("close", (e) => {
//     const { code, reason, retry, delay } = e.detail;
//     console.log(`closed ${code} ${reason}; retry=${retry} in ${delay}ms`);
//   });
//   c.replay("hello", JSON.stringify({ type: "hello", name: "ada" })); // sent on every connect
//   c.replay("join:lobby", JSON.stringify({ type: "join", room: "lobby" }));
//   c.connect();
//   c.send(JSON.stringify({ type: "say", room: "lobby", text: "hi" })); // queued until open
//   // later: c.forget("join:lobby"); c.close();
//
// In Node (no page, so the URL must be absolute; Node before 22 has no
// global WebSocket, so pass one, such as the ws package's):
//
//   import { WebSocket } from "ws";
//   const c = new Client("ws://127.0.0.1:8080/ws", { WebSocket, protocols: ["chat.v1"] });
//
// What it does:
//
//   - connect() opens the socket (a relative URL is resolved against the page;
//     http becomes ws and https becomes wss) and keeps it open until close().
//   - After a drop it reconnects with exponential backoff and full jitter: the
//     n-th retry waits a random time in [0, min(maxDelay, minDelay * 2^n)).
//     The backoff starts over only once a connection stayed open for
//     stableAfter, so a server that accepts and then drops at once is not
//     hammered.
//   - replay(key, data) registers a message sent on every (re)connect, in
//     registration order, before anything queued — the place for a hello and
//     room joins, since a reconnect is a new session on the server.
//     forget(key) removes one.
//   - send(data) sends now when open, else queues (at most maxQueue messages;
//     when full the oldest is dropped, counted in .dropped and reported by a
//     "drop" event) and flushes the queue after the replays on the next open.
//   - Resume mode (opt-in, for rooms with history on the server): give the
//     positionOf option, a function that returns {room, pos} for a received
//     message that carries its position in a room, else null. Register each
//     room with joinRoom(room, make): make(pos) returns the join message and
//     is called now (when open) and on every reconnect with the last pos seen
//     in that room (undefined before any), so the server replays what the
//     page missed. forgetRoom(room) stops rejoining it and forgets its pos;
//     position(room) returns it. Positions are kept only for joined rooms.
//
//       const c = new Client("/ws", {
//         positionOf: (data) => {
//           const m = JSON.parse(data);
//           return m.pos ? { room: m.room, pos: m.pos } : null;
//         },
//       });
//       c.joinRoom("lobby", (pos) => JSON.stringify({ type: "join", room: "lobby", pos }));
//
//   - Every close is reported as a "close" event with its code and reason (1006
//     when the connection failed or the handshake was refused: browsers hide
//     the HTTP status), whether it will retry, and after what delay. Codes the
//     server means as final (1000, 1002, 1003, 1007, 1008, 1009) stop the
//     reconnecting unless the retryOn option says otherwise.
//
// Events (all CustomEvent, data in .detail): "state" ("connecting", "open",
// "waiting", "reconnecting", "closed"), "open", "message" (the data as
// received: a string for text; for binary what the WebSocket gives for its
// binaryType: a Blob in browsers, a Buffer with ws), "close" ({code, reason,
// retry, delay}), "drop" ({data}: a queued message dropped on overflow).
//
// Options: protocols ([]), minDelay (250 ms), maxDelay (10000 ms), stableAfter
// (5000 ms), maxQueue (100), retryOn ((code) => bool), positionOf (null: no
// resume mode), WebSocket (globalThis.WebSocket), binaryType (the
// WebSocket's own default). A bad minDelay (below 1), maxDelay (below
// minDelay), stableAfter (below 0) or maxQueue (not an integer from 0) is
// refused with a RangeError; maxQueue 0 drops whatever is sent while not
// open.

const finalCodes = new Set([1000, 1002, 1003, 1007, 1008, 1009]);

// OPEN is the readyState of an open WebSocket, the same in every
// implementation (the class's own constant may be missing on a stand-in).
const OPEN = 1;

// detailEvent makes the CustomEvent the client dispatches. Node before 19
// has no global CustomEvent: there it is an Event with the same detail.
const detailEvent = (type, detail = null) => {
  if (typeof globalThis.CustomEvent === "function") return new CustomEvent(type, { detail });
  const e = new Event(type);
  Object.defineProperty(e, "detail", { value: detail, enumerable: true });
  return e;
};

// socketURL resolves url against the page (when there is one) and maps
// http(s) to ws(s). Without a page only an absolute URL has a meaning.
const socketURL = (url) => {
  const base = globalThis.location?.href;
  let u;
  try {
    u = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new TypeError(base === undefined
      ? `wsgate: ${JSON.stringify(String(url))} is not an absolute URL; without a page (in Node) give ws://host/path or wss://host/path`
      : `wsgate: ${JSON.stringify(String(url))} is not a URL`);
  }
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new TypeError(`wsgate: ${u.href} is not a ws:, wss:, http: or https: URL`);
  }
  return u;
};

const dataOf = (d) => (typeof d === "function" ? d() : d);

// option returns opts[name], or def when it is not given, and refuses a
// value that is not a number of at least min (an integer when int is set).
const option = (opts, name, def, min, int = false) => {
  const v = opts[name] ?? def;
  if (typeof v !== "number" || !(v >= min) || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw new RangeError(`wsgate: ${name} must be ${int ? "an integer" : "a finite number"} of at least ${min}, not ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
  }
  return v;
};
// roomKey is the replay key of a room's join; the NUL keeps it apart from
// the keys a page gives replay().
const roomKey = (room) => "\u0000room:" + room;

export class Client extends EventTarget {
  constructor(url, opts = {}) {
    super();
    this.url = socketURL(url);
    this.WebSocket = opts.WebSocket || globalThis.WebSocket;
    if (typeof this.WebSocket !== "function") {
      throw new TypeError("wsgate: no WebSocket here (Node before 22 has none): pass one as the WebSocket option, such as the ws package's");
    }
    this.binaryType = opts.binaryType;
    this.protocols = opts.protocols || [];
    this.minDelay = option(opts, "minDelay", 250, 1);
    this.maxDelay = option(opts, "maxDelay", 10000, this.minDelay);
    this.stableAfter = option(opts, "stableAfter", 5000, 0);
    this.maxQueue = option(opts, "maxQueue", 100, 0, true);
    this.retryOn = opts.retryOn || ((code) => !finalCodes.has(code));
    this.queue = [];
    this.dropped = 0;
    this.replays = new Map(); // key -> data, or a function returning it
    this.positionOf = opts.positionOf || null;
    this.positions = new Map(); // room -> the last pos seen in it
    this.attempt = 0; // retries since the last stable connection
    this.opened = false; // whether any connection has opened yet
    this.openedAt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = true;
    this.state = "idle";
  }

  // connect opens the socket and keeps it open until close() is called. It
  // does nothing while a socket is already open or opening.
  connect() {
    this.stopped = false;
    if (this.ws && this.ws.readyState <= OPEN) return;
    clearTimeout(this.timer);
    this.#open();
  }

  // send sends data now, or queues it until the socket is open again.
  send(data) {
    if (this.ws && this.ws.readyState === OPEN) {
      this.ws.send(data);
      return;
    }
    this.queue.push(data);
    if (this.queue.length > this.maxQueue) { // with maxQueue 0, data itself
      const old = this.queue.shift();
      this.dropped++;
      this.dispatchEvent(detailEvent("drop", { data: old }));
    }
  }

  // replay registers data to be sent on every (re)connect, under a key that
  // forget() removes; registering sends it now if connected. data may be a
  // function returning the data, called each time it is sent.
  replay(key, data) {
    this.replays.set(key, data);
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(dataOf(data));
  }

  // forget removes what replay registered under key.
  forget(key) {
    this.replays.delete(key);
  }

  // joinRoom registers the join of room for every (re)connect, as replay
  // does: make(pos) returns the message, given the last position seen in
  // the room (resume mode; undefined before any).
  joinRoom(room, make) {
    this.replay(roomKey(room), () => make(this.positions.get(room)));
  }

  // forgetRoom stops rejoining room and forgets its position.
  forgetRoom(room) {
    this.replays.delete(roomKey(room));
    this.positions.delete(room);
  }

  // position returns the last position seen in room (resume mode).
  position(room) {
    return this.positions.get(room);
  }

  // close ends the session with code and reason and stops reconnecting.
  close(code = 1000, reason = "") {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null; // its close event is ours, not news
    if (ws) ws.close(code, reason);
    this.#setState("closed");
  }

  #setState(s) {
    this.state = s;
    this.dispatchEvent(detailEvent("state", s));
  }

  #open() {
    this.#setState(this.opened ? "reconnecting" : "connecting");
    const ws = new this.WebSocket(this.url.href, this.protocols);
    if (this.binaryType) ws.binaryType = this.binaryType;
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.opened = true;
      this.openedAt = Date.now();
      for (const data of this.replays.values()) ws.send(dataOf(data));
      for (const data of this.queue.splice(0)) ws.send(data);
      this.#setState("open");
      this.dispatchEvent(detailEvent("open"));
    });
    // A failed connection fires "error" and then "close", which reports
    // it. The listener is needed all the same: ws (Node) throws an error
    // event that nobody listens to.
    ws.addEventListener("error", () => {});
    ws.addEventListener("message", (e) => {
      if (this.ws !== ws) return;
      if (this.positionOf) this.#remember(e.data);
      this.dispatchEvent(detailEvent("message", e.data));
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.openedAt && Date.now() - this.openedAt >= this.stableAfter) this.attempt = 0;
      this.openedAt = 0;
      const retry = !this.stopped && this.retryOn(e.code);
      const delay = retry ? this.#delay() : 0;
      if (!retry) this.stopped = true;
      this.dispatchEvent(detailEvent("close", { code: e.code, reason: e.reason, retry, delay }));
      // A listener may have called connect() (a socket is opening again) or
      // close() (stopped, state already "closed").
      if (this.ws) return;
      if (this.stopped) {
        if (this.state !== "closed") this.#setState("closed");
        return;
      }
      this.#setState("waiting");
      this.timer = setTimeout(() => this.#open(), delay);
    });
  }

  // #remember keeps the position a message carries, for a joined room. A
  // message positionOf cannot read carries none.
  #remember(data) {
    let p = null;
    try {
      p = this.positionOf(data);
    } catch {
      return;
    }
    if (p && p.pos !== undefined && this.replays.has(roomKey(p.room))) this.positions.set(p.room, p.pos);
  }

  // #delay is exponential backoff with full jitter.
  #delay() {
    const cap = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    if (cap < this.maxDelay) this.attempt++;
    return Math.random() * cap;
  }
}
