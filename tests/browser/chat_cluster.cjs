// Headless Chromium tabs on two chat_cluster nodes sharing their rooms through Redis: the
// page's own `new WebSocket(...)`, `send()` and `message` event, one tab per node per room.
// Usage: NODE_PATH=<dir with playwright-core> node chat_cluster.cjs http://NODE_A/ http://NODE_B/
const { chromium } = require('playwright-core');

const [nodeA, nodeB] = process.argv.slice(2);
const fail = (why) => { console.error('browser chat cluster:', why); process.exit(1); };
setTimeout(() => fail('timeout'), 60000).unref();

const lines = (page) =>
  page.evaluate(() => [...document.querySelectorAll('#log li')].map((li) => li.textContent));
const has = (page, test, arg) =>
  page.waitForFunction(
    ([t, a]) => [...document.querySelectorAll('#log li')]
      .some((li) => (t === 'exact' ? li.textContent === a : li.textContent.startsWith(a))),
    [test, arg],
    { timeout: 10000 },
  );
const say = async (page, text) => {
  await page.fill('#message', text);
  await page.click('#send');
};
const open = async (browser, url) => {
  const page = await browser.newPage();
  await page.goto(url);
  // The node's welcome: it is subscribed to the room from then on.
  await has(page, 'prefix', '[system] joined room ');
  return page;
};

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // The default room, one tab on each node.
    const a = await open(browser, nodeA);
    const b = await open(browser, nodeB);
    await has(a, 'prefix', '[system] joined room lobby on node A');
    await has(b, 'prefix', '[system] joined room lobby on node B');
    await say(a, 'hello from the tab on node A');
    await has(a, 'exact', 'hello from the tab on node A');
    await has(b, 'exact', 'hello from the tab on node A');
    const greek = 'Γειά σου, κόσμε 😀 from node B';
    await say(b, greek);
    await has(a, 'exact', greek);

    // A room by path, /room/dev, again one tab on each node.
    const c = await open(browser, nodeA + 'room/dev');
    const d = await open(browser, nodeB + 'room/dev');
    await has(d, 'prefix', '[system] joined room dev on node B');
    const title = await d.textContent('h1');
    if (!title.endsWith('#dev')) fail('room page title: ' + title);
    await say(d, 'in the dev room');
    await has(c, 'exact', 'in the dev room');
    await say(b, 'lobby again');
    await has(a, 'exact', 'lobby again');
    // Each line once, and nothing from the other room.
    const seen = await lines(a);
    if (seen.includes('in the dev room')) fail('the dev room leaked into the lobby');
    if (seen.filter((t) => t === 'hello from the tab on node A').length !== 1) {
      fail('page A: ' + JSON.stringify(seen));
    }
    for (const p of [a, b, c, d]) {
      const status = await p.textContent('#status');
      if (status !== 'connected') fail('status: ' + status);
    }
    console.log('browser chat across two nodes ok: ' + (await browser.version()));
  } finally {
    await browser.close();
  }
})().catch((e) => fail(e.stack || String(e)));
