// End-to-end tests of the chat's web page (src/services/chat/web) in Debian's
// Chromium, driven by playwright-core, against the real server
// (`enchufe serve chat`) on 127.0.0.1, with a raw TCP client (Node's net
// module, standing in for `nc`; or its tls module, for `openssl s_client`) in
// the same rooms. See README.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BINARY = process.env.ENCHUFE_BINARY || path.resolve(here, '../../build/enchufe');
const ARTIFACTS = process.env.ENCHUFE_ARTIFACTS || path.join(here, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// For working on the page without rebuilding: its three files are taken from
// this directory instead of the binary (the server's answers keep their
// headers, CSP included).
const WEB_DIR = process.env.ENCHUFE_WEB_DIR;
const WEB_FILES = { '/': 'index.html', '/style.css': 'style.css', '/app.js': 'app.js' };
const WAIT = 10_000;         // for anything that should happen "at once"
const TEST_TIMEOUT = 60_000; // one scenario, whole
const VIEWPORT = { width: 1000, height: 640 };

// ---- the server -------------------------------------------------------------

// Spawns `enchufe ARGS` with a fresh XDG_STATE_HOME of its own, removed
// when the process ends. The chat keeps its history in
// $XDG_STATE_HOME/enchufe/chat.db by default, one server per file: a
// restarted server must start as empty as the first, and no test may write
// to the home of whoever runs it. With `stateHome` (a folder the caller
// made and removes), that one instead: servers started in turn on the same
// folder share their history, as a restarted server does.
function spawnWithPrivateState(args, stateHome) {
  if (stateHome) return spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'],
                                              env: { ...process.env, XDG_STATE_HOME: stateHome } });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'enchufe-state-'));
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'],
                                      env: { ...process.env, XDG_STATE_HOME: home } });
  const remove = () => fs.rmSync(home, { recursive: true, force: true });
  child.once('exit', remove);
  child.once('error', remove);  // never started: no 'exit' may come
  return child;
}

// Starts `enchufe serve chat` on free ports (or the given web port) and
// resolves once it has printed the listening line of each door: tcp and
// http; with a `certificate` (from makeCertificate) also tls (the line
// protocol) and https (the page, and wss://), each on a free port; with
// `stateHome`, its history is kept there (see spawnWithPrivateState).
async function startServer({ webPort = 0, certificate, stateHome } = {}) {
  const args = ['serve', 'chat', '--host', '127.0.0.1', '--port', '0',
                '--web-port', String(webPort), '--threads', '2',
                ...(certificate ? ['--tls-cert', certificate.cert, '--tls-key', certificate.key,
                                   '--tls-port', '0', '--web-tls-port', '0'] : [])];
  // Each door's listening line, and where its port goes in `server`.
  const doors = { tcp: 'tcpPort', http: 'webPort', ...(certificate ? { tls: 'tlsPort', https: 'httpsPort' } : {}) };
  const child = spawnWithPrivateState(args, stateHome);
  const server = { child, stderr: '', stdout: '', tcpPort: 0, webPort: 0 };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { server.stderr = (server.stderr + d).slice(-20_000); });
  child.stdout.setEncoding('utf8');
  const exited = once(child, 'exit');
  server.exited = exited;
  const listening = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      server.stdout += d;
      const ports = Object.keys(doors).map((door) =>
        new RegExp(`^listening: chat ${door} 127\\.0\\.0\\.1:(\\d+)$`, 'm').exec(server.stdout)?.[1]);
      if (ports.every(Boolean)) {
        Object.values(doors).forEach((field, i) => { server[field] = Number(ports[i]); });
        resolve();
      }
    });
    exited.then(([code, signal]) => reject(new Error(
      `${BINARY} ${args.join(' ')} exited (${code ?? signal}) before listening:\n${server.stdout}${server.stderr}`)));
  });
  await withTimeout(listening, WAIT, () => `no listening lines from ${BINARY} ${args.join(' ')};\n` +
                    `stdout: ${server.stdout}\nstderr: ${server.stderr}`);
  server.url = `http://127.0.0.1:${server.webPort}/`;
  if (certificate) server.httpsUrl = `https://127.0.0.1:${server.httpsPort}/`;
  return server;
}

