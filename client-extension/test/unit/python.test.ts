import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { choosePython, defaultPython, expandPath, msPythonInterpreter } from '../../src/python';

test('the setting comes first, then the Python extension, then python3', () => {
  assert.deepEqual(choosePython('/opt/py/bin/python', '/venv/bin/python', 'linux'), { path: '/opt/py/bin/python', source: 'setting' });
  assert.deepEqual(choosePython('', '/venv/bin/python', 'linux'), { path: '/venv/bin/python', source: 'ms-python' });
  assert.deepEqual(choosePython('  ', undefined, 'linux'), { path: 'python3', source: 'default' });
  assert.deepEqual(choosePython(undefined, undefined, 'win32'), { path: 'python', source: 'default' });
  assert.equal(defaultPython('darwin'), 'python3');
});

test('configured paths expand ~, ${userHome} and ${workspaceFolder}', () => {
  assert.equal(expandPath('~/venv/bin/python', '/w', '/home/u'), path.join('/home/u', 'venv/bin/python'));
  assert.equal(expandPath('${userHome}/py', '/w', '/home/u'), '/home/u/py');
  assert.equal(expandPath('${workspaceFolder}/.venv/bin/python', '/w', '/home/u'), '/w/.venv/bin/python');
  assert.equal(expandPath(' /usr/bin/python3 ', undefined, '/home/u'), '/usr/bin/python3');
});

function extensions(api: unknown, active = true) {
  return {
    getExtension: (id: string) =>
      id === 'ms-python.python' && api !== undefined
        ? ({ isActive: active, exports: api, activate: async () => api } as never)
        : undefined,
  };
}

test('the Python extension: absent, environments API, older execution-details API, failing', async () => {
  assert.equal(await msPythonInterpreter(extensions(undefined)), undefined);
  const environments = {
    getActiveEnvironmentPath: () => ({ id: 'x', path: '/envs/x' }),
    resolveEnvironment: async () => ({ executable: { uri: { fsPath: '/envs/x/bin/python' } } }),
  };
  assert.equal(await msPythonInterpreter(extensions({ environments }, false)), '/envs/x/bin/python');
  const unresolved = { ...environments, resolveEnvironment: async () => undefined };
  assert.equal(await msPythonInterpreter(extensions({ environments: unresolved })), '/envs/x');
  const settings = { getExecutionDetails: () => ({ execCommand: ['/old/bin/python', '-X'] }) };
  assert.equal(await msPythonInterpreter(extensions({ settings })), '/old/bin/python');
  const broken = { environments: { ...environments, getActiveEnvironmentPath: () => { throw new Error('boom'); } } };
  const lines: string[] = [];
  assert.equal(await msPythonInterpreter(extensions(broken), undefined, (l) => lines.push(l)), undefined);
  assert.match(lines[0], /boom/);
});
