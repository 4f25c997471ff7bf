// Echo client for the hub's permessage-deflate interop test.
//
// Usage: node deflate_client.cjs URL MODE N   (ws found through NODE_PATH)
//
// Connects with Node's ws library, negotiating permessage-deflate as MODE
// says (default: the library's own offer; windows: small windows both ways;
// no-takeover: no context takeover either way), sends N similar JSON
// messages one at a time (every one compressed: threshold 0), checks each
// echo and prints one JSON line: the server's answer and the extensions ws
// accepted, or an error.
"use strict";
const WebSocket = require("ws");

const [url, mode, n] = process.argv.slice(2);
const options = {
  default: { threshold: 0 },
  windows: { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
  "no-takeover": { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
}[mode];

function message(i) {
  return JSON.stringify({
    type: "quote", symbol: "ACME", seq: i, bid: 100 + (i % 7) + (i % 100) / 100,
    venue: "XNAS", flags: ["regular", "open"], trader: { id: 4000 + (i % 3), desk: "equities-emea" },
    note: "market data update for the instrument, see the reference data service",
  });
}

const ws = new WebSocket(url, { perMessageDeflate: options });
let i = 0;
let result = null;
let answer = null;
ws.on("upgrade", (res) => { answer = res.headers["sec-websocket-extensions"]; });
const timer = setTimeout(() => { result = { error: "timed out at echo " + i }; ws.terminate(); }, 10000);
ws.on("open", () => ws.send(message(0)));
ws.on("message", (data) => {
  if (data.toString() !== message(i)) {
    result = { error: "echo " + i + " differs: " + data };
    ws.close();
    return;
  }
  if (++i === Number(n)) {
    result = { answer, accepted: ws.extensions };
    ws.close(1000);
    return;
  }
  ws.send(message(i));
});
ws.on("error", (err) => { result = result || { error: String(err) }; });
ws.on("close", (code, reason) => {
  clearTimeout(timer);
  console.log(JSON.stringify(result || { error: "closed " + code + " " + reason }));
  process.exitCode = result && !result.error ? 0 : 1;
});
