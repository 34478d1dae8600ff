/**
 * Which Python runs (or hosts the private environment of) the server:
 * the `sparkLsp.pythonPath` setting, else the Python extension's selected interpreter, else
 * `python3` on the PATH.
 *
 * The Python extension is optional: it is reached through `vscode.extensions` at run time, never
 * imported or declared as a dependency. `vscode` is imported for types only, so the selection
 * order is unit-tested without an editor.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';

export const MS_PYTHON_ID = 'ms-python.python';

export type PythonSource = 'setting' | 'ms-python' | 'default';

export interface PythonChoice {
  path: string;
  source: PythonSource;
}

/** The interpreter name to try when nothing is configured. */
export function defaultPython(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'python' : 'python3';
}

/** `~`, `${userHome}` and `${workspaceFolder}` in a configured path, as VS Code users write them. */
export function expandPath(value: string, workspaceFolder: string | undefined, home: string = os.homedir()): string {
  let result = value.trim();
  result = result.replace(/\$\{userHome\}/g, home);
  if (workspaceFolder !== undefined) result = result.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (result === '~' || result.startsWith('~/') || result.startsWith('~\\')) result = path.join(home, result.slice(1));
  return result;
}

/** The selection order, given what each source offers. */
export function choosePython(
  setting: string | undefined,
  fromMsPython: string | undefined,
  platform: NodeJS.Platform = process.platform,
): PythonChoice {
  if (setting && setting.trim()) return { path: setting.trim(), source: 'setting' };
  if (fromMsPython && fromMsPython.trim()) return { path: fromMsPython.trim(), source: 'ms-python' };
  return { path: defaultPython(platform), source: 'default' };
}

/** The parts of the Python extension's API we use (both its current and its older shape). */
interface MsPythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(env: { id: string; path: string }): Promise<{ executable?: { uri?: { fsPath: string } } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] };
    onDidChangeExecutionDetails?: vscode.Event<unknown>;
  };
}

type Extensions = Pick<typeof vscode.extensions, 'getExtension'>;

async function msPythonApi(extensions: Extensions): Promise<MsPythonApi | undefined> {
  const extension = extensions.getExtension<MsPythonApi>(MS_PYTHON_ID);
  if (!extension) return undefined;
  return extension.isActive ? extension.exports : await extension.activate();
}

/** The Python extension's selected interpreter, or undefined when it is absent or has none. */
export async function msPythonInterpreter(
  extensions: Extensions,
  resource?: vscode.Uri,
  log: (line: string) => void = () => undefined,
): Promise<string | undefined> {
  try {
    const api = await msPythonApi(extensions);
    if (!api) return undefined;
    if (api.environments) {
      const active = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(active);
      return resolved?.executable?.uri?.fsPath ?? active.path;
    }
    return api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch (error) {
    // A broken or half-activated Python extension must not keep the server from starting.
    log(`the Python extension did not give an interpreter: ${String(error)}`);
    return undefined;
  }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onMsPythonChange(
  extensions: Extensions,
  listener: () => void,
): Promise<vscode.Disposable | undefined> {
  try {
    const api = await msPythonApi(extensions);
    const event = api?.environments?.onDidChangeActiveEnvironmentPath ?? api?.settings?.onDidChangeExecutionDetails;
    return event?.(() => listener());
  } catch {
    return undefined;
  }
}
