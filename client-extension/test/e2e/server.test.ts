/**
 * End to end in Node: the real server, started as the extension starts it, against `spark-lsp sim`
 * (fast tier, and a GPU tier for what the server sends there). Hover, code actions and the
 * refactor command are skipped while the server does not advertise them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, beforeEach, test } from 'node:test';
import {
  CodeAction,
  CodeActionRequest,
  CodeActionResolveRequest,
  Command,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  Hover,
  HoverRequest,
  InlineCompletionItem,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { REFACTOR_COMMAND, refactorArguments, STATS_REQUEST } from '../../src/protocol';
import { eventually, Started, startServer } from './client';
import { Sim, testPython } from './sim';

const FAST_MODEL = 'sim-spark-coder';
const GPU_MODEL = 'sim-gpu-coder';
// A real folder: refactors read and plan over the workspace's files.
const WORKSPACE = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-e2e-'));
const FILE = path.join(WORKSPACE, 'example.py');
const URI = pathToFileURL(FILE).toString();
const SOURCE = 'def add(a, b):\n    return \n\n\ndef sub(a, b):\n    return a - b\n';
const EXPLANATION = 'Adds the two numbers a and b and returns their sum.';

let fast: Sim;
let gpu: Sim;
let server: Started;

before(async () => {
  fs.writeFileSync(FILE, SOURCE);
  [fast, gpu] = await Promise.all([
    Sim.start('--profile', 'instant', '--model', FAST_MODEL),
    Sim.start('--profile', 'instant', '--model', GPU_MODEL),
  ]);
  // What a user has in VS Code: the endpoints in `sparkLsp.env` / settings, keys in secret storage.
  const env = {
    CEREBRAS_BASE_URL: fast.url,
    SPARK_LSP_GPU_BASE_URL: `${gpu.url}/v1`,
  };
  const scopes = {
    globalValue: {
      fastModel: FAST_MODEL,
      gpuModel: GPU_MODEL,
      pythonPath: '/ignored/by/the/server',
      env: { IGNORED: 'too' },
      inline: { prefetch: false },
      // Off by default in the server (each symbol costs a request); a user turns it on like this.
      hover: { enabled: true },
    },
  };
  const workspace = pathToFileURL(WORKSPACE).toString();
  server = await startServer(testPython(), env, { cerebras: 'sim-key', gpu: 'sim-gpu-key' }, scopes, workspace);
  await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: URI, languageId: 'python', version: 1, text: SOURCE },
  });
});

after(async () => {
  await server?.stop();
  fast?.stop();
  gpu?.stop();
  fs.rmSync(WORKSPACE, { recursive: true, force: true });
});

beforeEach(async () => {
  await Promise.all([fast.reset(), gpu.reset()]);
});

function capabilities() {
  return server.initialize.capabilities;
}

function explainEverywhere(text: string) {
  // Whatever prompt, endpoint or tier the server uses for it, this is the answer.
  return Promise.all([fast.script({ text, repeat: -1 }), gpu.script({ text, repeat: -1 })]);
}

test('the extension settings are accepted and the fast tier comes up', async () => {
  const status = await eventually(() => server.statuses.find((s) => s.tiers?.fast?.state === 'ok'), 'spark/status ok');
  assert.equal(status.tiers?.fast?.model, FAST_MODEL);
  // No "unknown setting" or bad value: the mapping dropped the extension's own keys.
  assert.deepEqual(server.messages.filter((m) => /setting/i.test(m)), []);
});

test('inline completion: ghost text from the fast tier', async () => {
  assert.ok(capabilities().inlineCompletionProvider, 'inlineCompletionProvider is advertised');
  await fast.script({ text: 'a + b\n\n\ndef sub(a, b):' });
  const result = (await server.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri: URI },
    position: { line: 1, character: 11 },
    context: { triggerKind: InlineCompletionTriggerKind.Invoked },
  })) as InlineCompletionList | InlineCompletionItem[] | null;
  const items = Array.isArray(result) ? result : (result?.items ?? []);
  assert.deepEqual(items.map((item) => item.insertText), ['a + b']);
  const [request] = await fast.generationRequests();
  assert.equal(request.model, FAST_MODEL);
});

test('spark/stats answers counters and tier health', async () => {
  const stats = (await server.connection.sendRequest(STATS_REQUEST, {})) as { counters: object; tiers: { fast: { state: string } } };
  assert.equal(typeof stats.counters, 'object');
  assert.equal(stats.tiers.fast.state, 'ok');
});

function hoverText(hover: Hover): string {
  const contents = hover.contents;
  const one = (c: unknown): string => (typeof c === 'string' ? c : ((c as MarkupContent).value ?? ''));
  return Array.isArray(contents) ? contents.map(one).join('\n') : one(contents);
}

test('hover: an explanation of the symbol', async (t) => {
  if (!capabilities().hoverProvider) return t.skip('the server does not advertise hoverProvider (textDocument/hover not implemented yet)');
  await explainEverywhere(EXPLANATION);
  const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri: URI }, position: { line: 0, character: 5 } });
  assert.ok(hover, 'a hover for `add`');
  const text = hoverText(hover);
  assert.ok(text.trim().length > 0, 'the hover has text');
  assert.match(text, /sum/, `the model's explanation reaches the hover: ${text}`);
});

test('code action: offered for a diagnostic, and resolvable', async (t) => {
  if (!capabilities().codeActionProvider) return t.skip('the server does not advertise codeActionProvider (textDocument/codeAction not implemented yet)');
  // The quick-fix answer format: the rewritten region (here the enclosing function) in one fence.
  await explainEverywhere('```python\ndef add(a, b):\n    return a + b\n```');
  const range = { start: { line: 1, character: 4 }, end: { line: 1, character: 10 } };
  const actions = await server.connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: URI },
    range,
    context: { diagnostics: [{ range, message: 'missing return value', severity: 1, source: 'e2e' }], triggerKind: 1 },
  });
  assert.ok(actions && actions.length > 0, 'at least one code action');
  const action = actions.find((a): a is CodeAction => !Command.is(a));
  const resolvable = typeof capabilities().codeActionProvider === 'object' && (capabilities().codeActionProvider as { resolveProvider?: boolean }).resolveProvider;
  if (action && !action.edit && !action.command && resolvable) {
    const resolved = await server.connection.sendRequest(CodeActionResolveRequest.type, action);
    assert.ok(resolved.edit || resolved.command, `the resolved action does something: ${JSON.stringify(resolved)} (messages: ${JSON.stringify(server.messages)})`);
    assert.match(JSON.stringify(resolved.edit), /a \+ b/);
  } else {
    assert.ok(actions.every((a) => Command.is(a) || a.edit || a.command || a.data !== undefined), 'every action does something');
  }
});

test('refactor command: spark.refactor with {uri, range, instruction}', async (t) => {
  const commands = capabilities().executeCommandProvider?.commands ?? [];
  if (!commands.includes(REFACTOR_COMMAND)) return t.skip(`the server does not advertise the ${REFACTOR_COMMAND} command yet`);
  // The plan (JSON), then each step's whole new file in a fenced block, on whichever tier is asked.
  const plan = JSON.stringify({ summary: 'Rename the parameters.', steps: [{ file: 'example.py', description: 'rename a and b' }] });
  const renamed = SOURCE.replace('def add(a, b):\n    return \n', 'def add(left, right):\n    return left + right\n');
  for (const sim of [fast, gpu]) {
    await sim.script({ text: plan, match: 'You plan code refactors', repeat: -1 }, { text: '```python\n' + renamed + '```', match: 'You carry out one step', repeat: -1 });
  }
  const args = refactorArguments(URI, { start: { line: 0, character: 0 }, end: { line: 1, character: 11 } }, 'rename the parameters to left and right');
  const result = await server.connection.sendRequest(ExecuteCommandRequest.type, { command: REFACTOR_COMMAND, arguments: [args] });
  const edited = server.applied.length > 0 || (typeof result === 'object' && result !== null && ('changes' in result || 'documentChanges' in result));
  assert.ok(edited, `the refactor applied or returned an edit (result: ${JSON.stringify(result)}, messages: ${JSON.stringify(server.messages)})`);
  assert.match(JSON.stringify(server.applied), /left \+ right/);
});
