/**
 * Instructed refactors: `workspace/executeCommand` `spark.refactor` with `{uri, range, instruction}`.
 *
 * The server offers "Refactor with AI…" as a code action whose command has no instruction yet; the
 * client asks for it. So the instruction prompt sits in the client's executeCommand middleware,
 * and "Spark: Refactor…" simply runs the same command for the selection.
 */
import * as vscode from 'vscode';
import { LanguageClient, WorkspaceEdit } from 'vscode-languageclient/node';
import { REFACTOR_COMMAND, refactorArguments, RefactorArguments } from './protocol';

type Next = (command: string, args: unknown[]) => vscode.ProviderResult<unknown>;

export function serverOffers(client: LanguageClient | undefined, command: string): boolean {
  return client?.initializeResult?.capabilities.executeCommandProvider?.commands.includes(command) ?? false;
}

function isWorkspaceEdit(value: unknown): value is WorkspaceEdit {
  return typeof value === 'object' && value !== null && ('changes' in value || 'documentChanges' in value);
}

async function askInstruction(emptyRange: boolean): Promise<string | undefined> {
  const instruction = await vscode.window.showInputBox({
    title: 'Spark: Refactor',
    prompt: emptyRange ? 'What should change around the cursor?' : 'What should change in the selection?',
    placeHolder: 'e.g. extract the loop body into a function',
    ignoreFocusOut: true,
  });
  return instruction?.trim() || undefined;
}

/** executeCommand middleware: fills in the instruction of `spark.refactor` and applies a returned edit. */
export function refactorMiddleware(getClient: () => LanguageClient | undefined) {
  return async (command: string, args: unknown[], next: Next): Promise<unknown> => {
    if (command !== REFACTOR_COMMAND) return next(command, args);
    const argument = (args[0] ?? {}) as Partial<RefactorArguments>;
    let instruction = argument.instruction?.trim();
    if (!instruction) {
      const range = argument.range;
      const empty = !range || (range.start.line === range.end.line && range.start.character === range.end.character);
      instruction = await askInstruction(empty);
      if (!instruction) return undefined;
    }
    // The server reports its own (cancellable) progress; this only keeps a spinner in the status bar.
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Spark: refactoring' }, async () =>
      next(command, [{ ...argument, instruction }, ...args.slice(1)]),
    );
    // Servers usually apply the edit themselves (workspace/applyEdit); one that returns it instead works too.
    const client = getClient();
    if (client && isWorkspaceEdit(result)) await vscode.workspace.applyEdit(await client.protocol2CodeConverter.asWorkspaceEdit(result));
    return result;
  };
}

/** "Spark: Refactor…": the same command for the selection (empty = the cursor; the server decides the reach). */
export async function refactorSelection(client: LanguageClient | undefined): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Spark: open a file and select the code to refactor.');
    return;
  }
  if (!client) {
    void vscode.window.showWarningMessage('Spark: the language server is not running.');
    return;
  }
  if (!serverOffers(client, REFACTOR_COMMAND)) {
    void vscode.window.showWarningMessage(`Spark: this server version does not offer refactors (no "${REFACTOR_COMMAND}" command).`);
    return;
  }
  const { uri, range } = refactorArguments(
    client.code2ProtocolConverter.asUri(editor.document.uri),
    client.code2ProtocolConverter.asRange(editor.selection),
    '',
  );
  try {
    await vscode.commands.executeCommand(REFACTOR_COMMAND, { uri, range });
  } catch (error) {
    void vscode.window.showErrorMessage(`Spark: the refactor failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
