// What package.json contributes. That every contributed server setting exists in the server's
// schema is checked from Python, against spark_lsp.config itself (tests/editors/test_contributions.py).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
test('no API key setting is contributed (keys live in secret storage)', () => {
  const keys = Object.keys(manifest.contributes.configuration.properties);
  assert.deepEqual(keys.filter((key) => /apikey/i.test(key)), []);
});

test('every contributed setting has a description', () => {
  for (const [key, value] of Object.entries<Record<string, unknown>>(manifest.contributes.configuration.properties)) {
    assert.ok(value.markdownDescription || value.description, key);
  }
});
