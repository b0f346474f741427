// node `ws` as a client of a wsmachine echo server: text, 1 MiB binary, ping, close.
// Usage: node node_client.cjs ws://127.0.0.1:PORT/   (exits non-zero on any mismatch)
// ws offers permessage-deflate by default on the client side.
const WebSocket = require('ws');
const crypto = require('crypto');

const url = process.argv[2];
const ws = new WebSocket(url, { maxPayload: 4 << 20 });
const fail = (why) => { console.error('node client:', why); process.exit(1); };
setTimeout(() => fail('timeout'), 15000).unref();

const big = crypto.randomBytes(1 << 20);
const steps = [
  () => ws.send('hello from node'),
  () => ws.send(big),
];
let expect = ['hello from node', big];
ws.on('open', () => steps.shift()());
ws.on('message', (data, isBinary) => {
  const want = expect.shift();
  if (typeof want === 'string') {
    if (isBinary || data.toString() !== want) fail('text echo differs');
  } else if (!isBinary || !Buffer.from(data).equals(want)) {
    fail('binary echo differs');
  }
  if (steps.length) steps.shift()();
  else ws.ping(Buffer.from('node-ping'));
});
ws.on('pong', (data) => {
  if (data.toString() !== 'node-ping') fail('pong payload differs');
  ws.close(1000, 'bye');
});
ws.on('close', (code) => {
  if (code !== 1000) fail('close code ' + code);
  console.log('node client ok, extensions:', ws.extensions);
  process.exit(0);
});
ws.on('error', (e) => fail(e.message));
