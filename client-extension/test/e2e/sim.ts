/** `spark-lsp sim` as a subprocess, and its control endpoints (docs/simulator.md). */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface ScriptedAnswer {
  text: string;
  match?: string;
  repeat?: number;
  endpoint?: 'completions' | 'chat';
}

/** The interpreter with spark-lsp installed: $SPARK_TEST_PYTHON, the repo's .venv, or python3. */
export function testPython(): string {
  if (process.env.SPARK_TEST_PYTHON) return process.env.SPARK_TEST_PYTHON;
  const venv = path.resolve(__dirname, '..', '..', '..', '..', '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

export class Sim {
  private constructor(
    private readonly process: ChildProcess,
    readonly url: string,
    readonly models: string[],
  ) {}

  static async start(...args: string[]): Promise<Sim> {
    const child = spawn(testPython(), ['-m', 'spark_lsp', 'sim', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const lines = readline.createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the simulator exited (${code}): ${stderr}`)));
    });
    const ready = JSON.parse(first) as { url: string; models: string[] };
    return new Sim(child, ready.url, ready.models);
  }

  private async control(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.url + route, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status}`);
    return method === 'GET' ? response.json() : undefined;
  }

  async reset(): Promise<void> {
    for (const route of ['/sim/script', '/sim/requests', '/sim/truth']) await this.control('DELETE', route);
  }

  script(...responses: ScriptedAnswer[]): Promise<unknown> {
    return this.control('POST', '/sim/script', { responses });
  }

  addTruth(name: string, text: string): Promise<unknown> {
    return this.control('POST', '/sim/truth', { name, text });
  }

  async generationRequests(): Promise<{ path: string; model: string; prompt: string }[]> {
    const records = (await this.control('GET', '/sim/requests')) as { path: string; model: string; prompt: string }[];
    return records.filter((record) => record.path.includes('completions'));
  }

  stop(): void {
    this.process.kill('SIGTERM');
  }
}
