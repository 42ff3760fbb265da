// Node's `ws` server, the peer of the wsfast client.
//
//   node server.mjs [DEFLATE_OPTIONS_JSON]
//
// Listens on 127.0.0.1 on a free port and prints {"port": N} as its first
// line. Then one JSON line per closed connection: {"event": "close", "id":
// ..., "code": ..., "reason": ..., "extensions": ..., "bytesRead": ...}, the
// close code ws received, the extension it negotiated and the bytes that
// crossed the socket, so the tests can check what the wsfast client sent.
// DEFLATE_OPTIONS_JSON (ws's perMessageDeflate options, e.g.
// '{"serverMaxWindowBits":9}') accepts permessage-deflate; without it ws
// declines every extension. Paths (query: ?id=ANY):
//   /echo            echo every message, text as text, binary as binary
//   /fragments       on "go": a text and a binary message, each in fragments
//   /ping            ping the client; report its pong as "pong:<payload>"
//   /close/CODE      close at once with CODE and reason "bye CODE"
//   /invalid-close   send a close frame with code 1004 (never valid)
// The process ends when stdin closes, so it cannot outlive the test.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: process.argv[2] ? JSON.parse(process.argv[2]) : false,
  maxPayload: 64 * 1024 * 1024,
});

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

wss.on('connection', (ws, request) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  const id = url.searchParams.get('id') || '';
  const socket = ws._socket;
  ws.on('close', (code, reason) => emit({
    event: 'close', id, path: url.pathname, code, reason: reason.toString('utf8'),
    extensions: Object.fromEntries(Object.entries(ws._extensions).map(([name, ext]) => [name, ext.params])),
    bytesRead: socket.bytesRead, bytesWritten: socket.bytesWritten,
  }));
  ws.on('error', (err) => emit({ event: 'error', id, path: url.pathname, message: String(err.message) }));

  const path = url.pathname;
  if (path === '/echo') {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  } else if (path === '/fragments') {
    ws.on('message', () => {
      const text = Buffer.from('fr\u00e4gmented \u{1F600} from ws', 'utf8');
      const cut = text.indexOf(0xc3) + 1; // inside the two-byte '\u00e4'
      ws.send(text.subarray(0, cut), { binary: false, fin: false });
      ws.ping('between fragments');
      ws.send(text.subarray(cut, cut + 6), { binary: false, fin: false });
      ws.send(text.subarray(cut + 6), { binary: false, fin: true });
      const bin = Buffer.alloc(70000);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;
      ws.send(bin.subarray(0, 100), { binary: true, fin: false });
      ws.send(bin.subarray(100, 65636), { binary: true, fin: false });
      ws.send(bin.subarray(65636), { binary: true, fin: true });
    });
  } else if (path === '/ping') {
    ws.on('pong', (data) => ws.send(`pong:${data.toString('utf8')}`));
    ws.ping('hello from ws');
  } else if (path.startsWith('/close/')) {
    const code = Number(path.slice('/close/'.length));
    ws.close(code, `bye ${code}`);
  } else if (path === '/invalid-close') {
    ws._socket.write(Buffer.from([0x88, 0x02, 0x03, 0xec]));
  } else {
    ws.close(1008, 'unknown path');
  }
});

wss.on('listening', () => emit({ port: wss.address().port }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
