// End to end in a real VS Code (code-server) driven by headless Chromium through Playwright:
// install the built .vsix, point it at `spark-lsp sim` (the "perfect model" continuing a corpus
// file), set the key through the command, type, see ghost text, accept it with Tab; then hover,
// a code action and a refactor when the server offers them. Screenshots go to --screenshots.
//
//   node test/vscode/run.mjs --vsix X.vsix --python PY --result out.json --screenshots DIR
//        [--prefix ~/.cache/vscode-e2e] [--hover] [--code-action] [--refactor]
//
// Writes a JSON result per check ({ok, ...} or {skipped}) and exits non-zero if any ran and failed.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    vsix: { type: 'string' },
    python: { type: 'string', default: 'python3' },
    result: { type: 'string' },
    screenshots: { type: 'string' },
    prefix: { type: 'string', default: path.join(os.homedir(), '.cache', 'vscode-e2e') },
    corpus: { type: 'string' },
    hover: { type: 'boolean', default: false },
    'code-action': { type: 'boolean', default: false },
    refactor: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const here = path.dirname(new URL(import.meta.url).pathname);
const corpus = opts.corpus ?? path.resolve(here, '..', '..', '..', '..', 'shared', 'corpus');
const FAST_MODEL = 'sim-spark-coder';
const GPU_MODEL = 'sim-gpu-coder';
const FILE = 'flask_helpers.py';
const LINE = 32; // `    val = os.environ.get("FLASK_DEBUG")` inside get_debug_flag()
const TYPED = 'val = os';
const EXPLANATION = 'Reads FLASK_DEBUG from the environment and returns whether debug mode is on.';

const results = {};
const started = Date.now();
const children = [];
const log = (line) => console.log(`[vscode-e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nbsp = (text) => text.replace(/\u00a0/g, ' ');

async function eventually(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(200);
  }
}

// ---- the simulators ----------------------------------------------------------------------------

async function startSim(...args) {
  const child = spawn(opts.python, ['-m', 'spark_lsp', 'sim', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  });
  const { url } = JSON.parse(line);
  const control = async (method, route, body) => {
    const response = await fetch(url + route, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status}`);
    return method === 'GET' ? response.json() : undefined;
  };
  return {
    url,
    reset: async () => {
      for (const route of ['/sim/script', '/sim/truth', '/sim/requests']) await control('DELETE', route);
    },
    script: (...responses) => control('POST', '/sim/script', { responses }),
    truth: (name, text) => control('POST', '/sim/truth', { name, text }),
    requests: () => control('GET', '/sim/requests'),
  };
}