// `enchufe cert` into a new temporary directory (for localhost, 127.0.0.1
// and ::1): the paths of cert.pem and key.pem, the certificate itself, and
// the base64 SHA-256 of its SubjectPublicKeyInfo (what Chromium pins). The
// caller removes `dir`.
async function makeCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enchufe-browser-'));
  try {
    await promisify(execFile)(BINARY, ['cert', '--out', dir], { timeout: WAIT });
    const cert = path.join(dir, 'cert.pem');
    const pem = fs.readFileSync(cert, 'utf8');
    const spki = new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    return { dir, cert, key: path.join(dir, 'key.pem'), pem,
             spki: crypto.createHash('sha256').update(spki).digest('base64') };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// SIGTERM, and the server must exit by itself with status 0.
async function stopServer(server) {
  if (server.stopped) return;  // by the test itself, before a failure
  server.stopped = true;
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    const [code, signal] = await server.exited;
    assert.fail(`the server had already exited (${code ?? signal}):\n${server.stderr}`);
  }
  server.child.kill('SIGTERM');
  const [code, signal] = await withTimeout(server.exited, WAIT, () => {
    server.child.kill('SIGKILL');
    return `the server did not exit within ${WAIT} ms of SIGTERM:\n${server.stderr}`;
  });
  assert.equal(signal, null, `the server died of ${signal}:\n${server.stderr}`);
  assert.equal(code, 0, `the server exited with ${code} after SIGTERM:\n${server.stderr}`);
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- a raw TCP client: what `nc 127.0.0.1 PORT` would see ------------------
// With `ca` (a PEM certificate), over TLS instead, trusting only that
// certificate and checking that it is localhost's: `openssl s_client`.

class TcpClient extends EventEmitter {
  static async connect(port, { ca } = {}) {
    const client = new TcpClient();
    client.socket = ca ? tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
                       : net.createConnection({ host: '127.0.0.1', port });
    client.socket.setEncoding('utf8');
    let partial = '';
    client.socket.on('data', (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        client.lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
        client.emit('line');
      }
    });
    // A refused connection or a failed TLS handshake fails the connect; later
    // errors are left to the waits.
    const connected = once(client.socket, ca ? 'secureConnect' : 'connect');
    client.socket.on('error', () => {});
    await withTimeout(connected, WAIT, () => `no connection to 127.0.0.1:${port}${ca ? ' over TLS' : ''}`);
    return client;
  }

  lines = [];

  send(line) { this.socket.write(`${line}\n`); }

  // Resolves with the first line (from index `from`) that matches.
  async waitFor(pattern, { from = 0, timeout = WAIT } = {}) {
    const find = () => this.lines.slice(from).find((l) => (typeof pattern === 'string' ? l === pattern : pattern.test(l)));
    const found = find();
    if (found !== undefined) return found;
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const line = find();
        if (line !== undefined) {
          this.off('line', check);
          resolve(line);
        }
      };
      this.on('line', check);
    }), timeout, () => `the TCP client never got ${pattern}; it got:\n  ${this.lines.join('\n  ')}`);
  }

  close() { this.socket.destroy(); }
}

// ---- the pages --------------------------------------------------------------

let browser;

// Debian's Chromium, headless, quiet; `args` adds to its command line.
function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           // A page fulfilled by the test (not by a server on 127.0.0.1) may
           // not open a WebSocket to 127.0.0.1 unless this check is off.
           ...(WEB_DIR ? ['--disable-features=LocalNetworkAccessChecks'] : []),
           ...args],
  });
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

// A page's console errors, less the refused reconnection attempts Chromium
// logs while nobody listened on the web port: how many there are depends on
// how slowly the next server starts (under ASan, several), and they are the
// page doing its job, so everything else still fails the test.
function errorsBesidesRefused(page, webPort) {
  const refused = new RegExp(`^console: WebSocket connection to 'ws://127\\.0\\.0\\.1:${webPort}/ws' failed: .*ERR_CONNECTION_REFUSED$`);
  return page.errors.filter((e) => !refused.test(e));
}

