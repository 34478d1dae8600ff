/** The "Spark: …" commands and the status bar menu. */
import * as vscode from 'vscode';
import { refactorSelection } from './refactor';
import { KeyStore } from './secrets';
import { ServerController } from './server';
import { SECTION } from './settings';
import { StatsView } from './stats';

/** Flip `sparkLsp.inline.enabled` where it is set (folder, workspace or user), so the flip takes effect. */
async function toggleInline(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<boolean>('inline.enabled');
  const target =
    inspected?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : inspected?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
  const enabled = !config.get<boolean>('inline.enabled', true);
  await config.update('inline.enabled', enabled, target);
  vscode.window.setStatusBarMessage(`Spark: inline completions ${enabled ? 'on' : 'off'}`, 3000);
}

async function menu(): Promise<void> {
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: '$(graph) Show Stats', command: 'sparkLsp.showStats' },
    { label: '$(eye-closed) Toggle Inline Completions', command: 'sparkLsp.toggleInline' },
    { label: '$(key) Set Cerebras API Key', command: 'sparkLsp.setApiKey' },
    { label: '$(output) Show Logs', command: 'sparkLsp.showLogs' },
    { label: '$(debug-restart) Restart Server', command: 'sparkLsp.restart' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Spark LSP' });
  if (picked) await vscode.commands.executeCommand(picked.command);
}

export function registerCommands(
  context: vscode.ExtensionContext,
  controller: ServerController,
  keys: KeyStore,
  log: vscode.LogOutputChannel,
): void {
  const stats = new StatsView(controller);
  const register = (id: string, run: () => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, run));
  context.subscriptions.push(stats);
  register('sparkLsp.setApiKey', async () => {
    if (await keys.prompt('cerebras')) await controller.restartIfKeysChanged();
  });
  register('sparkLsp.setGpuApiKey', async () => {
    if (await keys.prompt('gpu')) await controller.restartIfKeysChanged();
  });
  register('sparkLsp.restart', () => controller.restart('requested'));
  register('sparkLsp.showStats', () => stats.show());
  register('sparkLsp.toggleInline', toggleInline);
  register('sparkLsp.refactor', () => refactorSelection(controller.current));
  register('sparkLsp.showLogs', () => log.show(true));
  register('sparkLsp.menu', menu);
}
