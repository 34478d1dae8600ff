/**
 * How the server process is started: command, arguments and environment.
 *
 * No `vscode` import, so the Node end-to-end test starts the server exactly as the extension does.
 */

/** `<python> -m spark_lsp serve`: LSP over stdio (the module form works in any venv, no PATH needed). */
export const SERVER_ARGS: readonly string[] = ['-m', 'spark_lsp', 'serve', '--log-to-client'];

/** Keys from VS Code's secret storage; never read from or written to settings. */
export interface ApiKeys {
  cerebras?: string;
  gpu?: string;
}

/** The environment variables the server reads each key from (the Cerebras SDK's own for the fast tier). */
export const KEY_VARIABLES: Readonly<Record<keyof ApiKeys, string>> = {
  cerebras: 'CEREBRAS_API_KEY',
  gpu: 'SPARK_LSP_GPU_API_KEY',
};

export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The server's environment: the editor's own, then `sparkLsp.env`, then the stored keys.
 *
 * Keys go through the environment rather than `initializationOptions` so they never appear in a
 * protocol trace or the server's settings echo. A stored key wins over `sparkLsp.env` because
 * storing it is the explicit, later act.
 */
export function serverEnvironment(
  base: Record<string, string | undefined>,
  extra: Record<string, unknown> | undefined,
  keys: ApiKeys,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) if (value !== undefined) env[name] = value;
  for (const [name, value] of Object.entries(extra ?? {})) {
    // A non-string here is a settings mistake; "[object Object]" in the environment would hide it.
    if (typeof value === 'string') env[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[name] = String(value);
  }
  for (const [kind, variable] of Object.entries(KEY_VARIABLES) as [keyof ApiKeys, string][]) {
    const key = keys[kind];
    if (key) env[variable] = key;
  }
  return env;
}

/** The complete launch for an interpreter that has spark-lsp installed. */
export function serverLaunch(python: string, env: Record<string, string>): ServerLaunch {
  return { command: python, args: [...SERVER_ARGS], env };
}

/** Variable names from `extra` that look like keys: a warning, since settings files get committed. */
export function keysInSettings(extra: Record<string, unknown> | undefined): string[] {
  return Object.keys(extra ?? {}).filter((name) => /(_API_KEY|_TOKEN|_SECRET)$/i.test(name));
}
