import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeConcernsServer, changeNeedsRestart, deepMerge, serverSettings } from '../../src/settings';

test('only what the user set is sent, without the extension-only keys', () => {
  const settings = serverSettings({
    globalValue: {
      pythonPath: '/usr/bin/python3',
      env: { CEREBRAS_BASE_URL: 'http://127.0.0.1:8787' },
      server: { source: 'interpreter' },
      trace: { server: 'verbose' },
      fastModel: 'qwen-3-coder-480b',
      inline: { maxLines: 12 },
    },
  });
  assert.deepEqual(settings, { fastModel: 'qwen-3-coder-480b', inline: { maxLines: 12 } });
});

test('workspace folder beats workspace beats user, merging nested objects key by key', () => {
  const settings = serverSettings({
    globalValue: { fastModel: 'a', inline: { maxLines: 12, prefetch: false }, models: { x: { promptFormat: 'chat' } } },
    workspaceValue: { fastModel: 'b', inline: { maxLines: 6 } },
    workspaceFolderValue: { inline: { enabled: false }, models: { y: { promptFormat: 'fim' } } },
  });
  assert.deepEqual(settings, {
    fastModel: 'b',
    inline: { maxLines: 6, prefetch: false, enabled: false },
    models: { x: { promptFormat: 'chat' }, y: { promptFormat: 'fim' } },
  });
});

test('nothing set gives an empty object: the server keeps its defaults and environment', () => {
  assert.deepEqual(serverSettings(undefined), {});
  assert.deepEqual(serverSettings({ globalValue: undefined, workspaceValue: 'garbage' }), {});
});

test('keys the extension does not know yet pass through (a newer server setting)', () => {
  assert.deepEqual(serverSettings({ globalValue: { hover: { enabled: false } } }), { hover: { enabled: false } });
});

test('arrays and scalars replace, objects merge', () => {
  assert.deepEqual(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } }), { a: [3], b: { c: 1, d: 2 } });
  assert.deepEqual(deepMerge({ a: 1 }, undefined), { a: 1 });
});

test('launch settings restart the server; the rest is only a didChangeConfiguration', () => {
  const affects = (changed: string[]) => (section: string) => changed.some((key) => key === section || key.startsWith(`${section}.`));
  assert.equal(changeNeedsRestart(affects(['sparkLsp.pythonPath'])), true);
  assert.equal(changeNeedsRestart(affects(['sparkLsp.env'])), true);
  assert.equal(changeNeedsRestart(affects(['sparkLsp.server.source'])), true);
  assert.equal(changeNeedsRestart(affects(['sparkLsp.inline.enabled'])), false);
  assert.equal(changeConcernsServer(affects(['sparkLsp.inline.enabled'])), true);
  assert.equal(changeConcernsServer(affects(['sparkLsp.trace.server'])), false);
  assert.equal(changeConcernsServer(affects(['editor.fontSize'])), false);
});
