// Node's `ws` client against the wsfast echo server.
//
//   node client.mjs ws://127.0.0.1:PORT/ [DEFLATE_OPTIONS_JSON]
//
// With DEFLATE_OPTIONS_JSON (ws's perMessageDeflate options, e.g.
// '{"serverMaxWindowBits":9,"threshold":0}') the client offers
// permessage-deflate and runs the compressed round trips instead: the
// negotiated extension, text and binary of 0 B to 4 MiB, fragments, and
// proof that both directions were compressed on the wire.
//
// Prints one JSON line per check: {"check": name, "ok": bool, "detail": ...},
// then {"done": true}. Every check has its own deadline, so a server that
// hangs yields a failed check rather than a hung process.
import crypto from 'node:crypto';
import WebSocket from 'ws';

const url = process.argv[2];
if (!url || !url.startsWith('ws://127.0.0.1:')) {
  console.error('usage: node client.mjs ws://127.0.0.1:PORT/ [DEFLATE_OPTIONS_JSON]');
  process.exit(2);
}
const deflate = process.argv[3] ? JSON.parse(process.argv[3]) : false;

const CHECK_TIMEOUT_MS = 20000;

function report(check, ok, detail) {
  process.stdout.write(JSON.stringify({ check, ok, detail: detail ?? null }) + '\n');
}

function withTimeout(promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// A connection whose messages, pongs and close can be awaited in order.
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    const inbox = [];
    const waiters = [];
    const pongs = [];
    const pongWaiters = [];
    let closeInfo = null;
    const closeWaiters = [];
    let extensionsHeader = null;
    ws.on('upgrade', (response) => { extensionsHeader = response.headers['sec-websocket-extensions'] ?? null; });
    ws.on('message', (data, isBinary) => {
      const item = { data, isBinary };
      const w = waiters.shift();
      if (w) w.resolve(item); else inbox.push(item);
    });
    ws.on('pong', (data) => {
      const w = pongWaiters.shift();
      if (w) w(data); else pongs.push(data);
    });
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString('utf8') };
      for (const w of waiters.splice(0)) w.reject(new Error(`closed with ${code}`));
      for (const w of closeWaiters.splice(0)) w(closeInfo);
    });
    ws.on('error', (err) => {
      if (ws.readyState === WebSocket.CONNECTING) reject(err);
    });
    ws.on('open', () => resolve({
      ws,
      extensionsHeader,
      next: () => new Promise((res, rej) => {
        if (inbox.length) res(inbox.shift());
        else if (closeInfo) rej(new Error(`closed with ${closeInfo.code}`));
        else waiters.push({ resolve: res, reject: rej });
      }),
      nextPong: () => new Promise((res) => {
        if (pongs.length) res(pongs.shift()); else pongWaiters.push(res);
      }),
      closed: () => new Promise((res) => {
        if (closeInfo) res(closeInfo); else closeWaiters.push(res);
      }),
    }));
  });
}

function pattern(n) {
  // Deterministic but not trivially repetitive, so a shifted or truncated
  // echo cannot compare equal by accident.
  const out = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function describe(buf) {
  return `${buf.length} bytes, sha1 ${crypto.createHash('sha1').update(buf).digest('hex')}`;
}

async function echoCheck(conn, name, payload, binary) {
  conn.ws.send(payload, { binary });
  const { data, isBinary } = await conn.next();
  const sent = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const ok = isBinary === binary && Buffer.compare(Buffer.from(data), sent) === 0;
  report(name, ok, ok ? describe(sent) : `sent ${binary ? 'binary' : 'text'} ${describe(sent)}, got ${isBinary ? 'binary' : 'text'} ${describe(Buffer.from(data))}`);
}

async function run(name, body) {
  try {
    await withTimeout(body(), name);
  } catch (err) {
    report(name, false, String(err && err.stack || err));
  }
}

// A masked close frame with an arbitrary payload, written past ws's own
// checks (ws refuses to send a code that must not be sent).
function rawClose(payload) {
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from([0x88, 0x80 | masked.length]), key, masked]);
}

