/**
 * VS Code's `sparkLsp.*` settings -> the object the server reads (its `initializationOptions` and
 * the `sparkLsp` section of `workspace/configuration`), with the server's camelCase keys
 * (docs/configuration.md).
 *
 * No `vscode` import: the Node end-to-end test and the Neovim docs build exactly what the
 * extension sends from the same code.
 */

export const SECTION = 'sparkLsp';

/**
 * Settings only the extension reads (how to start the process). The server reports every key it
 * does not know as a problem, so these must never reach it.
 */
export const EXTENSION_ONLY_KEYS: readonly string[] = ['pythonPath', 'server', 'env', 'trace'];

/** A change to one of these needs a new server process: another interpreter or environment. */
export const RESTART_SETTINGS: readonly string[] = [
  `${SECTION}.pythonPath`,
  `${SECTION}.server`,
  `${SECTION}.env`,
];

/** What `WorkspaceConfiguration.inspect('sparkLsp')` returns, reduced to the scopes we honour. */
export interface ScopedValues {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type SettingsObject = { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key (so `models` entries from user and workspace combine); anything else replaces. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isObject(base) || !isObject(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(base[key], value);
  return merged;
}

/**
 * The settings object for the server: only what the user set (user < workspace < folder, VS Code's
 * own precedence), without the extension's keys.
 *
 * Defaults are deliberately not sent: the server owns them, and a value we sent would win over
 * the server's environment variables (for example `CEREBRAS_BASE_URL` from `sparkLsp.env`).
 * Keys we do not know are passed through, so a setting added to the server works before the
 * extension learns to show it in the Settings UI.
 */
export function serverSettings(inspected: ScopedValues | undefined): SettingsObject {
  let merged: unknown = {};
  for (const scope of [inspected?.globalValue, inspected?.workspaceValue, inspected?.workspaceFolderValue]) {
    if (isObject(scope)) merged = deepMerge(merged, scope);
  }
  const result = { ...(merged as SettingsObject) };
  for (const key of EXTENSION_ONLY_KEYS) delete result[key];
  return result;
}

/** Whether a configuration change needs a restart (true) or only a `didChangeConfiguration`. */
export function changeNeedsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((section) => affects(section));
}

/** Whether a configuration change concerns the server's own settings at all. */
export function changeConcernsServer(affects: (section: string) => boolean): boolean {
  return affects(SECTION) && !changeNeedsRestart(affects) && !affects(`${SECTION}.trace`);
}
