/**
 * Runtime warnings (Node's DeprecationWarning from a dependency's url.parse(), experimental-API notes…) are for
 * developers, not users: none reaches stderr. With --debug each is printed as one debug line instead.
 */

/** Route every process warning to `debug` (or drop it), replacing the runtime's printer. */
export function quietRuntimeWarnings(debug?: (line: string) => void): void {
  process.removeAllListeners("warning");
  process.on("warning", (w: Error) => debug?.(`runtime warning: ${w.name}: ${w.message}`));
}
