/** The status bar item: tier in use, last suggestion latency, ok / degraded / down. */
import * as vscode from 'vscode';
import { describeStatus, ProcessState, SparkStatus } from './statusText';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sparkLsp.status', vscode.StatusBarAlignment.Right, 100);
  private processState: ProcessState = 'starting';
  private status: SparkStatus | undefined;
  private latencyMs: number | undefined;

  constructor(private readonly inlineEnabled: () => boolean) {
    this.item.name = 'Spark LSP';
    this.render();
    this.item.show();
  }

  setProcessState(state: ProcessState): void {
    this.processState = state;
    if (state !== 'running') this.status = undefined;
    this.render();
  }

  /** From the server's `spark/status` notification. */
  setServerStatus(status: SparkStatus): void {
    this.status = status;
    this.render();
  }

  /** Measured by the client around each answered inline completion request: what the user waited. */
  setLatency(milliseconds: number): void {
    this.latencyMs = milliseconds;
    this.render();
  }

  render(): void {
    const view = describeStatus(this.processState, this.status, this.latencyMs, this.inlineEnabled());
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.action === 'setApiKey' ? 'sparkLsp.setApiKey' : 'sparkLsp.menu';
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
