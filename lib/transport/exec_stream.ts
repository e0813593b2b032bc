/** A child process's stdin/stdout as one byte stream: how `kubectl exec -i … buildctl dial-stdio` carries gRPC. */
import { type ChildProcess, spawn } from "node:child_process";
import { Duplex } from "node:stream";
import { StderrTail } from "./stderr_tail.ts";
import { HelperFailedError } from "./types.ts";

// What `buildctl dial-stdio` says while buildkitd is not listening yet ("error: dial unix /run/buildkit/
// buildkitd.sock: connect: connection refused"): worth retrying, unlike the helper's own errors (no such pod or
// container, unreachable API server, refused ssh key). Tail lines are joined with "; ".
const DAEMON_NOT_YET =
  /(^|; )error: dial unix [^;]*: connect: (connection refused|no such file or directory)/;

export interface ExecStreamOptions {
  /** The child's whole environment (the driver's env, not necessarily this process's). */
  env?: Record<string, string | undefined>;
  /** Each line the child writes on stderr: a debug log, never part of the stream. */
  onStderr?(line: string): void;
  /** Aborting destroys the stream (and so kills the child). */
  signal?: AbortSignal;
}

/** How long a child gets to exit on SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** Spawn `command args` and resolve once it runs; destroying the returned Duplex kills the child. */
export function execStream(command: string, args: string[], opts: ExecStreamOptions = {}): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const env = opts.env && Object.fromEntries(Object.entries(opts.env).filter(([, v]) => v !== undefined));
    const child = spawn(command, args, {
      env: env as NodeJS.ProcessEnv | undefined,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.once("error", (err: NodeJS.ErrnoException) => {
      // Only spawn failures reach here before "spawn"; later errors surface through the stream.
      reject(
        new HelperFailedError(
          err.code === "ENOENT"
            ? `cannot run ${command}: not found on PATH`
            : `cannot run ${command}: ${err.message}`,
        ),
      );
    });
    child.once("spawn", () => {
      const stream = new ChildStream(child, command, opts.onStderr);
      if (opts.signal) {
        if (opts.signal.aborted) stream.destroy(new Error("aborted"));
        else {opts.signal.addEventListener("abort", () => stream.destroy(new Error("aborted")), {
            once: true,
          });}
      }
      resolve(stream);
    });
  });
}

class ChildStream extends Duplex {
  #child: ChildProcess;
  #tail = new StderrTail();
  #carried = false;

  constructor(child: ChildProcess, command: string, onStderr?: (line: string) => void) {
    super();
    this.#child = child;
    const { stdin, stdout, stderr } = child as Required<Pick<ChildProcess, "stdin" | "stdout" | "stderr">>;
    stdout!.on("data", (chunk: Buffer) => {
      this.#carried = true;
      if (!this.push(chunk)) stdout!.pause();
    });
    stderr!.on("data", (chunk: Buffer) => this.#tail.write(chunk, onStderr));
    // EPIPE after the child quit is reported through its exit status below.
    stdin!.on("error", () => {});
    // End the readable side only once the exit status is known, so a failing command is an error, not a clean EOF.
    child.once("close", (code, signal) => {
      this.#tail.flush(onStderr);
      if (this.destroyed) return;
      if (code === 0) this.push(null);
      else {
        const why = code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
        const tail = this.#tail.text();
        const message = `${command} ${why}${tail ? `: ${tail}` : ""}`;
        const permanent = !this.#carried && !DAEMON_NOT_YET.test(tail);
        this.destroy(permanent ? new HelperFailedError(message) : new Error(message));
      }
    });
  }

  override _read(): void {
    this.#child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const stdin = this.#child.stdin!;
    if (stdin.write(chunk)) cb();
    else stdin.once("drain", () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#child.stdin?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      timer.unref?.();
      child.once("exit", () => clearTimeout(timer));
    }
    child.stdin?.destroy();
    child.stdout?.destroy();
    child.stderr?.destroy();
    cb(err);
  }

  // Deno's node:http2 client calls unref()/ref() on its socket unconditionally (runtime-feasibility.md bug 1).
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
}
