// Request/response load from Node's ws: CONNECTIONS clients, each sending one
// text message of SIZE bytes and waiting for its echo before the next, for
// SECONDS. Prints {"messages": n, "seconds": s, "rate": n/s}.
//   node load.mjs ws://127.0.0.1:PORT/ SIZE SECONDS [CONNECTIONS]
import WebSocket from 'ws';

const [url, sizeArg, secondsArg, connArg] = process.argv.slice(2);
if (!url || !url.startsWith('ws://127.0.0.1:')) {
  console.error('usage: node load.mjs ws://127.0.0.1:PORT/ SIZE SECONDS [CONNECTIONS]');
  process.exit(2);
}
const size = Number(sizeArg), seconds = Number(secondsArg), connections = Number(connArg || 8);
// Encoded once: the client's cost per message is then ws's framing and
// masking (native, by bufferutil), so the server is what is measured.
// SIZE bytes of UTF-8 (cut back to a character boundary).
const full = Buffer.from('wsfast é 日本 '.repeat(Math.ceil(size / 8) + 1));
let end = size;
while (end > 0 && (full[end] & 0xc0) === 0x80) end -= 1;
const text = full.subarray(0, end);
let count = 0;
let running = true;

function client() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 26 });
    ws.on('error', reject);
    ws.on('open', () => ws.send(text, { binary: false }));
    ws.on('message', (data) => {
      if (data.length !== text.length) reject(new Error(`echo of ${data.length} bytes`));
      count += 1;
      if (running) ws.send(text, { binary: false }); else { ws.close(1000); resolve(); }
    });
  });
}

const start = process.hrtime.bigint();
setTimeout(() => { running = false; }, seconds * 1000);
await Promise.all(Array.from({ length: connections }, client));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ messages: count, seconds: elapsed, rate: count / elapsed }));