// ---- code-server --------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function prepareProfile(base, fast, gpu) {
  const dirs = { ud: path.join(base, 'user-data'), ext: path.join(base, 'extensions'), ws: path.join(base, 'workspace') };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(dirs.ud, 'User'), { recursive: true });
  const settings = {
    'security.workspace.trust.enabled': false,
    'editor.inlineSuggest.enabled': true,
    'workbench.startupEditor': 'none',
    'chat.disableAIFeatures': true,
    'workbench.tips.enabled': false,
    'editor.minimap.enabled': false,
    'editor.fontSize': 14,
    'workbench.colorTheme': 'Default Dark Modern',
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    // Word-based suggestions would open the suggest widget on top of the ghost text, and Tab would
    // accept the widget's item: keep the test about inline suggestions.
    'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
    'editor.wordBasedSuggestions': 'off',
    'editor.suggestOnTriggerCharacters': false,
    // The extension under test: models as settings, keys NOT in settings.
    'sparkLsp.fastModel': FAST_MODEL,
    'sparkLsp.gpuModel': GPU_MODEL,
    'sparkLsp.hover.enabled': true,
  };
  fs.writeFileSync(path.join(dirs.ud, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  // Machine-scoped settings (the interpreter, the process environment) live in the remote
  // machine's settings in a remote window, which code-server is: user settings would be ignored.
  fs.mkdirSync(path.join(dirs.ud, 'Machine'), { recursive: true });
  const machine = { 'sparkLsp.env': { CEREBRAS_BASE_URL: fast.url, SPARK_LSP_GPU_BASE_URL: `${gpu.url}/v1` } };
  fs.writeFileSync(path.join(dirs.ud, 'Machine', 'settings.json'), JSON.stringify(machine, null, 2));
  // The corpus file with the line under test emptied to its indentation: the cursor goes there.
  const truth = fs.readFileSync(path.join(corpus, FILE), 'utf8');
  const lines = truth.split('\n');
  const indent = /^\s*/.exec(lines[LINE - 1])[0];
  const expectedLine = lines[LINE - 1];
  lines[LINE - 1] = indent;
  fs.writeFileSync(path.join(dirs.ws, FILE), lines.join('\n'));
  return { ...dirs, truth, expectedLine, indent };
}

function codeServer(env) {
  const bin = path.join(opts.prefix, 'cs', 'node_modules', '.bin', 'code-server');
  const PATH = `${path.join(opts.prefix, 'node', 'bin')}${path.delimiter}${env.PATH ?? ''}`;
  return { bin, env: { ...env, PATH } };
}

async function startCodeServer(profile, env) {
  const { bin, env: csEnv } = codeServer(env);
  execFileSync(bin, ['--extensions-dir', profile.ext, '--install-extension', opts.vsix], { env: csEnv, stdio: 'inherit' });
  const port = await freePort();
  const child = spawn(
    bin,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', profile.ud, '--extensions-dir', profile.ext,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', profile.ws],
    { env: csEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const output = fs.createWriteStream(path.join(profile.ud, '..', 'code-server.log'));
  child.stdout.pipe(output);
  child.stderr.pipe(output);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(url, { redirect: 'manual' })).status < 500, 'code-server to answer', 60_000);
  return url;
}

// ---- the workbench -------------------------------------------------------------------------------

async function runCommand(page, title, { expectInput = false } = {}) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  // Click the row whose label is exactly the title: Enter would take the first row, which is often
  // a recently used or similar command.
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page.locator('.quick-input-widget .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await row.click();
  if (!expectInput) await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

async function statusText(page) {
  const items = page.locator('.statusbar-item', { hasText: /Spark/ });
  return (await items.count()) ? nbsp(await items.first().innerText()).trim() : '';
}

async function clearNotifications(page) {
  await runCommand(page, 'Notifications: Clear All Notifications').catch(() => undefined);
}

async function shot(page, name) {
  if (!opts.screenshots) return;
  fs.mkdirSync(opts.screenshots, { recursive: true });
  await page.screenshot({ path: path.join(opts.screenshots, name) });
  log(`screenshot ${name}`);
}

async function lineText(page, lineNumber) {
  // Monaco renders only visible lines, in DOM order by their `top`; read the line under the cursor
  // through the model instead of guessing from the DOM.
  return page.evaluate((n) => {
    const lines = [...document.querySelectorAll('.monaco-editor .view-lines .view-line')];
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    const numbers = [...document.querySelectorAll('.monaco-editor .margin-view-overlays .line-numbers')].map((e) => e.textContent.trim());
    const index = numbers.indexOf(String(n));
    return index >= 0 && lines[index] ? lines[index].textContent : null;
  }, lineNumber);
}

async function goToLine(page, line) {
  // Focus the file's editor first: after a panel or a second editor closed, focus may be nowhere.
  await page.locator('.editor-group-container .monaco-editor .view-lines').first().click({ force: true });
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}`);
  await sleep(300);
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
}

async function checkInline(page, profile) {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(FILE);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: FILE }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor();
  await page.locator('.monaco-editor .view-lines').first().click();
  await goToLine(page, LINE);
  const typedAt = Date.now();
  await page.keyboard.type(TYPED, { delay: 90 });
  const expected = profile.expectedLine.slice(profile.indent.length + TYPED.length);
  const ghost = await eventually(async () => {
    const text = nbsp((await page.locator('.ghost-text-decoration').allInnerTexts()).join(''));
    return text.trim() ? text : undefined;
  }, 'ghost text', 20_000);
  const shownMs = Date.now() - typedAt;
  log(`ghost text: ${JSON.stringify(ghost)} (expected it to start ${JSON.stringify(expected)})`);
  await shot(page, 'vscode-ghost-text.png');
  if (!expected.startsWith(ghost.trimEnd()) && !ghost.startsWith(expected)) throw new Error(`ghost text ${JSON.stringify(ghost)} is not the file's continuation ${JSON.stringify(expected)}`);
  await page.keyboard.press('Tab');
  const accepted = await eventually(async () => {
    const text = nbsp((await lineText(page, LINE)) ?? '');
    return text.startsWith(profile.expectedLine) ? text : undefined;
  }, `line ${LINE} to read ${JSON.stringify(profile.expectedLine)} after Tab`, 10_000);
  await sleep(300);
  await shot(page, 'vscode-accepted.png');
  return { ok: true, ghost, accepted, ghostAfterLastKeyMs: shownMs };
}

