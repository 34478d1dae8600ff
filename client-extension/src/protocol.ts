/**
 * spark-lsp's own protocol pieces the client uses: custom methods and the refactor command's
 * arguments. No `vscode` import, so the end-to-end tests speak it exactly as the extension does.
 */

/** Request: counters, latency percentiles and tier health. */
export const STATS_REQUEST = 'spark/stats';
/** Notification from the server: each tier's health. */
export const STATUS_NOTIFICATION = 'spark/status';
/** `workspace/executeCommand` command for an instructed refactor (GPU tier). */
export const REFACTOR_COMMAND = 'spark.refactor';

export interface Position {
  line: number;
  character: number;
}

export interface RefactorArguments {
  uri: string;
  range: { start: Position; end: Position };
  instruction: string;
}

/** The single argument of `spark.refactor`; the range is the selection as it is (empty = cursor).
 * An empty instruction is left out: the client asks the user for it before the request is sent. */
export function refactorArguments(uri: string, range: RefactorArguments['range'], instruction: string): RefactorArguments {
  return { uri, range, instruction: instruction.trim() };
}