// Runs a scenario with its own pages (in the shared browser, or in `using`);
// on failure, a screenshot of each page goes to the artifacts for the
// post-mortem. Each page records its console errors in page.errors, the
// URLs of the WebSockets it opened in page.sockets and the frames it sent
// in page.framesSent.
async function scenario(name, body, { browser: using = browser } = {}) {
  const pages = [];
  const open = async (url, { colorScheme = 'light' } = {}) => {
    // route.fetch() below is Playwright's own request, from Node: Chromium's
    // certificate pin does not reach it, so with WEB_DIR an https:// page
    // is opened ignoring certificate errors (never in CTest's runs).
    const context = await using.newContext({ viewport: VIEWPORT, colorScheme,
                                             ignoreHTTPSErrors: Boolean(WEB_DIR) && url.startsWith('https:') });
    if (WEB_DIR) {
      await context.route((url) => url.pathname in WEB_FILES, async (route) => {
        const file = path.join(WEB_DIR, WEB_FILES[new URL(route.request().url()).pathname]);
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['content-length'];  // the file's own length, not the embedded one's
        await route.fulfill({ status: response.status(), headers, body: fs.readFileSync(file) });
      });
    }
    const page = await context.newPage();
    page.errors = [];
    page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
    page.sockets = [];
    page.framesSent = [];  // what the page sent, as it went on the wire
    page.on('websocket', (ws) => {
      page.sockets.push(ws.url());
      ws.on('framesent', (frame) => page.framesSent.push(String(frame.payload)));
    });
    pages.push(page);
    await page.goto(url);
    await page.waitForSelector('#status[data-state="open"]', { timeout: WAIT });
    await waitText(page, '#room', 'general');
    return page;
  };
  try {
    await body(open);
  } catch (err) {
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: path.join(ARTIFACTS, `failed-${name}-${i}.png`) }).catch(() => {});
    }
    throw err;
  } finally {
    for (const page of pages) await page.context().close().catch(() => {});
  }
}

// What the page shows, for assertions and for failure messages.
const linesOf = (page) => page.$$eval('#messages .line', (els) => els.map((e) => ({
  cls: e.className, id: e.dataset.id ?? null, nick: e.querySelector('.nick')?.textContent,
  text: e.querySelector('.text')?.textContent, all: e.textContent,
})));

async function dump(page) {
  return (await linesOf(page)).map((l) => `  [${l.cls}${l.id ? ` #${l.id}` : ''}] ${l.all}`).join('\n');
}

// Waits for a line in #messages: `type` is a class (message, action, notice,
// private, info, error), `nick` and `text` the exact textContent of the
// .nick and .text parts, `includes` a piece of the whole line.
async function waitLine(page, want, timeout = WAIT) {
  try {
    await page.waitForFunction((w) => [...document.querySelectorAll('#messages .line')].some((e) =>
      (w.type === undefined || e.classList.contains(w.type)) &&
      (w.nick === undefined || e.querySelector('.nick')?.textContent === w.nick) &&
      (w.text === undefined || e.querySelector('.text')?.textContent === w.text) &&
      (w.includes === undefined || e.textContent.includes(w.includes))), want, { timeout });
  } catch (err) {
    throw new Error(`${await page.textContent('#me')} never showed ${JSON.stringify(want)}; #messages has:\n` +
                    `${await dump(page)}\n(${err.message.split('\n')[0]})`);
  }
}

async function waitText(page, selector, text, timeout = WAIT) {
  try {
    await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [selector, text], { timeout });
  } catch {
    throw new Error(`${selector} never said ${JSON.stringify(text)} (it says ` +
                    `${JSON.stringify(await page.textContent(selector))}); #messages has:\n${await dump(page)}`);
  }
}

async function waitMembers(page, members, timeout = WAIT) {
  try {
    await page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('#members li')]
      .map((li) => li.textContent)) === JSON.stringify(want), members, { timeout });
  } catch {
    const have = await page.$$eval('#members li', (lis) => lis.map((li) => li.textContent));
    throw new Error(`#members never became ${JSON.stringify(members)}: ${JSON.stringify(have)}; #messages has:\n` +
                    `${await dump(page)}`);
  }
}

async function type(page, line) {
  await page.fill('#input', line);
  await page.press('#input', 'Enter');
}

async function setNick(page, nick) {
  await type(page, `/nick ${nick}`);
  await waitText(page, '#me', nick);
}

