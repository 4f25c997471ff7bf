import { Client } from "./wsgate.js";

const $ = (id) => document.getElementById(id);
const client = new Client("/ws", { protocols: ["chat.v1"] });
const rooms = new Map(); // room -> { log: [], members: [] }
let current = "";

function show(room) {
  current = room;
  $("rooms").replaceChildren(...[...rooms.keys()].map((r) => {
    const li = document.createElement("li");
    li.textContent = r;
    li.className = r === current ? "current" : "";
    li.onclick = () => show(r);
    return li;
  }));
  const st = rooms.get(room) || { log: [], members: [] };
  $("log").replaceChildren(...st.log.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
  $("members").replaceChildren(...st.members.map((m) => {
    const li = document.createElement("li");
    li.textContent = m;
    return li;
  }));
  $("log").scrollTop = $("log").scrollHeight;
}

function note(room, line) {
  if (!rooms.has(room)) rooms.set(room, { log: [], members: [] });
  const st = rooms.get(room);
  st.log.push(line);
  if (st.log.length > 500) st.log.shift();
  if (room === current) show(room);
}

client.addEventListener("state", (e) => {
  $("status").textContent = e.detail;
  $("status").dataset.state = e.detail;
});
client.addEventListener("close", (e) => {
  const { code, reason, retry, delay } = e.detail;
  $("status").textContent = `closed ${code}${reason ? " (" + reason + ")" : ""}` +
    (retry ? `, retrying in ${(delay / 1000).toFixed(1)}s` : "");
});
client.addEventListener("message", (e) => {
  const ev = JSON.parse(e.detail);
  switch (ev.type) {
    case "joined": note(ev.room, `→ ${ev.name} joined`); break;
    case "left":
      if (ev.name === $("name").value && !client.replays.has("join:" + ev.room)) {
        rooms.delete(ev.room);
        show(rooms.keys().next().value || "");
      } else {
        note(ev.room, `← ${ev.name} left`);
      }
      break;
    case "members":
      if (rooms.has(ev.room)) {
        rooms.get(ev.room).members = ev.members;
        if (ev.room === current) show(current);
      }
      break;
    case "message": note(ev.room, `${ev.name}: ${ev.text}`); break;
    case "error": note(current, `! ${ev.text}`); break;
  }
});

$("hello").onsubmit = (e) => {
  e.preventDefault();
  client.replay("hello", JSON.stringify({ type: "hello", name: $("name").value }));
  $("hello").hidden = true;
  $("app").hidden = false;
  client.connect();
  $("room").focus();
};
$("join").onsubmit = (e) => {
  e.preventDefault();
  const room = $("room").value.trim();
  if (!room) return;
  if (!rooms.has(room)) rooms.set(room, { log: [], members: [] });
  client.replay("join:" + room, JSON.stringify({ type: "join", room }));
  show(room);
  $("text").focus();
};
$("say").onsubmit = (e) => {
  e.preventDefault();
  if (!current) return;
  client.send(JSON.stringify({ type: "say", room: current, text: $("text").value }));
  $("text").value = "";
};
$("leave").onclick = () => {
  if (!current) return;
  client.forget("join:" + current);
  client.send(JSON.stringify({ type: "leave", room: current }));
};
