// The wsgate server the tests run against, as the Go test that runs them
// (TestNodeClient in examples/chat) gives it: a chat with history on
// 127.0.0.1, and a control endpoint for what only the server can do.

export const url = process.env.WSGATE_URL; // ws://127.0.0.1:PORT/ws
const control = process.env.WSGATE_CONTROL; // http://127.0.0.1:PORT/test/

if (!url || !control) {
  throw new Error("WSGATE_URL and WSGATE_CONTROL are not set: run these tests with `go test ./examples/chat -run TestNodeClient` from the repository root");
}

// WebSocket is the global one where Node has it (22 on), else ws's.
export const WebSocket = globalThis.WebSocket ?? (await import("ws")).WebSocket;

// wait bounds every wait for an event: a failure bound, never a measurement.
export const wait = 10_000;

// kick closes, on the server, every session of the chatter called name
// with code and reason, and returns how many there were.
export async function kick(name, code, reason) {
  const q = new URLSearchParams({ name, code: String(code), reason });
  const res = await fetch(control + "close?" + q, { method: "POST" });
  if (!res.ok) throw new Error(`kick ${name}: ${res.status} ${await res.text()}`);
  return Number(await res.text());
}

// sessions returns how many sessions the chatter called name has on the
// server; given want, once that is want (the server waits a few seconds
// at most, then says how many there are). A client sees the close frame
// before the server has ended its session: await the count then.
export async function sessions(name, want) {
  const q = new URLSearchParams({ name });
  if (want !== undefined) q.set("await", String(want));
  const res = await fetch(control + "sessions?" + q);
  if (!res.ok) throw new Error(`sessions ${name}: ${res.status} ${await res.text()}`);
  return Number(await res.text());
}

let seq = 0;
// unique returns a name no other test of this run uses (the server is
// shared, and test files run in parallel).
export const unique = (prefix) => `${prefix}-${process.pid}-${++seq}`;

// next resolves with the detail of the first event of type on target for
// which pred is true (a JSON-parsed message for "message" events), and
// rejects after wait ms.
export function next(target, type, pred = () => true) {
  return new Promise((resolve, reject) => {
    const f = (e) => {
      let d = e.detail;
      if (type === "message" && typeof d === "string") d = JSON.parse(d);
      if (!pred(d)) return;
      target.removeEventListener(type, f);
      clearTimeout(timer);
      resolve(d);
    };
    const timer = setTimeout(() => {
      target.removeEventListener(type, f);
      reject(new Error(`no ${type} event within ${wait} ms`));
    }, wait);
    target.addEventListener(type, f);
  });
}

// record collects the details of every event of the given types on
// target, in order, as [type, detail] pairs (messages JSON-parsed).
export function record(target, ...types) {
  const got = [];
  for (const type of types) {
    target.addEventListener(type, (e) => {
      let d = e.detail;
      if (type === "message" && typeof d === "string") d = JSON.parse(d);
      got.push([type, d]);
    });
  }
  return got;
}

// say is the chat's message request.
export const say = (room, text) => JSON.stringify({ type: "say", room, text });
export const hello = (name) => JSON.stringify({ type: "hello", name });
export const join = (room, pos) => JSON.stringify({ type: "join", room, pos });