// A TCP client in general under `nick`, past the greeting; with `ca`, a TLS
// client on the server's tls door.
async function tcpUser(server, nick, { ca } = {}) {
  const client = await TcpClient.connect(ca ? server.tlsPort : server.tcpPort, { ca });
  await client.waitFor(/^\* you are in general now/);
  client.send(nick);
  await client.waitFor(`* you are ${nick} now`);
  return client;
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

// ---- scenarios --------------------------------------------------------------

test('the page, its CSP, and two pages and a TCP client talking in one room', { timeout: TEST_TIMEOUT }, async () => {
  const server = await startServer();
  let carla;
  try {
    // The front door: the page and its two files, each under the strict CSP.
    for (const [file, kind] of [['', 'text/html'], ['style.css', 'text/css'], ['app.js', 'javascript']]) {
      const res = await get(server.url + file);
      assert.equal(res.status, 200, `GET /${file}`);
      assert.match(res.headers['content-type'] ?? '', new RegExp(kind), `GET /${file}: Content-Type`);
      const csp = res.headers['content-security-policy'] ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"]) {
        assert.ok(csp.includes(directive), `GET /${file}: CSP ${JSON.stringify(csp)} lacks ${directive}`);
      }
      assert.equal(res.headers['x-content-type-options'], 'nosniff', `GET /${file}: X-Content-Type-Options`);
    }

    await scenario('talk', async (open) => {
      const ana = await open(server.url);
      // Keyboard first: the input has the focus from the start.
      assert.equal(await ana.evaluate(() => document.activeElement?.id), 'input');
      await setNick(ana, 'ana');
      const bob = await open(server.url);
      await setNick(bob, 'bob');
      carla = await tcpUser(server, 'carla');

      await waitMembers(ana, ['ana', 'bob', 'carla']);
      await waitMembers(bob, ['ana', 'bob', 'carla']);
      await waitLine(ana, { type: 'notice', includes: 'carla' });

      const from = carla.lines.length;
      await type(ana, '¡hola a todos! ¿qué tal?');
      await waitLine(bob, { type: 'message', nick: 'ana', text: '¡hola a todos! ¿qué tal?' });
      await carla.waitFor(/^\[\d\d:\d\d:\d\d\] <ana> ¡hola a todos! ¿qué tal\?$/, { from });
      await type(bob, 'hola ana, muy bien');
      await waitLine(ana, { type: 'message', nick: 'bob', text: 'hola ana, muy bien' });
      await carla.waitFor(/<bob> hola ana, muy bien$/, { from });
      carla.send('buenas, os leo desde nc');
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'buenas, os leo desde nc' });
      await waitLine(bob, { type: 'message', nick: 'carla', text: 'buenas, os leo desde nc' });
      await type(ana, '/me saluda con la mano');
      await waitLine(bob, { type: 'action', nick: 'ana', text: 'saluda con la mano' });
      await carla.waitFor(/\* ana saluda con la mano$/, { from });
      await type(bob, '/msg ana ¿vienes luego a #juegos?');
      await waitLine(ana, { type: 'private', nick: 'bob', text: '¿vienes luego a #juegos?' });
      await waitLine(bob, { type: 'private', includes: '-> *ana* ¿vienes luego a #juegos?' });
      await type(ana, 'claro, ahora voy');
      await waitLine(bob, { type: 'message', nick: 'ana', text: 'claro, ahora voy' });

      // Each page shows its own lines once (the server does not send them
      // back), and every line from the room once.
      for (const page of [ana, bob]) {
        const lines = await linesOf(page);
        const said = lines.filter((l) => l.cls.includes('message') || l.cls.includes('action'));
        const texts = said.map((l) => l.text);
        assert.deepEqual(texts, ['¡hola a todos! ¿qué tal?', 'hola ana, muy bien', 'buenas, os leo desde nc',
                                 'saluda con la mano', 'claro, ahora voy'], await dump(page));
        // Lines from others carry their room id, in increasing order.
        const ids = lines.filter((l) => l.id !== null).map((l) => Number(l.id));
        assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), `ids out of order: ${ids}`);
        assert.match(await page.textContent('#messages .line.message time'), /^\d\d:\d\d$/);
        assert.equal(await page.getAttribute('#messages', 'aria-live'), 'polite');
      }
      assert.ok(await bob.$('#messages .line.message[data-id]'), 'messages from others have data-id');
      assert.match(await ana.textContent('#status'), /connected/);

      // Up recalls what was sent, Down comes back to the empty line.
      await ana.focus('#input');
      await ana.press('#input', 'ArrowUp');
      assert.equal(await ana.inputValue('#input'), 'claro, ahora voy');
      await ana.press('#input', 'ArrowUp');
      assert.equal(await ana.inputValue('#input'), '/me saluda con la mano');
      await ana.press('#input', 'ArrowDown');
      await ana.press('#input', 'ArrowDown');
      assert.equal(await ana.inputValue('#input'), '');

      await ana.screenshot({ path: path.join(ARTIFACTS, 'chat-light.png') });
      await ana.emulateMedia({ colorScheme: 'dark' });
      await ana.screenshot({ path: path.join(ARTIFACTS, 'chat-dark.png') });
      assert.notEqual(await ana.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)',
                      'the dark scheme has a dark background');
      // A phone: one column, the input still on screen.
      await bob.setViewportSize({ width: 390, height: 760 });
      await bob.screenshot({ path: path.join(ARTIFACTS, 'chat-phone.png') });
      const box = await bob.locator('#input').boundingBox();
      assert.ok(box && box.y + box.height <= 760 && box.width > 200, `the input on a phone: ${JSON.stringify(box)}`);

      for (const page of [ana, bob]) assert.deepEqual(page.errors, [], 'console errors');
    });
  } finally {
    carla?.close();
    await stopServer(server);
  }
});

