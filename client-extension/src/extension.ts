/**
 * Entry point: wires the pieces together and decides when the server restarts (interpreter,
 * launch settings or keys changed) and when it is only told that its settings changed.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { onMsPythonChange } from './python';
import { KeyStore } from './secrets';
import { ServerController } from './server';
import { changeConcernsServer, changeNeedsRestart, SECTION } from './settings';
import { StatusBar } from './status';

let controller: ServerController | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Spark LSP', { log: true });
  const inlineEnabled = () => vscode.workspace.getConfiguration(SECTION).get<boolean>('inline.enabled', true);
  const status = new StatusBar(inlineEnabled);
  const keys = new KeyStore(context.secrets);
  const server = new ServerController(context, log, status, keys);
  controller = server;
  context.subscriptions.push(log, status, server);
  registerCommands(context, server, keys, log);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      const affects = (section: string) => event.affectsConfiguration(section);
      if (changeNeedsRestart(affects)) void server.restart('launch settings changed');
      else if (changeConcernsServer(affects)) {
        status.render();
        void server.settingsChanged();
      }
    }),
    keys.onDidChange(() => void server.restartIfKeysChanged()),
  );
  // Not awaited: a first start may install the server for a while; activation must not wait for it.
  void server.start();
  // Only while the interpreter comes from the Python extension does its selection matter.
  void onMsPythonChange(vscode.extensions, () => {
    if (!vscode.workspace.getConfiguration(SECTION).get<string>('pythonPath')?.trim()) void server.restart('interpreter changed');
  }).then((listener) => listener && context.subscriptions.push(listener));
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
}
