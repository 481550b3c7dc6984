#!/usr/bin/env node
// A WebSocket broadcast server as a Node.js programmer would write it with
// the `ws` package: the peer bench/compare weighs the chat's web front door
// against (`enchufe bench fanout --ws`). Usage: node ws_broadcast.mjs PORT
// (0: a free port). Prints "listening: ws-peer http 127.0.0.1:PORT" when
// ready.
//
// It speaks the subset of the chat's web protocol (docs/web.md) the bench
// uses: a `welcome` and a `joined` on connection; for each
// {"type":"line","text":T}, `/nick NAME` answers a `nick` event, `/join ROOM`
// moves the client and answers `joined`, and any other text is broadcast as
// {"type":"message","room":R,"id":N,"nick":NICK,"text":T,"ts":"..."} to every
// other client of the room (not echoed to the sender, like the chat). No
// history, no flood control, no bound on what a slow client is owed.
import http from "node:http";
import { WebSocketServer, WebSocket } from "ws";

const port = Number(process.argv[2] ?? 0);
const rooms = new Map(); // name -> Set of sockets
const ids = new Map(); // name -> last line id
let guests = 0;

function room(name) {
  let members = rooms.get(name);
  if (!members) rooms.set(name, (members = new Set()));
  return members;
}

function event(fields) {
  return JSON.stringify({ ...fields, ts: new Date().toISOString() });
}

function join(ws, name) {
  if (ws.room !== undefined) rooms.get(ws.room)?.delete(ws);
  ws.room = name;
  room(name).add(ws);
  ws.send(event({ type: "joined", room: name, history: [] }));
}

function broadcast(from, text) {
  const id = (ids.get(from.room) ?? 0) + 1;
  ids.set(from.room, id);
  // Serialized and encoded once for everyone: ws frames the same Buffer for
  // each client.
  const payload = Buffer.from(
    event({ type: "message", room: from.room, id, nick: from.nick, text }),
  );
  for (const client of rooms.get(from.room)) {
    if (client !== from && client.readyState === WebSocket.OPEN) {
      client.send(payload, { binary: false });
    }
  }
}

function line(ws, text) {
  if (text.startsWith("/") && !text.startsWith("//")) {
    const [command, ...rest] = text.slice(1).split(" ");
    const arg = rest.join(" ").trim();
    if (command === "nick" && arg) {
      ws.nick = arg;
      ws.send(event({ type: "nick", nick: arg }));
    } else if (command === "join" && arg) {
      join(ws, arg.replace(/^#/, "").toLowerCase());
    } else if (command === "quit") {
      ws.close(1000);
    } else {
      ws.send(event({ type: "error", text: `unknown command /${command}` }));
    }
    return;
  }
  broadcast(ws, text.startsWith("//") ? text.slice(1) : text);
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === "/ws" ? 426 : 404).end();
});
const wss = new WebSocketServer({
  server,
  path: "/ws",
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 64 * 1024,
});

wss.on("connection", (ws) => {
  ws.nick = `guest-${++guests}`;
  ws.send(event({ type: "welcome", v: 1, server: "ws-peer", nick: ws.nick }));
  join(ws, "general");
  ws.on("message", (data, isBinary) => {
    let msg;
    try {
      msg = isBinary ? null : JSON.parse(data);
    } catch {
      msg = null;
    }
    if (msg && msg.type === "line" && typeof msg.text === "string") {
      line(ws, msg.text);
    } else {
      ws.send(event({ type: "error", text: "expected {\"type\":\"line\",\"text\":...}" }));
    }
  });
  ws.on("close", () => rooms.get(ws.room)?.delete(ws));
  ws.on("error", () => {});
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

server.listen(port, "127.0.0.1", () => {
  console.log(`listening: ws-peer http 127.0.0.1:${server.address().port}`);
});
