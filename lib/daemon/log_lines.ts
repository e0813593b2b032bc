/** Picking the lines of a daemon's log that explain a failure, for a one-line error. */

// buildkitd/rootlesskit errors, urfave/cli usage errors and Go panics; a usage dump after them is noise.
const TELLING = /level=(error|fatal)|\berror\b|incorrect usage|flag provided but not defined|panic:|failed/i;

/** The last `n` distinct telling lines of `lines` (errors, usage errors, panics), else its last `n` lines; trimmed. */
export function tellingLines(lines: string[], n: number): string[] {
  const all = lines.map((l) => l.trim()).filter(Boolean);
  // A daemon restarted in a loop repeats itself: each line once, at its last place.
  const picked = all.filter((l, i) => TELLING.test(l) && all.lastIndexOf(l) === i);
  return (picked.length ? picked : all).slice(-n);
}
