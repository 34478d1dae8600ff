/**
 * A minimal LSP client over stdio that starts the server exactly as the extension does: the same
 * launch (src/launch.ts) and the same settings mapping (src/settings.ts), with the capabilities
 * VS Code declares for the features spark-lsp uses.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  ClientCapabilities,
  ConfigurationRequest,
  createProtocolConnection,
  InitializeRequest,
  InitializeResult,
  ProtocolConnection,
  ShowMessageNotification,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { ApiKeys, serverEnvironment, serverLaunch } from '../../src/launch';
import { SparkStatus } from '../../src/statusText';
import { STATUS_NOTIFICATION } from '../../src/protocol';
import { ScopedValues, SECTION, serverSettings } from '../../src/settings';

export const CAPABILITIES: ClientCapabilities = {
  general: { positionEncodings: ['utf-16'] },
  workspace: {
    configuration: true,
    applyEdit: true,
    didChangeConfiguration: { dynamicRegistration: true },
    executeCommand: { dynamicRegistration: true },
    workspaceEdit: { documentChanges: true },
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true },
    inlineCompletion: { dynamicRegistration: true },
    completion: { completionItem: { snippetSupport: true } },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    codeAction: {
      dynamicRegistration: true,
      isPreferredSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
      codeActionLiteralSupport: {
        codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.extract', 'refactor.inline', 'refactor.rewrite', 'source'] },
      },
    },
  },
  window: { showMessage: {}, workDoneProgress: true },
};

export interface Started {
  connection: ProtocolConnection;
  initialize: InitializeResult;
  statuses: SparkStatus[];
  messages: string[];
  applied: unknown[];
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Start `<python> -m spark_lsp serve` with VS Code-style settings scopes and stored keys. */
export async function startServer(
  python: string,
  extraEnv: Record<string, string>,
  keys: ApiKeys,
  scopes: ScopedValues,
  workspaceUri: string | null = null,
): Promise<Started> {
  const launch = serverLaunch(python, serverEnvironment(process.env, extraEnv, keys));
  const child: ChildProcess = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const statuses: SparkStatus[] = [];
  const messages: string[] = [];
  const applied: unknown[] = [];
  connection.onNotification(STATUS_NOTIFICATION, (params: SparkStatus) => {
    statuses.push(params);
  });
  connection.onNotification(ShowMessageNotification.type, (params) => {
    messages.push(params.message);
  });
  // The extension answers the `sparkLsp` section with the same mapping as initializationOptions.
  connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) => (item.section === SECTION ? serverSettings(scopes) : null)));
  connection.onRequest('workspace/applyEdit', (params: unknown) => {
    applied.push(params);
    return { applied: true };
  });
  connection.onRequest('window/workDoneProgress/create', () => null);
  // A degraded tier makes the server ask before a refactor: answer as a user who goes ahead.
  connection.onRequest('window/showMessageRequest', (params: { actions?: { title: string }[] }) => params.actions?.[0] ?? null);
  connection.onNotification('$/progress', () => undefined);
  connection.onNotification('window/logMessage', () => undefined);
  connection.listen();
  const initialize = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: workspaceUri,
    workspaceFolders: workspaceUri ? [{ uri: workspaceUri, name: 'workspace' }] : null,
    capabilities: CAPABILITIES,
    initializationOptions: serverSettings(scopes),
    clientInfo: { name: 'spark-lsp e2e (node)' },
  });
  await connection.sendNotification('initialized', {});
  return {
    connection,
    initialize,
    statuses,
    messages,
    applied,
    stderr: () => stderr,
    stop: async () => {
      try {
        await connection.sendRequest('shutdown');
        await connection.sendNotification('exit');
      } catch {
        // Already gone: the exit check below tells.
      }
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      connection.dispose();
    },
  };
}

/** Poll until `check` holds (the server works asynchronously after `initialized`). */
export async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