async function checkHover(page, fast, gpu) {
  for (const sim of [fast, gpu]) {
    await sim.reset();
    await sim.script({ text: EXPLANATION, repeat: -1 });
  }
  await goToLine(page, 28); // def get_debug_flag() -> bool:
  await page.keyboard.press('Home');
  for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
  await sleep(300);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const text = await eventually(async () => {
    const hover = page.locator('.monaco-hover:visible');
    const value = (await hover.count()) ? nbsp(await hover.first().innerText()) : '';
    return /FLASK_DEBUG|debug/i.test(value) ? value : undefined;
  }, 'a hover with the explanation', 30_000);
  await shot(page, 'vscode-hover.png');
  await page.keyboard.press('Escape');
  return { ok: true, text };
}

/** The body of get_debug_flag() as the model rewrites it for a code action: a one-line docstring. */
function rewrittenBody(profile) {
  const lines = profile.truth.split('\n').slice(28, 33);
  return ['    """Whether FLASK_DEBUG asks for debug mode."""', ...lines.slice(3)].join('\n') + '\n';
}

async function editorText(page) {
  return nbsp(await page.locator('.editor-group-container .monaco-editor .view-lines').first().innerText());
}

async function checkCodeAction(page, fast, gpu, profile) {
  // The answer format of a quick-fix or rewrite: the whole rewritten region in one fence.
  for (const sim of [fast, gpu]) {
    await sim.reset();
    await sim.script({ text: '```python\n' + rewrittenBody(profile) + '```', repeat: -1 });
  }
  // Select the body of get_debug_flag(): selection rewrites (Simplify, Add docstring, …) are offered.
  await goToLine(page, 29);
  await page.keyboard.press('Home');
  for (let i = 0; i < 5; i++) await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Control+.');
  const rows = page.locator('.action-widget .monaco-list-row');
  const items = await eventually(async () => {
    const texts = (await rows.allInnerTexts()).map(nbsp).filter((t) => t.trim());
    return texts.length ? texts : undefined;
  }, 'the code action menu', 30_000);
  await shot(page, 'vscode-code-action.png');
  // Resolved by the server (codeAction/resolve) when chosen, then applied by VS Code.
  const choice = items.find((t) => /Simplify|docstring/i.test(t)) ?? items.find((t) => !/Refactor with AI/.test(t));
  if (!choice) throw new Error(`no rewrite among the code actions: ${JSON.stringify(items)}`);
  await rows.filter({ hasText: choice }).first().click();
  await eventually(async () => (await editorText(page)).includes('Whether FLASK_DEBUG asks for debug mode'), 'the code action to edit the file', 30_000);
  await sleep(300);
  await shot(page, 'vscode-code-action-applied.png');
  return { ok: true, items };
}