test('/join moves the page to another room', { timeout: TEST_TIMEOUT }, async () => {
  const server = await startServer();
  let carla;
  try {
    await scenario('join', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      const bob = await open(server.url);
      await setNick(bob, 'bob');
      carla = await tcpUser(server, 'carla');
      await type(bob, 'antes de irse ana');
      await waitLine(ana, { type: 'message', nick: 'bob', text: 'antes de irse ana' });

      await type(ana, '/join juegos');
      await waitText(ana, '#room', 'juegos');
      await waitLine(bob, { type: 'notice', includes: 'ana left general' });
      await waitMembers(ana, ['ana']);
      await waitMembers(bob, ['bob', 'carla']);
      assert.equal(await ana.getAttribute('#rooms button[data-room="juegos"]', 'aria-current'), 'true');
      assert.ok(await ana.$('#rooms button[data-room="general"]'), 'general stays in the rooms list');

      // Said in general after ana left: carla sees it, ana does not.
      const from = carla.lines.length;
      await type(bob, 'solo para general');
      await carla.waitFor(/<bob> solo para general$/, { from });
      carla.send('/join juegos');
      await waitLine(ana, { type: 'notice', includes: 'carla joined juegos' });
      await waitMembers(ana, ['ana', 'carla']);
      carla.send('hola en juegos');
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'hola en juegos' });
      await sleep(200);
      const inJuegos = await linesOf(ana);
      assert.ok(!inJuegos.some((l) => l.all.includes('solo para general')), await dump(ana));

      // Back to general with the rooms list: what was missed comes from the
      // history, what was seen is not repeated.
      await ana.click('#rooms button[data-room="general"]');
      await waitText(ana, '#room', 'general');
      await waitLine(ana, { type: 'message', nick: 'bob', text: 'solo para general' });
      await waitMembers(ana, ['ana', 'bob']);
      const lines = await linesOf(ana);
      for (const text of ['antes de irse ana', 'solo para general']) {
        assert.equal(lines.filter((l) => l.text === text).length, 1, `${text} once:\n${await dump(ana)}`);
      }
      const ids = lines.filter((l) => l.id !== null).map((l) => l.id);
      assert.equal(new Set(ids).size, ids.length, `no id twice:\n${await dump(ana)}`);
      // And back again to juegos: its log is still there.
      await ana.click('#rooms button[data-room="juegos"]');
      await waitText(ana, '#room', 'juegos');
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'hola en juegos' });
      assert.equal((await linesOf(ana)).filter((l) => l.text === 'hola en juegos').length, 1, await dump(ana));
      for (const page of [ana, bob]) assert.deepEqual(page.errors, [], 'console errors');
    });
  } finally {
    carla?.close();
    await stopServer(server);
  }
});

