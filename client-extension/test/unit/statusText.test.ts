import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeStatus, tierInUse } from '../../src/statusText';

const ok = { tiers: { fast: { state: 'ok', model: 'qwen-3-coder-480b', detail: '' } } };

test('running and healthy: tier in use and the last latency', () => {
  const view = describeStatus('running', ok, 83.6, true);
  assert.equal(view.text, '$(zap) Spark fast 84 ms');
  assert.equal(view.severity, 'ok');
  assert.match(view.tooltip, /fast tier \(qwen-3-coder-480b\): ok/);
});

test('no key: say so, and a click asks for it', () => {
  const view = describeStatus('running', { tiers: { fast: { state: 'unconfigured', model: null, detail: 'no API key' } } }, undefined, true);
  assert.equal(view.action, 'setApiKey');
  assert.equal(view.severity, 'warning');
});

test('degraded is a warning, down is an error, a dead process is down', () => {
  assert.equal(describeStatus('running', { tiers: { fast: { state: 'degraded', detail: 'model not listed' } } }, undefined, true).severity, 'warning');
  assert.equal(describeStatus('running', { tiers: { fast: { state: 'down', detail: 'refused' } } }, undefined, true).text, '$(error) Spark: down');
  assert.equal(describeStatus('failed', ok, 10, true).severity, 'error');
});

test('the GPU tier in use when the fast one is down is a warning', () => {
  const status = { tiers: { fast: { state: 'down' }, gpu: { state: 'ok', model: 'big' } } };
  assert.equal(tierInUse(status), 'gpu');
  assert.equal(describeStatus('running', status, 300, true).text, '$(warning) Spark gpu 300 ms');
});

test('inline completions off is visible', () => {
  assert.equal(describeStatus('running', ok, undefined, false).text, '$(zap) Spark fast (inline off)');
});
