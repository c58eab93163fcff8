// The peer of `phonghop bench fanout`: Node's socket.io server (npm `socket.io`) doing the
// same broadcast to the same kind of clients. A known token connects; "join" enters the
// meeting's room and answers the events after `since` (the peer keeps its log in memory);
// POST /emit {type, data} appends the event to a file and fsyncs it (a committed command,
// as ours writes SQLite at synchronous=FULL), then emits it to the room and answers {seq}.
//
//   node peer.cjs SPEC.json     (SPEC: port, tokens, meeting_id, socketio_server, log)
"use strict";
const fs = require("fs");
const http = require("http");
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { Server } = require(spec.socketio_server);
const tokens = new Set(spec.tokens);
const log = fs.openSync(spec.log, "a");
const events = [];
let seq = 0;

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/emit") return; // socket.io answers its own path
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const { type, data } = JSON.parse(body);
    seq += 1;
    const event = { meeting_id: spec.meeting_id, seq, prev: seq - 1, audience: "meeting", type, data,
                    at: new Date().toISOString() };
    fs.write(log, JSON.stringify(event) + "\n", (err) => {
      if (err) throw err;
      fs.fsync(log, (err2) => {
        if (err2) throw err2;
        events.push(event);
        io.to("m:" + spec.meeting_id).emit("event", event);
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ seq }));
      });
    });
  });
});
const io = new Server(server, { transports: ["websocket"], pingInterval: 10000, pingTimeout: 10000 });
io.use((socket, next) => (tokens.has(socket.handshake.auth && socket.handshake.auth.token) ? next() : next(new Error("unauthorized"))));
io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    socket.join("m:" + data.meeting_id);
    const since = data.since === null || data.since === undefined ? null : data.since;
    if (since === null) return ack({ ok: true, snapshot: {}, head: seq });
    ack({ ok: true, events: events.filter((e) => e.seq > since), head: seq });
  });
  socket.on("resync", (data, ack) => ack({ ok: true, events: events.filter((e) => e.seq > data.since), head: seq }));
});
server.listen(spec.port, "127.0.0.1", () => process.stdout.write("listening\n"));