test('markup sent by anyone is shown as text, never run', { timeout: TEST_TIMEOUT }, async () => {
  const server = await startServer();
  let carla;
  try {
    await scenario('xss', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      const bob = await open(server.url);
      await setNick(bob, 'bob');
      carla = await tcpUser(server, 'carla');
      await waitMembers(ana, ['ana', 'bob', 'carla']);

      const img = '<img src=x onerror="window.__pwned=1">';
      const script = '<script>window.__pwned=2</script>';
      carla.send(img);
      carla.send(script);
      carla.send(`/me <b onmouseover="window.__pwned=3">bold</b>`);
      await type(ana, '<iframe src="javascript:window.top.__pwned=4"></iframe>');
      for (const page of [ana, bob]) {
        await waitLine(page, { type: 'message', nick: 'carla', text: img });
        await waitLine(page, { type: 'message', nick: 'carla', text: script });
        await waitLine(page, { type: 'action', nick: 'carla', text: '<b onmouseover="window.__pwned=3">bold</b>' });
      }
      await waitLine(bob, { type: 'message', nick: 'ana', text: '<iframe src="javascript:window.top.__pwned=4"></iframe>' });
      await sleep(500);  // an <img> that failed to load would have fired by now
      for (const page of [ana, bob]) {
        assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined');
        const injected = await page.$$eval('#messages img, #messages script, #messages b, #messages iframe',
                                           (els) => els.map((e) => e.outerHTML));
        assert.deepEqual(injected, [], 'elements created from chat text');
        assert.deepEqual(page.errors, [], 'console errors');
      }
    });
  } finally {
    carla?.close();
    await stopServer(server);
  }
});

test('the page reconnects after a server restart, with its nickname and room', { timeout: TEST_TIMEOUT }, async () => {
  let server = await startServer();
  let dora;
  try {
    await scenario('reconnect', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      await type(ana, '/join juegos');
      await waitText(ana, '#room', 'juegos');
      await type(ana, 'antes del reinicio');

      const webPort = server.webPort;
      await stopServer(server);
      await ana.waitForSelector('#status[data-state="connecting"]', { timeout: WAIT });
      await waitLine(ana, { type: 'info', includes: 'disconnected' });
      await sleep(300);  // a failed attempt or two while nobody listens
      server = await startServer({ webPort });
      assert.equal(server.webPort, webPort);

      await ana.waitForSelector('#status[data-state="open"]', { timeout: 20_000 });
      assert.match(await ana.textContent('#status'), /connected/);
      await waitText(ana, '#me', 'ana');
      await waitText(ana, '#room', 'juegos');
      // The new server agrees: ana is in juegos.
      dora = await tcpUser(server, 'dora');
      dora.send('/join juegos');
      await waitLine(ana, { type: 'notice', includes: 'dora joined juegos' });
      await waitMembers(ana, ['ana', 'dora']);
      const from = dora.lines.length;
      dora.send('/who');
      await dora.waitFor('* 2 in juegos: ana, dora', { from });
      await type(ana, 'de vuelta');
      await dora.waitFor(/<ana> de vuelta$/, { from });
      // What was seen before the restart is still on the page, once.
      assert.equal((await linesOf(ana)).filter((l) => l.text === 'antes del reinicio').length, 1, await dump(ana));
      assert.deepEqual(errorsBesidesRefused(ana, webPort), [], 'console errors');

      // The user's own /quit: no reconnecting by itself, but a button.
      await type(ana, '/quit');
      await ana.waitForSelector('#status[data-state="closed"]', { timeout: WAIT });
      await waitLine(ana, { type: 'info', text: 'bye!' });
      assert.match(await ana.textContent('#status'), /left/);
      await dora.waitFor(/\* ana left \(quit\)$/, { from });
      await sleep(1500);
      assert.equal(await ana.getAttribute('#status', 'data-state'), 'closed', 'no reconnection after /quit');
      await ana.click('#reconnect');
      await ana.waitForSelector('#status[data-state="open"]', { timeout: WAIT });
      await waitText(ana, '#me', 'ana');
      await waitText(ana, '#room', 'juegos');
    });
  } finally {
    dora?.close();
    await stopServer(server);
  }
});

