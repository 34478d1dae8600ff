/**
 * The server without a manual pip step: a private virtual environment in the extension's global
 * storage, with the wheels bundled in the .vsix installed offline, reused until the bundle changes.
 *
 * No `vscode` import (plain Node), so it is unit-testable and the editor only supplies paths.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Written by scripts/bundle-server.mjs next to the wheels. */
export interface Manifest {
  version: string;
  wheel: string;
  sha256: string;
  pythons: string[];
  platform: string;
}

export interface Bundle {
  wheelsDir: string;
  manifest: Manifest;
}

/** What the private environment was built from; a mismatch means rebuild. */
export interface InstallMarker {
  sha256: string;
  baseExecutable: string;
}

export interface InterpreterInfo {
  executable: string;
  version: [number, number, number];
}

export const MIN_PYTHON: [number, number] = [3, 11];
const ENV_DIR = 'server-env';
const MARKER = 'spark-lsp-bundle.json';

export type Log = (line: string) => void;

/** The bundle shipped in the extension folder, or undefined (a development checkout without one). */
export function readBundle(extensionDir: string): Bundle | undefined {
  const wheelsDir = path.join(extensionDir, 'bundled', 'wheels');
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'bundled', 'manifest.json'), 'utf8')) as Manifest;
    return { wheelsDir, manifest };
  } catch {
    return undefined;
  }
}

export function venvPython(envDir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(envDir, 'Scripts', 'python.exe') : path.join(envDir, 'bin', 'python');
}

/** Whether an existing environment can be reused as it is. */
export function isUpToDate(marker: InstallMarker | undefined, wanted: InstallMarker): boolean {
  return marker !== undefined && marker.sha256 === wanted.sha256 && marker.baseExecutable === wanted.baseExecutable;
}

/** A user-facing reason when the interpreter is too old, else undefined. */
export function versionProblem(python: string, info: InterpreterInfo): string | undefined {
  const [major, minor] = info.version;
  if (major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1])) return undefined;
  return (
    `spark-lsp needs Python ${MIN_PYTHON.join('.')} or newer, but ${python} is ${info.version.join('.')}. ` +
    'Set "sparkLsp.pythonPath" or select another interpreter in the Python extension.'
  );
}

function run(command: string, args: string[], log: Log, timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (stderr.trim()) log(stderr.trim());
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The interpreter's real executable and version (a venv's python reports its own path). */
export async function interpreterInfo(python: string, log: Log): Promise<InterpreterInfo> {
  const code = 'import json, sys; print(json.dumps({"executable": sys.executable, "version": list(sys.version_info[:3])}))';
  let output: string;
  try {
    output = await run(python, ['-c', code], log, 30_000);
  } catch (error) {
    throw new Error(
      `Could not run Python "${python}": ${(error as Error).message.split('\n')[0]}. ` +
        'Install Python 3.11+ or set "sparkLsp.pythonPath".',
    );
  }
  return JSON.parse(output.trim().split('\n').pop() ?? '{}') as InterpreterInfo;
}

function readMarker(envDir: string): InstallMarker | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(envDir, MARKER), 'utf8')) as InstallMarker;
  } catch {
    return undefined;
  }
}

export interface Plan {
  envDir: string;
  python: string;
  upToDate: boolean;
  wanted: InstallMarker;
}

/** Where the environment is and whether it must be (re)built; cheap: one interpreter probe. */
export async function planEnvironment(python: string, storageDir: string, bundle: Bundle, log: Log): Promise<Plan> {
  const info = await interpreterInfo(python, log);
  const problem = versionProblem(python, info);
  if (problem) throw new Error(problem);
  const envDir = path.join(storageDir, ENV_DIR);
  const wanted: InstallMarker = { sha256: bundle.manifest.sha256, baseExecutable: info.executable };
  const upToDate = isUpToDate(readMarker(envDir), wanted) && fs.existsSync(venvPython(envDir));
  return { envDir, python: venvPython(envDir), upToDate, wanted };
}

/**
 * Builds the environment beside the final one and renames it into place, so a failed or
 * interrupted install (or a second window doing the same) never leaves a half-built one in use.
 */
export async function buildEnvironment(basePython: string, plan: Plan, bundle: Bundle, log: Log): Promise<string> {
  const staging = `${plan.envDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(staging), { recursive: true });
  log(`creating the server environment with ${basePython} (spark-lsp ${bundle.manifest.version})`);
  await run(basePython, ['-m', 'venv', staging], log);
  const pip = [venvPython(staging), '-m', 'pip', 'install', '--find-links', bundle.wheelsDir];
  const wheel = path.join(bundle.wheelsDir, bundle.manifest.wheel);
  try {
    await run(pip[0], [...pip.slice(1), '--no-index', wheel], log);
  } catch (error) {
    // The bundle has dependency wheels for some Python versions and one platform; anything else
    // can still install from the package index when the machine is online.
    log(`offline install from the bundled wheels failed; trying the package index.\n${(error as Error).message}`);
    await run(pip[0], [...pip.slice(1), wheel], log);
  }
  fs.writeFileSync(path.join(staging, MARKER), JSON.stringify(plan.wanted));
  fs.rmSync(plan.envDir, { recursive: true, force: true });
  try {
    fs.renameSync(staging, plan.envDir);
  } catch (error) {
    // Another window finished first: use its environment if it is the one we wanted.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!isUpToDate(readMarker(plan.envDir), plan.wanted)) throw error;
  }
  log(`server environment ready: ${plan.envDir}`);
  return plan.python;
}
