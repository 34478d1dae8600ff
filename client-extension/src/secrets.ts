/**
 * API keys in VS Code's SecretStorage (the OS keychain on desktop), never in settings.json:
 * settings files get committed and synced. The server gets them as environment variables.
 */
import * as vscode from 'vscode';
import { ApiKeys } from './launch';

const STORAGE_KEYS: Readonly<Record<keyof ApiKeys, string>> = {
  cerebras: 'sparkLsp.cerebrasApiKey',
  gpu: 'sparkLsp.gpuApiKey',
};

const PROMPTS: Readonly<Record<keyof ApiKeys, { prompt: string; placeHolder: string }>> = {
  cerebras: { prompt: 'Cerebras API key (kept in VS Code secret storage; empty to remove)', placeHolder: 'csk-…' },
  gpu: { prompt: 'API key of the GPU tier (kept in VS Code secret storage; empty to remove)', placeHolder: 'key' },
};

export class KeyStore {
  constructor(private readonly storage: vscode.SecretStorage) {}

  async read(): Promise<ApiKeys> {
    return {
      cerebras: (await this.storage.get(STORAGE_KEYS.cerebras)) || undefined,
      gpu: (await this.storage.get(STORAGE_KEYS.gpu)) || undefined,
    };
  }

  /** Ask for a key (password box); an empty answer removes it. Returns whether anything changed. */
  async prompt(kind: keyof ApiKeys): Promise<boolean> {
    const value = await vscode.window.showInputBox({ ...PROMPTS[kind], password: true, ignoreFocusOut: true });
    if (value === undefined) return false;
    const key = value.trim();
    if (key) await this.storage.store(STORAGE_KEYS[kind], key);
    else await this.storage.delete(STORAGE_KEYS[kind]);
    return true;
  }

  /** Fires when a key changes, in this window or another one. */
  onDidChange(listener: () => void): vscode.Disposable {
    const ours = new Set(Object.values(STORAGE_KEYS));
    return this.storage.onDidChange((event) => {
      if (ours.has(event.key)) listener();
    });
  }
}

export function sameKeys(a: ApiKeys | undefined, b: ApiKeys): boolean {
  return a !== undefined && a.cerebras === b.cerebras && a.gpu === b.gpu;
}