test('over TLS: the page on https:// talks on wss:// with a TLS client and a TCP client', { timeout: TEST_TIMEOUT }, async () => {
  const certificate = await makeCertificate();
  let server, pinned, carla, dario;
  try {
    server = await startServer({ certificate });
    // No ignoreHTTPSErrors: this Chromium trusts the certificate by its public
    // key (--ignore-certificate-errors-spki-list, which Chromium honours with
    // the --user-data-dir that playwright always passes); the shared browser,
    // without the pin, must refuse it.
    pinned = await launchBrowser([`--ignore-certificate-errors-spki-list=${certificate.spki}`]);
    const unpinned = await browser.newContext();
    try {
      await assert.rejects((await unpinned.newPage()).goto(server.httpsUrl, { timeout: WAIT }), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await unpinned.close();
    }

    await scenario('tls', async (open) => {
      const ana = await open(server.httpsUrl);
      assert.deepEqual(ana.sockets, [`wss://127.0.0.1:${server.httpsPort}/ws`], 'the page\'s WebSockets');
      assert.match(await ana.textContent('#status'), /connected/);
      await setNick(ana, 'ana');

      // carla speaks the line protocol over TLS, verifying the certificate as
      // localhost's; dario the same in plain TCP.
      carla = await tcpUser(server, 'carla', { ca: certificate.pem });
      assert.equal(carla.socket.getPeerCertificate().fingerprint256,
                   new crypto.X509Certificate(certificate.pem).fingerprint256, 'the TLS door\'s certificate');
      dario = await tcpUser(server, 'dario');
      await waitLine(ana, { type: 'notice', includes: 'carla' });
      await waitLine(ana, { type: 'notice', includes: 'dario' });
      await waitMembers(ana, ['ana', 'carla', 'dario']);

      const [fromCarla, fromDario] = [carla.lines.length, dario.lines.length];
      await type(ana, 'hola, ¿me leéis por wss?');
      await carla.waitFor(/^\[\d\d:\d\d:\d\d\] <ana> hola, ¿me leéis por wss\?$/, { from: fromCarla });
      await dario.waitFor(/^\[\d\d:\d\d:\d\d\] <ana> hola, ¿me leéis por wss\?$/, { from: fromDario });
      carla.send('sí, desde TLS');
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'sí, desde TLS' });
      await dario.waitFor(/<carla> sí, desde TLS$/, { from: fromDario });
      dario.send('y yo en claro');
      await waitLine(ana, { type: 'message', nick: 'dario', text: 'y yo en claro' });
      await carla.waitFor(/<dario> y yo en claro$/, { from: fromCarla });

      const said = (await linesOf(ana)).filter((l) => l.cls.includes('message')).map((l) => l.text);
      assert.deepEqual(said, ['hola, ¿me leéis por wss?', 'sí, desde TLS', 'y yo en claro'], await dump(ana));
      assert.deepEqual(ana.sockets, [`wss://127.0.0.1:${server.httpsPort}/ws`], 'one WebSocket, never reopened');
      assert.deepEqual(ana.errors, [], 'console errors');
    }, { browser: pinned });
  } finally {
    carla?.close();
    dario?.close();
    await pinned?.close();
    try {
      if (server) await stopServer(server);
    } finally {
      fs.rmSync(certificate.dir, { recursive: true, force: true });
    }
  }
});

test('the page asks for /history and /search and shows the answers', { timeout: TEST_TIMEOUT }, async () => {
  const server = await startServer();
  let carla;
  try {
    await scenario('history', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      carla = await tcpUser(server, 'carla');
      carla.send('mañana vamos a la playa');
      carla.send('<b>hola</b>');
      await waitLine(ana, { type: 'message', nick: 'carla', text: '<b>hola</b>' });
      await sleep(300);  // past the writer's commit window: searchable

      await type(ana, '/history 1h');
      await waitLine(ana, { type: 'info', includes: 'earlier lines in general:' });
      await waitLine(ana, { type: 'quoted', nick: 'carla', text: '<b>hola</b>' });
      await type(ana, '/search PLAYA');
      await waitLine(ana, { type: 'info', text: "1 line in general with 'PLAYA', newest first:" });
      await type(ana, '/search nadie');
      await waitLine(ana, { type: 'info', text: "nothing in general has 'nadie'" });

      const lines = await linesOf(ana);
      // Live once, then once in the history, once in the search.
      assert.equal(lines.filter((l) => l.text === 'mañana vamos a la playa').length, 3, await dump(ana));
      assert.equal(lines.filter((l) => l.text === '<b>hola</b>').length, 2, await dump(ana));
      assert.deepEqual(await ana.$$eval('#messages b', (els) => els.length), 0, 'markup from the history');
      assert.deepEqual(ana.errors, [], 'console errors');
    });
  } finally {
    carla?.close();
    await stopServer(server);
  }
});

