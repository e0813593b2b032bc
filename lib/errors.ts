/** Errors that reach the user as one line; anything else is a bug and keeps its stack. */

/** A failure the user can act on: printed as one line, exit code 1. */
export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UserError";
  }
}

/** Bad command-line usage (unknown flag, missing required flag, bad flag value): printed as envd prints it
 * (`error: …`, not a log line), exit code 1 as envd's. */
export class UsageError extends UserError {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A command name the tree does not have; `where` is the path it was looked up under (empty at the top). */
export class UnknownCommandError extends UserError {
  constructor(readonly command: string, readonly where: string) {
    // envd (urfave/cli) says "No help topic for 'x'"; ours adds what was meant, after envd's text.
    super(`No help topic for '${command}': unknown command "${command}"${where ? ` for "${where}"` : ""}`);
    this.name = "UnknownCommandError";
  }
}

/** The run was interrupted (SIGINT): exit code 130. */
export class InterruptedError extends UserError {
  override readonly exitCode: number = 130;
  constructor(message = "interrupted") {
    super(message);
    this.name = "InterruptedError";
  }
}

/** Prefix a cause with what was being done, keeping the user-facing class. */
export function wrapError(what: string, err: unknown): UserError {
  const msg = err instanceof Error ? err.message : String(err);
  const out = err instanceof UsageError
    ? new UsageError(`${what}: ${msg}`, err.command)
    : new UserError(`${what}: ${msg}`, { cause: err });
  return out;
}

/** One line, whatever the message held (stack traces and newlines never reach the user). */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, " ").trim();
}
