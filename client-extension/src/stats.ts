/**
 * "Spark: Show Stats": `spark/stats` as a read-only JSON tab (a virtual document), refreshed each
 * time the command runs. Its own URI scheme keeps it out of the server's document selector, so the
 * stats never get ghost text of their own.
 */
import * as vscode from 'vscode';
import { STATS_REQUEST } from './protocol';
import { ServerController } from './server';

export const STATS_SCHEME = 'spark-stats';
const STATS_URI = vscode.Uri.parse(`${STATS_SCHEME}:/spark-stats.json`);

export class StatsView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private text = '{}';
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(STATS_SCHEME, this);

  constructor(private readonly controller: ServerController) {}

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(): Promise<void> {
    const client = this.controller.current;
    if (!client) {
      void vscode.window.showWarningMessage('Spark: the language server is not running.');
      return;
    }
    const stats = await client.sendRequest(STATS_REQUEST, {});
    this.text = JSON.stringify({ requestedAt: new Date().toISOString(), ...(stats as object) }, null, 2) + '\n';
    this.changed.fire(STATS_URI);
    const document = await vscode.workspace.openTextDocument(STATS_URI);
    await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