async function checkRefactor(page, fast, gpu, profile) {
  // A refactor is a plan (JSON) and then each step's whole new file in one fence.
  const plan = JSON.stringify({ summary: 'Rename val to value.', steps: [{ file: FILE, description: 'rename val to value in get_debug_flag' }] });
  const lines = profile.truth.split('\n');
  lines[LINE - 1] = lines[LINE - 1].replace('val =', 'value =');
  lines[LINE] = lines[LINE].replace('bool(val and val.lower()', 'bool(value and value.lower()');
  for (const sim of [fast, gpu]) {
    await sim.reset();
    await sim.script(
      { text: plan, match: 'You plan code refactors', repeat: -1 },
      { text: '```python\n' + lines.join('\n') + '```', match: 'You carry out one step', repeat: -1 },
    );
  }
  await goToLine(page, LINE);
  await runCommand(page, 'Spark: Refactor…', { expectInput: true });
  await page.locator('.quick-input-widget input').fill('rename val to value');
  await shot(page, 'vscode-refactor-instruction.png');
  await page.keyboard.press('Enter');
  // The server asks VS Code to confirm its edit (the Refactor Preview panel): apply it as a user would.
  const apply = page.locator('.monaco-button', { hasText: /^Apply$/ });
  await apply.first().waitFor({ state: 'visible', timeout: 60_000 });
  // Edits the server marks as needing confirmation start unchecked: tick the file, then Apply.
  const box = page.locator('.monaco-checkbox:visible').first();
  await box.waitFor({ state: 'visible', timeout: 10_000 });
  if (!/\bchecked\b/.test((await box.getAttribute('class')) ?? '')) await box.click();
  await sleep(300);
  await shot(page, 'vscode-refactor-preview.png');
  await apply.first().click();
  await eventually(async () => (await editorText(page)).includes('value = os.environ.get'), 'the refactor to change the file', 30_000);
  await sleep(300);
  await shot(page, 'vscode-refactor-applied.png');
  return { ok: true };
}

async function checkStats(page) {
  await runCommand(page, 'Spark: Show Stats');
  const tab = page.locator('.tab', { hasText: 'spark-stats.json' });
  await tab.waitFor({ state: 'visible', timeout: 15_000 });
  const text = await eventually(async () => {
    const editors = await page.locator('.editor-group-container .monaco-editor .view-lines').allInnerTexts();
    return editors.map(nbsp).find((value) => value.includes('"counters"'));
  }, 'spark/stats in its tab', 15_000);
  await shot(page, 'vscode-stats.png');
  await runCommand(page, 'View: Close Editor').catch(() => undefined);
  return { ok: true, chars: text.length };
}

async function check(name, enabled, reason, run) {
  if (!enabled) {
    results[name] = { skipped: reason };
    log(`${name}: skipped (${reason})`);
    return;
  }
  const t0 = Date.now();
  try {
    results[name] = { ...(await run()), seconds: (Date.now() - t0) / 1000 };
    log(`${name}: ok`);
  } catch (error) {
    results[name] = { ok: false, error: String(error?.stack ?? error), seconds: (Date.now() - t0) / 1000 };
    log(`${name}: FAILED ${error}`);
  }
}

