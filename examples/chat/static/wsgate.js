// wsgate.js — a small, dependency-free browser client for wsgate endpoints.
//
//   import { Client } from "./wsgate.js";
//   const c = new Client("/ws", { protocols: ["chat.v1"] });
//   c.addEventListener("message", (e) => console.log(e.detail));
//   c.addEventListener("close", (e) => console.log(e.detail.code, e.detail.reason));
//   c.replay("hello", JSON.stringify({ type: "hello", name: "ada" }));
//   c.connect();
//
// It reconnects after a drop with exponential backoff and full jitter,
// re-sends the messages registered with replay() (room joins, say) after each
// reconnect, queues what send() is given while disconnected (bounded: the
// oldest queued message is dropped and counted), and reports every close code
// to the page. It does not reconnect after a close the server means as final
// (1000, 1002, 1003, 1007, 1008, 1009) unless retryOn says so.

const finalCodes = new Set([1000, 1002, 1003, 1007, 1008, 1009]);

export class Client extends EventTarget {
  constructor(url, opts = {}) {
    super();
    this.url = new URL(url, location.href);
    this.url.protocol = this.url.protocol === "https:" ? "wss:" : this.url.protocol === "http:" ? "ws:" : this.url.protocol;
    this.protocols = opts.protocols || [];
    this.minDelay = opts.minDelay ?? 250;
    this.maxDelay = opts.maxDelay ?? 10000;
    this.maxQueue = opts.maxQueue ?? 100;
    this.retryOn = opts.retryOn || ((code) => !finalCodes.has(code));
    this.queue = [];
    this.dropped = 0;
    this.replays = new Map();
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = true;
    this.state = "idle";
  }

  // connect opens the socket and keeps it open until close() is called.
  connect() {
    this.stopped = false;
    clearTimeout(this.timer);
    this.#open();
  }

  // send sends data now, or queues it until the socket is open again.
  send(data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(data);
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(data);
  }

  // replay registers data to be sent (again) on every (re)connect, under a
  // key that forget() removes; registering sends it now if connected.
  replay(key, data) {
    this.replays.set(key, data);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  forget(key) {
    this.replays.delete(key);
  }

  // close ends the session and stops reconnecting.
  close(code = 1000, reason = "") {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(code, reason);
    this.#setState("closed");
  }

  #setState(s) {
    this.state = s;
    this.dispatchEvent(new CustomEvent("state", { detail: s }));
  }

  #open() {
    this.#setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url, this.protocols);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      for (const data of this.replays.values()) ws.send(data);
      const pending = this.queue.splice(0);
      for (const data of pending) ws.send(data);
      this.#setState("open");
      this.dispatchEvent(new CustomEvent("open"));
    });
    ws.addEventListener("message", (e) => {
      this.dispatchEvent(new CustomEvent("message", { detail: e.data }));
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      const retry = !this.stopped && this.retryOn(e.code);
      const delay = retry ? this.#delay() : 0;
      this.dispatchEvent(new CustomEvent("close", {
        detail: { code: e.code, reason: e.reason, retry, delay },
      }));
      if (!retry) {
        this.#setState("closed");
        return;
      }
      this.#setState("waiting");
      this.timer = setTimeout(() => this.#open(), delay);
    });
  }

  // #delay is exponential backoff with full jitter: a random time between
  // minDelay and min(maxDelay, minDelay * 2^attempt).
  #delay() {
    const cap = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    this.attempt++;
    return this.minDelay + Math.random() * (cap - this.minDelay);
  }
}
