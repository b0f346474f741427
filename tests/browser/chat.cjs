// Two headless Chromium pages on the chat demo: the page's own `new WebSocket(...)`, `send()`,
// and `message`/`close` events, relayed by the wsmachine server; and a page of another origin
// that is refused.
// Usage: NODE_PATH=<dir with playwright-core> node chat.cjs http://127.0.0.1:PORT/
const { chromium } = require('playwright-core');

const url = process.argv[2];
const fail = (why) => { console.error('browser chat:', why); process.exit(1); };
setTimeout(() => fail('timeout'), 60000).unref();

const has = (page, text) =>
  page.waitForFunction(
    (t) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === t),
    text,
    { timeout: 10000 },
  );
const say = async (page, text) => {
  await page.fill('#message', text);
  await page.click('#send');
};

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const a = await browser.newPage();
    const b = await browser.newPage();
    for (const p of [a, b]) {
      await p.goto(url);
      await p.waitForFunction(() => document.getElementById('status').textContent === 'connected',
                              null, { timeout: 10000 });
    }
    await say(a, 'hello from page A');
    await has(a, 'hello from page A');
    await has(b, 'hello from page A');
    const greek = 'Γειά σου, κόσμε 😀';
    await say(b, greek);
    await has(a, greek);
    const long = 'x'.repeat(50000);
    await say(a, long);
    await has(b, long);
    await a.close(); // the browser closes that socket; the chat goes on for B
    await say(b, 'still here');
    await has(b, 'still here');
    const status = await b.textContent('#status');
    if (status !== 'connected') fail('page B status: ' + status);
    // RFC 6455 §10.2: a page of another origin may not open the chat (the server uses
    // OriginPolicy::SAME_ORIGIN). The same server under another name is another origin: the
    // page at http://localhost:PORT connects to its own chat, and its socket to
    // ws://127.0.0.1:PORT/chat is refused (403), so it never opens.
    const c = await browser.newPage();
    await c.goto(url.replace('127.0.0.1', 'localhost'));
    await c.waitForFunction(() => document.getElementById('status').textContent === 'connected',
                            null, { timeout: 10000 });
    const target = url.replace('http://', 'ws://') + 'chat';
    const outcome = await c.evaluate((t) => new Promise((resolve) => {
      const ws = new WebSocket(t);
      ws.onopen = () => resolve('open');
      ws.onclose = (e) => resolve('closed ' + e.code);
    }), target);
    if (outcome === 'open') fail('a page of another origin opened ' + target);
    console.log('cross-origin page refused: ' + outcome);
    console.log('browser chat ok: ' + (await browser.version()));
  } finally {
    await browser.close();
  }
})().catch((e) => fail(e.stack || String(e)));