test('after a restart the page shows what it missed, once each, in order', { timeout: TEST_TIMEOUT }, async () => {
  // The servers in turn keep the same history file, as one server restarted.
  const stateHome = fs.mkdtempSync(path.join(os.tmpdir(), 'enchufe-state-'));
  let server = await startServer({ stateHome });
  let carla;
  try {
    await scenario('resume', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      carla = await tcpUser(server, 'carla');
      carla.send('antes');
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'antes' });

      // Away: the page's server stops; in between, one on another web port
      // (so the page cannot come back yet) hears carla.
      const webPort = server.webPort;
      carla.close();
      await stopServer(server);
      await ana.waitForSelector('#status[data-state="connecting"]', { timeout: WAIT });
      server = await startServer({ stateHome });
      carla = await tcpUser(server, 'carla');
      const missed = ['perdida uno', 'perdida dos', 'perdida tres'];
      for (const text of missed) carla.send(text);
      carla.send('/who');  // answered after the three lines: they are in
      await carla.waitFor(/^\* \d+ in general/);
      carla.close();
      await stopServer(server);

      // Back on the page's port, with the same history.
      server = await startServer({ webPort, stateHome });
      await ana.waitForSelector('#status[data-state="open"]', { timeout: 20_000 });
      await waitLine(ana, { type: 'info', includes: 'caught up:' }, 20_000);
      await waitLine(ana, { type: 'message', nick: 'carla', text: 'perdida tres' });
      const said = (await linesOf(ana)).filter((l) => l.cls.includes('message')).map((l) => l.text);
      assert.deepEqual(said, ['antes', ...missed], await dump(ana));
      const ids = (await linesOf(ana)).filter((l) => l.id !== null).map((l) => Number(l.id));
      // Every line of the room once, none missing: notices, and its own
      // coming back, included.
      assert.ok(ids.every((id, i) => i === 0 || id === ids[i - 1] + 1), `ids not consecutive: ${ids}\n${await dump(ana)}`);
      assert.deepEqual(errorsBesidesRefused(ana, webPort), [], 'console errors');
    });
  } finally {
    carla?.close();
    try {
      await stopServer(server);
    } finally {
      fs.rmSync(stateHome, { recursive: true, force: true });
    }
  }
});

test('a password typed in the page goes as a login event, never as a line nor into its history', { timeout: TEST_TIMEOUT }, async () => {
  const server = await startServer();
  try {
    await scenario('accounts', async (open) => {
      const ana = await open(server.url);
      await setNick(ana, 'ana');
      await type(ana, '/register correct horse');
      await waitLine(ana, { type: 'info', includes: 'ana is registered to you: nobody else can take it' });
      await ana.press('#input', 'ArrowUp');
      assert.equal(await ana.inputValue('#input'), '/nick ana', 'the input history has no password');

      const again = await open(server.url);
      await type(again, '/login ana correct horse');
      await waitText(again, '#me', 'ana');
      await waitLine(again, { type: 'info', includes: 'you are logged in as ana' });
      // The old page was the owner's other connection: it gives the name up.
      await waitLine(ana, { type: 'info', includes: 'ana logged in from another connection; you are guest-' });

      const carrying = (page) => page.framesSent.filter((f) => f.includes('correct horse')).map((f) => JSON.parse(f));
      assert.deepEqual(carrying(ana), [{ type: 'register', password: 'correct horse' }]);
      assert.deepEqual(carrying(again), [{ type: 'login', nick: 'ana', password: 'correct horse' }]);
      assert.ok(!(await dump(ana)).includes('correct horse') && !(await dump(again)).includes('correct horse'),
                'the password is shown nowhere');
      assert.deepEqual(ana.errors, [], 'console errors');
      assert.deepEqual(again.errors, [], 'console errors');
    });
  } finally {
    await stopServer(server);
  }
});