// Compressible text: JSON-like records, as chat and API traffic looks.
function jsonText(n) {
  let out = '';
  for (let i = 0; out.length < n; i++) {
    out += JSON.stringify({ id: i, user: `user${i % 97}`, text: `message number ${i} \u00e9\u65e5`, ok: i % 3 === 0 }) + '\n';
  }
  return out.slice(0, n);
}

async function mainDeflate() {
  const conn = await withTimeout(open(), 'open');
  // The server's Sec-WebSocket-Extensions answer, and that ws took it.
  const negotiated = conn.extensionsHeader;
  const ok = conn.ws.extensions === 'permessage-deflate' && /^permessage-deflate\b/.test(negotiated ?? '');
  report('negotiated', ok, negotiated);
  for (const n of [0, 1, 125, 126, 1000, 65535, 65536, 1024 * 1024, 4 * 1024 * 1024]) {
    await run(`deflate-text-${n}`, () => echoCheck(conn, `deflate-text-${n}`, jsonText(n), false));
    await run(`deflate-binary-${n}`, () => echoCheck(conn, `deflate-binary-${n}`, pattern(n), true));
  }
  await run('deflate-unicode', () => echoCheck(conn, 'deflate-unicode', 'wsfast \u00e9\u65e5\u{1F600} '.repeat(100000), false));
  await run('deflate-fragmented', async () => {
    // ws compresses the whole message, then sends it in the frames given:
    // with fin=false it starts a compressed message continued by the next send.
    const parts = [jsonText(10000), jsonText(70000), jsonText(5)];
    parts.forEach((part, i) => conn.ws.send(part, { binary: false, fin: i === parts.length - 1 }));
    const { data, isBinary } = await conn.next();
    const whole = Buffer.from(parts.join(''), 'utf8');
    const ok = !isBinary && Buffer.compare(Buffer.from(data), whole) === 0;
    report('deflate-fragmented', ok, ok ? describe(whole) : `got ${describe(Buffer.from(data))}`);
  });
  await run('deflate-on-the-wire', async () => {
    // 1 MiB of JSON-like text both ways: far fewer bytes cross the socket
    // than the message holds, in each direction, when both compress.
    const socket = conn.ws._socket;
    const read0 = socket.bytesRead;
    const written0 = socket.bytesWritten;
    const text = jsonText(1024 * 1024);
    conn.ws.send(text);
    const { data } = await conn.next();
    const read = socket.bytesRead - read0;
    const written = socket.bytesWritten - written0;
    const ok = Buffer.from(data).toString('utf8') === text && read < text.length / 4 && written < text.length / 4;
    report('deflate-on-the-wire', ok, { message: text.length, sent: written, received: read });
  });
  await run('deflate-close', async () => {
    conn.ws.close(1000, 'deflate done');
    const info = await conn.closed();
    report('deflate-close', info.code === 1000 && info.reason === 'deflate done', info);
  });
}

