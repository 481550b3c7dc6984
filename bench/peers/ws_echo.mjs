#!/usr/bin/env node
// A WebSocket echo server as a Node.js programmer would write it with the
// `ws` package: the peer bench/compare weighs `enchufe serve echo
// --web-port` against (`enchufe bench echo --ws`). Usage:
//
//   node ws_echo.mjs PORT [PREFIX] [--deflate]
//
// PORT 0 picks a free port. Every message gets one message back: PREFIX
// (default "Eco: ", as `serve echo --prefix`; '' for an exact echo) + the
// message, text for text and binary for binary, on any path.
// permessage-deflate is off unless --deflate (ws offers it by default; the
// comparison is of echo servers, not of zlib). Prints "listening: ws-echo
// http 127.0.0.1:PORT" when ready.
import http from "node:http";
import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
const deflate = args.includes("--deflate");
const [portArg, prefixArg] = args.filter((a) => a !== "--deflate");
const port = Number(portArg ?? 0);
const prefix = Buffer.from(prefixArg ?? "Eco: ");

const server = http.createServer((req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({
  server,
  perMessageDeflate: deflate,
  clientTracking: false,
  maxPayload: 64 * 1024,
});

wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    // The bytes as they came: no decoding to a string and back.
    ws.send(prefix.length ? Buffer.concat([prefix, data]) : data, { binary: isBinary });
  });
  ws.on("error", () => {});
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

server.listen(port, "127.0.0.1", () => {
  console.log(`listening: ws-echo http 127.0.0.1:${server.address().port}`);
});
