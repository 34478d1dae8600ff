import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keysInSettings, serverEnvironment, serverLaunch } from '../../src/launch';

test('the server runs as <python> -m spark_lsp serve', () => {
  assert.deepEqual(serverLaunch('/p/bin/python', {}), { command: '/p/bin/python', args: ['-m', 'spark_lsp', 'serve', '--log-to-client'], env: {} });
});

test('environment: the editor, then sparkLsp.env, then stored keys', () => {
  const env = serverEnvironment(
    { PATH: '/bin', CEREBRAS_API_KEY: 'from-shell', CEREBRAS_BASE_URL: 'https://api.cerebras.ai', GONE: undefined },
    { CEREBRAS_BASE_URL: 'http://127.0.0.1:8787', PORT: 1, BAD: { nested: true } },
    { cerebras: 'from-secret-storage', gpu: undefined },
  );
  assert.deepEqual(env, {
    PATH: '/bin',
    CEREBRAS_API_KEY: 'from-secret-storage',
    CEREBRAS_BASE_URL: 'http://127.0.0.1:8787',
    PORT: '1',
  });
  assert.equal(serverEnvironment({ CEREBRAS_API_KEY: 'from-shell' }, undefined, {}).CEREBRAS_API_KEY, 'from-shell');
  assert.equal(serverEnvironment({}, {}, { gpu: 'g' }).SPARK_LSP_GPU_API_KEY, 'g');
});

test('keys written into sparkLsp.env are noticed', () => {
  assert.deepEqual(keysInSettings({ CEREBRAS_API_KEY: 'x', CEREBRAS_BASE_URL: 'y', GH_TOKEN: 'z' }), ['CEREBRAS_API_KEY', 'GH_TOKEN']);
});