async function main() {
  if (deflate) return mainDeflate();
  const conn = await withTimeout(open(), 'open');
  report('open', true, null);

  await run('text', () => echoCheck(conn, 'text', 'Hello Server!', false));
  await run('binary', () => echoCheck(conn, 'binary', pattern(256), true));
  await run('empty-text', () => echoCheck(conn, 'empty-text', '', false));
  await run('empty-binary', () => echoCheck(conn, 'empty-binary', Buffer.alloc(0), true));
  for (const n of [125, 126, 65535, 65536]) {
    await run(`binary-${n}`, () => echoCheck(conn, `binary-${n}`, pattern(n), true));
    await run(`text-${n}`, () => echoCheck(conn, `text-${n}`, 'a'.repeat(n), false));
  }
  await run('binary-4MiB', () => echoCheck(conn, 'binary-4MiB', pattern(4 * 1024 * 1024), true));
  await run('text-4MiB', () => echoCheck(conn, 'text-4MiB', 'wsfast \u00e9\u65e5\u{1F600} '.repeat(4 * 1024 * 1024 / 16), false));
  await run('unicode', () => echoCheck(conn, 'unicode', 'h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \u{1F600}\u{1F389} \u{1D11E}', false));

  await run('fragmented-text', async () => {
    // The two-byte '\u00e9' is split across the first and second fragment.
    const whole = Buffer.from('fragm\u00e9nted \u{1F600} text', 'utf8');
    const cut = whole.indexOf(0xc3) + 1;
    conn.ws.send(whole.subarray(0, cut), { binary: false, fin: false });
    conn.ws.send(whole.subarray(cut, cut + 5), { binary: false, fin: false });
    conn.ws.send(whole.subarray(cut + 5), { binary: false, fin: true });
    const { data, isBinary } = await conn.next();
    const ok = !isBinary && Buffer.compare(Buffer.from(data), whole) === 0;
    report('fragmented-text', ok, ok ? describe(whole) : `got ${isBinary ? 'binary' : 'text'} ${JSON.stringify(Buffer.from(data).toString())}`);
  });
  await run('fragmented-binary', async () => {
    const whole = pattern(70000);
    const parts = [whole.subarray(0, 1), whole.subarray(1, 126), whole.subarray(126, 65662), whole.subarray(65662)];
    parts.forEach((part, i) => conn.ws.send(part, { binary: true, fin: i === parts.length - 1 }));
    const { data, isBinary } = await conn.next();
    const ok = isBinary && Buffer.compare(Buffer.from(data), whole) === 0;
    report('fragmented-binary', ok, ok ? describe(whole) : `got ${describe(Buffer.from(data))}`);
  });

  await run('ping-pong', async () => {
    const payload = Buffer.from('ping from ws');
    conn.ws.ping(payload);
    const pong = await conn.nextPong();
    const ok = Buffer.compare(Buffer.from(pong), payload) === 0;
    report('ping-pong', ok, ok ? null : `pong payload ${JSON.stringify(pong.toString())}`);
  });
  await run('ping-empty', async () => {
    conn.ws.ping();
    const pong = await conn.nextPong();
    report('ping-empty', pong.length === 0, `pong of ${pong.length} bytes`);
  });

  await run('invalid-utf8', async () => {
    // ws does not validate what it sends, so this reaches the server as text.
    const c = await open();
    c.ws.send(Buffer.from([0x48, 0x69, 0xce, 0xba, 0xff, 0x21]), { binary: false });
    const info = await c.closed();
    report('invalid-utf8', info.code === 1007, `close code ${info.code}`);
  });

  await run('close-1000', async () => {
    conn.ws.close(1000, 'normal');
    const info = await conn.closed();
    report('close-1000', info.code === 1000 && info.reason === 'normal', info);
  });
  for (const code of [1001, 3000, 4999]) {
    await run(`close-${code}`, async () => {
      const c = await open();
      const reason = `bye ${code} \u2713`;
      c.ws.close(code, reason);
      const info = await c.closed();
      report(`close-${code}`, info.code === code && info.reason === reason, info);
    });
  }
  await run('close-empty', async () => {
    // No code at all: the server answers with an empty close, which ws
    // reports as 1005.
    const c = await open();
    c.ws.close();
    const info = await c.closed();
    report('close-empty', info.code === 1005, info);
  });
  for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    await run(`close-invalid-${code}`, async () => {
      const c = await open();
      c.ws._socket.write(rawClose([code >> 8, code & 0xff]));
      const info = await c.closed();
      report(`close-invalid-${code}`, info.code === 1002, info);
    });
  }
  await run('close-invalid-length-1', async () => {
    const c = await open();
    c.ws._socket.write(rawClose([0x03]));
    const info = await c.closed();
    report('close-invalid-length-1', info.code === 1002, info);
  });
}

main().then(
  () => { process.stdout.write(JSON.stringify({ done: true }) + '\n'); process.exit(0); },
  (err) => { report('main', false, String(err && err.stack || err)); process.exit(1); },
);
