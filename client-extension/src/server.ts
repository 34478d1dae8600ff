/**
 * Starts, restarts and stops the language client: picks the interpreter, makes sure the bundled
 * server is installed, and launches `<python> -m spark_lsp serve` over stdio.
 *
 * Starts and restarts are queued one after another, so a burst of setting changes never runs two
 * servers at once.
 */
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { buildEnvironment, planEnvironment, readBundle } from './bootstrap';
import { ApiKeys, keysInSettings, serverEnvironment, serverLaunch } from './launch';
import { choosePython, expandPath, msPythonInterpreter, PythonChoice } from './python';
import { refactorMiddleware } from './refactor';
import { KeyStore, sameKeys } from './secrets';
import { STATUS_NOTIFICATION } from './protocol';
import { SECTION, serverSettings, SettingsObject } from './settings';
import { StatusBar } from './status';
import { SparkStatus } from './statusText';

/** The server's settings object as VS Code currently has it (for a folder, when asked for one). */
export function currentServerSettings(scope?: vscode.Uri): SettingsObject {
  return serverSettings(vscode.workspace.getConfiguration(undefined, scope).inspect(SECTION));
}

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private keysInUse: ApiKeys | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly status: StatusBar,
    private readonly keys: KeyStore,
  ) {}

  get current(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(reason: string): Promise<void> {
    return this.enqueue(async () => {
      this.note(`restarting: ${reason}`);
      await this.doStop();
      await this.doStart();
    });
  }

  /** Restart only if the stored keys differ from the ones the running server got. */
  restartIfKeysChanged(): Promise<void> {
    // Compared inside the queue: the command and SecretStorage's change event both ask, and only
    // the first may restart.
    return this.enqueue(async () => {
      if (sameKeys(this.keysInUse, await this.keys.read())) return;
      this.note('restarting: API key changed');
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Tell the running server its settings changed; it pulls them back through workspace/configuration. */
  async settingsChanged(): Promise<void> {
    const client = this.current;
    if (!client) return;
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: currentServerSettings() },
    });
  }

  dispose(): void {
    void this.stop();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private note(line: string): void {
    // The channel timestamps each line; the prefix tells our lines from the server's stderr.
    this.log.info(`[extension] ${line}`);
  }

  private async choosePython(): Promise<PythonChoice> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const setting = config.get<string>('pythonPath');
    const fromMsPython = setting?.trim() ? undefined : await msPythonInterpreter(vscode.extensions, folder, (l) => this.note(l));
    const choice = choosePython(setting ? expandPath(setting, folder?.fsPath) : undefined, fromMsPython);
    this.note(`python: ${choice.path} (from ${choice.source})`);
    return choice;
  }

  /** The interpreter that runs `-m spark_lsp`: the private environment, or the chosen one itself. */
  private async serverPython(base: PythonChoice): Promise<string> {
    const source = vscode.workspace.getConfiguration(SECTION).get<string>('server.source', 'bundled');
    if (source === 'interpreter') return base.path;
    const bundle = readBundle(this.context.extensionPath);
    if (!bundle) {
      this.note('this build has no bundled server (development build): running the interpreter itself');
      return base.path;
    }
    const storage = this.context.globalStorageUri.fsPath;
    const log = (line: string) => this.note(line);
    const plan = await planEnvironment(base.path, storage, bundle, log);
    if (plan.upToDate) return plan.python;
    this.status.setProcessState('installing');
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Spark: installing the language server ${bundle.manifest.version} (first start)…` },
      () => buildEnvironment(base.path, plan, bundle, log),
    );
  }

  private async doStart(): Promise<void> {
    this.status.setProcessState('starting');
    try {
      const python = await this.serverPython(await this.choosePython());
      const keys = await this.keys.read();
      const extra = vscode.workspace.getConfiguration(SECTION).get<Record<string, unknown>>('env', {});
      if (Object.keys(extra).length) this.note(`environment from "sparkLsp.env": ${Object.keys(extra).join(', ')}`);
      for (const name of keysInSettings(extra)) {
        this.note(`warning: ${name} is set in "sparkLsp.env"; settings files get committed, prefer "Spark: Set … API Key"`);
      }
      const launch = serverLaunch(python, serverEnvironment(process.env, extra, keys));
      const serverOptions: ServerOptions = {
        command: launch.command,
        args: launch.args,
        options: { env: launch.env },
        transport: TransportKind.stdio,
      };
      const client = new LanguageClient(SECTION, 'Spark LSP', serverOptions, this.clientOptions());
      // The client restarts a crashed server by itself (a few times): follow it in the status bar.
      client.onDidChangeState((event) => {
        if (this.client !== client) return;
        if (event.newState === State.Stopped) this.status.setProcessState('stopped');
        else if (event.newState === State.Running) this.status.setProcessState('running');
      });
      this.client = client;
      this.keysInUse = keys;
      // Registered before start: the first status arrives while the server initializes.
      client.onNotification(STATUS_NOTIFICATION, (params: SparkStatus) => this.status.setServerStatus(params));
      await client.start();
      this.status.setProcessState('running');
      this.note(`server started: ${launch.command} ${launch.args.join(' ')}`);
    } catch (error) {
      this.status.setProcessState('failed');
      const message = error instanceof Error ? error.message : String(error);
      this.note(`the server did not start: ${message}`);
      void vscode.window.showErrorMessage(`Spark: the language server did not start. ${message}`, 'Show Logs').then((choice) => {
        if (choice) this.log.show(true);
      });
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      if (client.isRunning()) await client.stop(5000);
      await client.dispose();
    } catch (error) {
      this.note(`stopping the server: ${String(error)}`);
    }
    this.status.setProcessState('stopped');
  }

  private clientOptions(): LanguageClientOptions {
    return {
      // AI suggestions make sense in any text file; schemes limit it to editors, not output panes.
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      initializationOptions: currentServerSettings(),
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: {
        workspace: {
          // The raw `sparkLsp` section holds the extension's own keys too; the server would report
          // them as unknown settings. Answer with the same mapping as initializationOptions.
          configuration: async (params, token, next) => {
            const answers = params.items.some((item) => item.section !== SECTION) ? await next(params, token) : [];
            if (answers instanceof Error) return answers;
            return params.items.map((item, index) =>
              item.section === SECTION
                ? currentServerSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : (answers as unknown[])[index],
            );
          },
        },
        executeCommand: refactorMiddleware(() => this.current),
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const started = performance.now();
          const result = await next(document, position, context, token);
          const items = Array.isArray(result) ? result : result?.items;
          if (!token.isCancellationRequested && items && items.length > 0) this.status.setLatency(performance.now() - started);
          return result;
        },
      },
    };
  }
}
