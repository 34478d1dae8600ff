/**
 * What the status bar says, from the server's `spark/status` notification, the client's own
 * measurement of the last suggestion's latency and the process state. Pure, so it is unit-tested.
 */

/** One tier in `spark/status`: `{"tiers": {"fast": {"state", "model", "detail"}}}`. */
export interface TierStatus {
  state: string;
  model?: string | null;
  detail?: string | null;
}

export interface SparkStatus {
  tiers?: Record<string, TierStatus>;
}

export type ProcessState = 'installing' | 'starting' | 'running' | 'stopped' | 'failed';
export type Severity = 'ok' | 'warning' | 'error';

export interface StatusView {
  text: string;
  tooltip: string;
  severity: Severity;
  /** What a click should do: the key is missing, or the menu. */
  action: 'setApiKey' | 'menu';
}

const USABLE = new Set(['ok', 'degraded']);
/** Tier order of preference: inline completions use the fast tier, the GPU tier is the fallback. */
const TIER_ORDER = ['fast', 'gpu'];

/** The tier requests go to: the first usable one in preference order. */
export function tierInUse(status: SparkStatus | undefined): string | undefined {
  const tiers = status?.tiers ?? {};
  const names = [...TIER_ORDER.filter((name) => name in tiers), ...Object.keys(tiers).filter((n) => !TIER_ORDER.includes(n))];
  return names.find((name) => USABLE.has(tiers[name].state));
}

function tierLine(name: string, tier: TierStatus): string {
  const model = tier.model ? ` (${tier.model})` : '';
  const detail = tier.detail ? `: ${tier.detail}` : '';
  return `${name} tier${model}: ${tier.state}${detail}`;
}

export function describeStatus(
  processState: ProcessState,
  status: SparkStatus | undefined,
  latencyMs: number | undefined,
  inlineEnabled: boolean,
): StatusView {
  const lines = Object.entries(status?.tiers ?? {}).map(([name, tier]) => tierLine(name, tier));
  const latency = latencyMs === undefined ? '' : ` ${Math.round(latencyMs)} ms`;
  const off = inlineEnabled ? '' : ' (inline off)';
  if (processState === 'installing') {
    return { text: '$(sync~spin) Spark: installing', tooltip: 'Installing the bundled language server (first start)', severity: 'ok', action: 'menu' };
  }
  if (processState === 'starting') {
    return { text: '$(sync~spin) Spark', tooltip: 'Starting the language server', severity: 'ok', action: 'menu' };
  }
  if (processState === 'stopped' || processState === 'failed') {
    return { text: '$(error) Spark: down', tooltip: 'The language server is not running: see Spark: Show Logs', severity: 'error', action: 'menu' };
  }
  const fast = status?.tiers?.fast;
  if (fast?.state === 'unconfigured') {
    return { text: '$(key) Spark: set API key', tooltip: [...lines, 'Click to set the Cerebras API key'].join('\n'), severity: 'warning', action: 'setApiKey' };
  }
  const tier = tierInUse(status);
  const tooltip = [...lines, latencyMs === undefined ? 'no suggestion yet' : `last suggestion:${latency}`].join('\n');
  if (tier === undefined) {
    const starting = fast?.state === 'starting' || status === undefined;
    return starting
      ? { text: '$(sync~spin) Spark', tooltip, severity: 'ok', action: 'menu' }
      : { text: `$(error) Spark: down${off}`, tooltip, severity: 'error', action: 'menu' };
  }
  const degraded = status?.tiers?.[tier]?.state === 'degraded' || tier !== 'fast';
  return {
    text: `${degraded ? '$(warning)' : '$(zap)'} Spark ${tier}${latency}${off}`,
    tooltip,
    severity: degraded ? 'warning' : 'ok',
    action: 'menu',
  };
}
