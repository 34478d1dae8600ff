import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isUpToDate, planEnvironment, readBundle, venvPython, versionProblem } from '../../src/bootstrap';

test('an environment is reused only for the same bundle and the same base interpreter', () => {
  const wanted = { sha256: 'abc', baseExecutable: '/usr/bin/python3.12' };
  assert.equal(isUpToDate(undefined, wanted), false);
  assert.equal(isUpToDate({ ...wanted }, wanted), true);
  assert.equal(isUpToDate({ ...wanted, sha256: 'old' }, wanted), false);
  assert.equal(isUpToDate({ ...wanted, baseExecutable: '/usr/bin/python3.11' }, wanted), false);
});

test('Python older than 3.11 is refused with a way out', () => {
  assert.equal(versionProblem('python3', { executable: 'x', version: [3, 11, 0] }), undefined);
  assert.equal(versionProblem('python3', { executable: 'x', version: [3, 14, 1] }), undefined);
  assert.match(versionProblem('python3', { executable: 'x', version: [3, 10, 12] }) ?? '', /3\.11 or newer.*sparkLsp\.pythonPath/);
});

test('venv layout per platform', () => {
  assert.equal(venvPython('/s/env', 'linux'), path.join('/s/env', 'bin', 'python'));
  assert.equal(venvPython('/s/env', 'win32'), path.join('/s/env', 'Scripts', 'python.exe'));
});

test('a missing bundle (development build) is undefined; a present one is read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spark-bundle-'));
  assert.equal(readBundle(dir), undefined);
  fs.mkdirSync(path.join(dir, 'bundled', 'wheels'), { recursive: true });
  const manifest = { version: '0.1.0', wheel: 'spark_lsp-0.1.0-py3-none-any.whl', sha256: 'abc', pythons: ['3.11'], platform: 'linux-x64' };
  fs.writeFileSync(path.join(dir, 'bundled', 'manifest.json'), JSON.stringify(manifest));
  assert.deepEqual(readBundle(dir), { wheelsDir: path.join(dir, 'bundled', 'wheels'), manifest });
});

test('a missing interpreter gives a message that says what to set', async () => {
  const bundle = { wheelsDir: '/nowhere', manifest: { version: '0', wheel: 'w', sha256: 's', pythons: [], platform: 'p' } };
  await assert.rejects(planEnvironment('/no/such/python', os.tmpdir(), bundle, () => undefined), /sparkLsp\.pythonPath/);
});
