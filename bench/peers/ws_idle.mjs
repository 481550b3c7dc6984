#!/usr/bin/env node
// What an idle WebSocket client costs a server, with and without
// permessage-deflate: `enchufe bench idle` for WebSocket, written on the
// `ws` package because the point is a real client's offer (ws offers
// permessage-deflate with the parameters browsers use). Usage:
//
//   node ws_idle.mjs URL [--connections 2000] [--hold 3] [--pid PID]
//                        [--deflate] [--hello TEXT]
//
// Opens --connections WebSockets to URL (256 at a time), each offering
// permessage-deflate only with --deflate; with --hello each sends TEXT once
// and waits for the answer (a deflate context is set up on first use, so
// this is what a client that said something and went quiet costs). Then
// holds them all for --hold seconds. With --pid it reads the server's VmRSS
// (/proc/PID/status) before opening anything and at the end of the hold,
// every connection still open. Prints one JSON object:
// opened, held, deflate_accepted (upgrades whose answer took the offer),
// server_rss_before/after and server_bytes_per_connection (the difference
// over the connections held: user-space memory only, the kernel's socket
// buffers are not in VmRSS).
import { readFileSync } from "node:fs";
import { WebSocket } from "ws";

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const url = process.argv[2];
if (!url || url.startsWith("--")) {
  console.error("usage: node ws_idle.mjs URL [--connections N] [--hold S] [--pid PID] [--deflate] [--hello TEXT]");
  process.exit(2);
}
const total = Number(option("connections", 2000));
const holdSeconds = Number(option("hold", 3));
const pid = option("pid");
const hello = option("hello");
const deflate = process.argv.includes("--deflate");
const concurrency = 256;

function vmRss() {
  if (!pid) return null;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : null;
}

// Opens one connection (and says hello); resolves with the socket, or null.
function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    ws.on("error", () => resolve(null));
    ws.on("close", () => {
      ws.closed = true;
      resolve(null);
    });
    ws.on("open", () => {
      if (hello === undefined) return resolve(ws);
      ws.once("message", () => resolve(ws));
      ws.send(hello);
    });
  });
}

const before = vmRss();
const sockets = [];
let next = 0;
async function opener() {
  while (next < total) {
    next++;
    const ws = await open();
    if (ws) sockets.push(ws);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, total) }, opener));
const opened = sockets.length;
await new Promise((r) => setTimeout(r, holdSeconds * 1000));
const held = sockets.filter((ws) => !ws.closed && ws.readyState === WebSocket.OPEN).length;
const after = vmRss();
const accepted = sockets.filter((ws) => ws.extensions.includes("permessage-deflate")).length;
console.log(
  JSON.stringify({
    url,
    connections: total,
    deflate_offered: deflate,
    hello: hello ?? null,
    opened,
    held,
    deflate_accepted: accepted,
    server_rss_before: before,
    server_rss_after: after,
    server_bytes_per_connection: before !== null && after !== null && held ? Math.round((after - before) / held) : null,
  }),
);
for (const ws of sockets) ws.terminate();
process.exit(0);
