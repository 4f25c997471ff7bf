// chat.js — the chat page: speaks chat.v1 (see protocol.go) through wsgate.js.
import { Client } from "./wsgate.js";

const $ = (id) => document.getElementById(id);
// Resume mode: every event sent to a room carries its position ("pos"), and
// a rejoin after a reconnect sends the last one, so the server replays what
// the page missed.
const client = new Client("/ws", {
  protocols: ["chat.v1"],
  positionOf: (data) => {
    const ev = JSON.parse(data);
    return ev.pos ? { room: ev.room, pos: ev.pos } : null;
  },
});
const maxLog = 500;
const rooms = new Map(); // room -> { log: [{kind, name, text}], members: [] }
let current = "";
let me = "";
let lastClose = null; // the close that began the current outage

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function entry(line) {
  const li = el("li", line.kind);
  if (line.kind === "msg") {
    if (line.name === me) li.classList.add("mine");
    li.append(el("b", "who", line.name), el("span", "text", line.text));
  } else {
    li.textContent = line.text;
  }
  return li;
}

// show makes room the one on screen and redraws it.
function show(room) {
  current = room;
  $("rooms").replaceChildren(...[...rooms.keys()].map((r) => {
    const li = el("li", r === current ? "current" : "", "# " + r);
    li.onclick = () => show(r);
    return li;
  }));
  const st = rooms.get(room) || { log: [], members: [] };
  $("title").textContent = room ? "# " + room : "join a room";
  $("log").replaceChildren(...st.log.map(entry));
  $("members").replaceChildren(...st.members.map((m) => el("li", m === me ? "me" : "", m)));
  $("log").scrollTop = $("log").scrollHeight;
  $("say").querySelector("button").disabled = !room;
  $("leave").disabled = !room;
}

// note adds a line to a room the page is in; events for other rooms (such as
// ones that arrive just after leaving) are ignored.
function note(room, line) {
  const st = rooms.get(room);
  if (!st) return;
  st.log.push(line);
  if (st.log.length > maxLog) st.log.shift();
  if (room !== current) return;
  const log = $("log");
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(entry(line));
  if (log.children.length > maxLog) log.firstElementChild.remove();
  if (stick) log.scrollTop = log.scrollHeight;
}

function noteAll(text) {
  for (const room of rooms.keys()) note(room, { kind: "sys", text });
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

client.addEventListener("state", (e) => {
  $("status").textContent = e.detail;
  $("status").dataset.state = e.detail;
  if (e.detail === "open") $("detail").textContent = "";
});
client.addEventListener("open", () => {
  if (lastClose) noteAll("reconnected");
  lastClose = null;
});
client.addEventListener("close", (e) => {
  const { code, reason, retry, delay } = e.detail;
  const why = `closed ${code}${reason ? " (" + reason + ")" : ""}`;
  $("detail").textContent = why + (retry ? `, retrying in ${(delay / 1000).toFixed(1)}s` : "");
  if (!lastClose) {
    // The first close after being open: the member lists are stale now and
    // come back when the client rejoins.
    noteAll("disconnected: " + why);
    for (const st of rooms.values()) st.members = [];
    show(current);
  }
  lastClose = e.detail;
});
client.addEventListener("message", (e) => {
  const ev = JSON.parse(e.detail);
  switch (ev.type) {
    case "joined": note(ev.room, { kind: "sys", text: `→ ${ev.name} joined` }); break;
    case "left": note(ev.room, { kind: "sys", text: `← ${ev.name} left` }); break;
    case "members": {
      const st = rooms.get(ev.room);
      if (st) {
        st.members = ev.members;
        if (ev.room === current) show(current);
      }
      break;
    }
    case "message": note(ev.room, { kind: "msg", name: ev.name, text: ev.text }); break;
    case "error": notice(ev.text); break;
    case "resync":
      // The server could not replay what this page missed (its history was
      // lost in a restart, or did not reach back far enough): say so.
      note(ev.room, { kind: "sys resync", text: "⚠ you may have missed messages while disconnected" });
      break;
  }
});

$("hello").onsubmit = (e) => {
  e.preventDefault();
  me = $("name").value.trim();
  if (!me) return;
  client.replay("hello", JSON.stringify({ type: "hello", name: me }));
  $("hello").hidden = true;
  $("app").hidden = false;
  $("whoami").textContent = me;
  show("");
  client.connect();
  $("room").focus();
};
$("join").onsubmit = (e) => {
  e.preventDefault();
  const room = $("room").value.trim();
  if (!room) return;
  if (!rooms.has(room)) {
    rooms.set(room, { log: [], members: [] });
    client.joinRoom(room, (pos) => JSON.stringify({ type: "join", room, pos }));
  }
  notice("");
  show(room);
  $("text").focus();
};
$("say").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!current || !text) return;
  client.send(JSON.stringify({ type: "say", room: current, text }));
  $("text").value = "";
};
$("leave").onclick = () => {
  if (!current) return;
  const room = current;
  rooms.delete(room);
  client.forgetRoom(room);
  // While disconnected there is nothing to leave: the rejoin no longer
  // includes this room.
  if (client.state === "open") client.send(JSON.stringify({ type: "leave", room }));
  show(rooms.keys().next().value || "");
};