async function main() {
  if (!opts.vsix || !fs.existsSync(opts.vsix)) throw new Error(`--vsix ${opts.vsix} not found`);
  const require = createRequire(path.join(opts.prefix, 'pw', 'node_modules', 'x.js'));
  const { chromium } = require('playwright-core');
  const [fast, gpu] = await Promise.all([
    startSim('--profile', 'spark', '--model', FAST_MODEL),
    startSim('--profile', 'instant', '--model', GPU_MODEL),
  ]);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-vscode-'));
  profileDir = base;
  const profile = prepareProfile(base, fast, gpu);
  await fast.truth(FILE, profile.truth);
  // No key anywhere in the environment: the test sets it through the command, as a user does.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CEREBRAS_|SPARK_LSP_)/.test(k)));
  env.SPARK_LSP_GPU_API_KEY = 'sim-gpu-key'; // the GPU tier's key through code-server's environment
  const url = await startCodeServer(profile, env);
  log(`code-server at ${url}, profile in ${base}`);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    await page.goto(`${url}/?folder=${encodeURIComponent(profile.ws)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    log('workbench up');

    await check('install', true, '', async () => {
      // First start: the private environment is created from the bundled wheels, then the server
      // starts without a key and says so in the status bar.
      const text = await eventually(async () => /set API key/.test(await statusText(page)) && (await statusText(page)), 'the status bar to ask for a key', 120_000);
      return { ok: true, status: text };
    });
    await check('apiKey', results.install.ok, 'the server did not start', async () => {
      await clearNotifications(page);
      await runCommand(page, 'Spark: Set Cerebras API Key', { expectInput: true });
      // The palette's input turns into the extension's password box.
      const input = page.locator('.quick-input-widget input[type="password"]');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.pressSequentially('sim-key', { delay: 20 });
      await shot(page, 'vscode-set-api-key.png');
      await page.keyboard.press('Enter');
      const text = await eventually(async () => /Spark fast/.test(await statusText(page)) && (await statusText(page)), 'the status bar to show the fast tier', 60_000);
      await clearNotifications(page);
      return { ok: true, status: text };
    });
    await check('inline', results.apiKey.ok, 'no key was set', () => checkInline(page, profile));
    results.inline.status = await statusText(page);
    await check('stats', results.apiKey.ok, 'no key was set', () => checkStats(page));
    // Hover and code actions ask the model too: turn ghost text off so scripted answers don't show as it.
    if (opts.hover || opts['code-action'] || opts.refactor) {
      await runCommand(page, 'Spark: Toggle Inline Completions');
      await sleep(500);
    }
    await check('hover', opts.hover && results.apiKey.ok, opts.hover ? 'no key was set' : 'the server does not advertise hoverProvider', () => checkHover(page, fast, gpu));
    await check('codeAction', opts['code-action'] && results.apiKey.ok, opts['code-action'] ? 'no key was set' : 'the server does not advertise codeActionProvider', () => checkCodeAction(page, fast, gpu, profile));
    await check('refactor', opts.refactor && results.apiKey.ok, opts.refactor ? 'no key was set' : 'the server does not advertise the spark.refactor command', () => checkRefactor(page, fast, gpu, profile));
    const failed = Object.values(results).some((r) => r.ok === false);
    if (failed) await shot(page, 'vscode-failure.png').catch(() => undefined);
  } finally {
    await browser.close();
    const serverLog = path.join(base, 'user-data', 'logs');
    results.logs = { profile: base, serverLogs: serverLog };
  }
}

let exitCode = 0;
let profileDir;
try {
  await main();
} catch (error) {
  results.setup = { ok: false, error: String(error?.stack ?? error) };
  console.error(error);
}
for (const child of children) child.kill('SIGTERM');
results.seconds = (Date.now() - started) / 1000;
if (Object.values(results).some((r) => r && r.ok === false)) exitCode = 1;
// The profile holds the private server environment (~150 MB): keep it only to debug a failure.
if (exitCode === 0 && profileDir && !opts.keep) {
  await sleep(1000); // code-server's children let go of their files
  fs.rmSync(profileDir, { recursive: true, force: true });
  results.logs = { profile: '(removed after success; --keep keeps it)' };
}
if (opts.result) fs.writeFileSync(opts.result, JSON.stringify(results, null, 2));
console.log(JSON.stringify(results, null, 2));
process.exit(exitCode);
