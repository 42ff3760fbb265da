// The browser's own WebSocket against wsfast. Query parameters:
//   echo=PORT    the wsfast echo server: send, expect the echo, close
//   frames=PORT  a raw server sending frames built by encode_frame: echo
//                each message back, report how the connection closed
// Results are console lines "WSFAST <json>"; the JSON is kept to ASCII so
// the browser log cannot garble it. The last line is {"done": true}.
'use strict';

const params = new URLSearchParams(location.search);

function ascii(json) {
  return json.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function log(obj) {
  console.log('WSFAST ' + ascii(JSON.stringify(obj)));
}

function check(suite, name, ok, detail) {
  log({ check: `${suite}-${name}`, ok: Boolean(ok), detail: detail === undefined ? null : detail });
}

function withTimeout(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// A WebSocket whose messages and close event can be awaited in order.
function connect(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  const waiters = [];
  let closeEvent = null;
  const closeWaiters = [];
  ws.onmessage = (ev) => {
    const w = waiters.shift();
    if (w) w.resolve(ev.data); else inbox.push(ev.data);
  };
  ws.onerror = () => log({ event: 'error', url });
  ws.onclose = (ev) => {
    closeEvent = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
    for (const w of waiters.splice(0)) w.reject(new Error(`closed: ${ev.code} ${ev.reason}`));
    for (const w of closeWaiters.splice(0)) w(closeEvent);
  };
  const opened = new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    closeWaiters.push((ev) => reject(new Error(`closed before open: ${ev.code}`)));
  });
  return {
    ws,
    opened,
    inbox,
    next: () => new Promise((resolve, reject) => {
      if (inbox.length) resolve(inbox.shift());
      else if (closeEvent) reject(new Error(`closed: ${closeEvent.code}`));
      else waiters.push({ resolve, reject });
    }),
    closed: () => new Promise((resolve) => {
      if (closeEvent) resolve(closeEvent); else closeWaiters.push(resolve);
    }),
  };
}

function pattern(n) {
  const out = new Uint8Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Compressible text: JSON-like records, as chat and API traffic looks.
function jsonText(n) {
  const parts = [];
  let length = 0;
  for (let i = 0; length < n; i++) {
    const record = JSON.stringify({ id: i, user: `user${i % 97}`, text: `message number ${i} \u00e9`, ok: i % 3 === 0 }) + '\n';
    parts.push(record);
    length += record.length;
  }
  return parts.join('').slice(0, n);
}

function sameBytes(a, b) {
  if (!(a instanceof ArrayBuffer)) return false;
  const x = new Uint8Array(a);
  if (x.length !== b.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== b[i]) return false;
  return true;
}

function show(data) {
  if (typeof data === 'string') return `text of ${data.length} UTF-16 units: ${data.slice(0, 40)}`;
  if (data instanceof ArrayBuffer) return `ArrayBuffer of ${data.byteLength} bytes`;
  return String(data);
}

async function echoSuite(port) {
  const suite = 'echo';
  const c = connect(`ws://127.0.0.1:${port}/`);
  await withTimeout(c.opened, 10000, 'open');
  check(suite, 'open', c.ws.readyState === WebSocket.OPEN, c.ws.url);
  // The browser offers permessage-deflate on its own; this is the server's answer.
  check(suite, 'extensions', c.ws.extensions.startsWith('permessage-deflate'), c.ws.extensions);

  const textCases = [
    ['hello', 'Hello Server!'],
    ['empty', ''],
    ['unicode', 'h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \u{1F600}\u{1F389}\u{1F468}\u200d\u{1F469}\u200d\u{1F467} \u{1D11E}'],
    ['text-1MiB', 'wsfast \u00e9\u65e5\u{1F600} '.repeat(65536)],
    ['text-4MiB', jsonText(4 * 1024 * 1024)],
  ];
  for (const [name, text] of textCases) {
    c.ws.send(text);
    const got = await withTimeout(c.next(), 10000, name);
    check(suite, name, got === text, got === text ? `${text.length} UTF-16 units` : show(got));
  }
  const binaryCases = [
    ['binary', Uint8Array.from({ length: 256 }, (_, i) => i)],
    ['binary-1MiB', pattern(1024 * 1024)],
    ['binary-4MiB', pattern(4 * 1024 * 1024)],
    ['binary-json-4MiB', new TextEncoder().encode(jsonText(4 * 1024 * 1024))],
  ];
  for (const [name, bytes] of binaryCases) {
    c.ws.send(bytes.buffer);
    const got = await withTimeout(c.next(), 10000, name);
    check(suite, name, sameBytes(got, bytes), show(got));
  }

  c.ws.close(4000, 'bye \u2713');
  const ev = await withTimeout(c.closed(), 10000, 'close');
  check(suite, 'close', ev.code === 4000 && ev.reason === 'bye \u2713' && ev.wasClean, ev);
}

async function framesSuite(port) {
  const suite = 'frames';
  const c = connect(`ws://127.0.0.1:${port}/`);
  await withTimeout(c.opened, 10000, 'open');
  check(suite, 'open', true, null);
  // Echo everything; the server compares what comes back with what it sent.
  let count = 0;
  const echoing = (async () => {
    for (;;) {
      let data;
      try {
        data = await c.next();
      } catch (err) {
        return;
      }
      count += 1;
      c.ws.send(data);
    }
  })();
  const ev = await withTimeout(c.closed(), 30000, 'server close');
  await echoing;
  log({ check: 'frames-close-event', ok: true, detail: { ...ev, messages: count } });
}

async function main() {
  const suites = [];
  if (params.get('echo')) suites.push(['echo', () => echoSuite(params.get('echo'))]);
  if (params.get('frames')) suites.push(['frames', () => framesSuite(params.get('frames'))]);
  for (const [name, run] of suites) {
    try {
      await run();
    } catch (err) {
      log({ check: `${name}-main`, ok: false, detail: String(err && err.stack || err) });
    }
  }
  log({ done: true });
}

main();
