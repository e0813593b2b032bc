/**
 * `.dockerignore` semantics as moby/patternmatcher defines them (the daemon reads the file and sends its
 * patterns; the client filters its walk with them): Go path cleaning, `*`, `?`, `[...]`, `**` in any position,
 * `!` re-inclusion where the last matching pattern wins, and a parent directory's match covering its children.
 */

/** A pattern that Go's filepath.Match would reject (`[`, `[]a]`, a trailing `\`, ...). */
export class PatternError extends Error {
  constructor(readonly pattern: string, reason: string) {
    super(`invalid pattern "${pattern}": ${reason}`);
    this.name = "PatternError";
  }
}

/** Go's path.Clean: the shortest equivalent slash path (`a/./b/../c/` → `a/c`, `` → `.`, `/..` → `/`). */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/**
 * The patterns of an ignore file, as moby's ignorefile.ReadAll returns them: BOM stripped, `#` lines skipped
 * (only when `#` is the first character), whitespace trimmed, paths cleaned, leading `/` dropped, `!` kept.
 */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let line of lines) {
    line = line.replace(/\r$/, "");
    if (line.startsWith("#")) continue;
    let pattern = line.trim();
    if (pattern === "") continue;
    const invert = pattern[0] === "!";
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern[0] === "/") pattern = pattern.slice(1);
    }
    out.push(invert ? "!" + pattern : pattern);
  }
  return out;
}

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

/** One cleaned pattern; `exclusion` is a `!` re-inclusion. */
export class Pattern {
  readonly type: MatchType;
  readonly #regexp?: RegExp;

  constructor(readonly text: string, readonly exclusion: boolean) {
    const compiled = compile(text);
    this.type = compiled.type;
    this.#regexp = compiled.regexp;
  }

  /** Whether the slash path matches this pattern on its own (no parent logic). */
  match(path: string): boolean {
    switch (this.type) {
      case "exact":
        return path === this.text;
      case "prefix":
        return path.startsWith(this.text.slice(0, -2));
      case "suffix": {
        const suffix = this.text.slice(2);
        // `**/foo` also matches `foo` itself.
        return path.endsWith(suffix) || (suffix[0] === "/" && path === suffix.slice(1));
      }
      case "regexp":
        return this.#regexp!.test(path);
    }
  }
}

/** Per-pattern results for a directory, handed to its children (patternmatcher's MatchInfo). */
export type MatchInfo = boolean[] | undefined;

/** A list of patterns where the last one matching a path (or one of its parent directories) decides. */
export class PatternMatcher {
  readonly patterns: Pattern[] = [];
  /** Whether any pattern is a `!` re-inclusion. */
  readonly exclusions: boolean = false;

  /** Throws PatternError for a bad pattern or a lone `!`. */
  constructor(patterns: readonly string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === "") continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p[0] === "!") {
        if (p.length === 1) throw new PatternError(p, 'illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
        this.exclusions = true;
      }
      validateGlob(p);
      this.patterns.push(new Pattern(p, exclusion));
    }
  }

  /** Whether `file` (a slash path) or one of its parents matches, and no later `!` pattern re-includes it. */
  matchesOrParentMatches(file: string): boolean {
    let matched = false;
    const parents = parentPrefixes(file);
    for (const pattern of this.patterns) {
      // An inclusion cannot change a match, nor an exclusion a non-match.
      if (pattern.exclusion !== matched) continue;
      const match = pattern.match(file) || parents.some((p) => pattern.match(p));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * The same answer as matchesOrParentMatches, using the parent directory's per-pattern results instead of
   * re-matching every ancestor; returns this path's results for its own children.
   */
  matchesUsingParentResults(file: string, parent: MatchInfo): { matched: boolean; info: boolean[] } {
    let matched = false;
    const info = new Array<boolean>(this.patterns.length).fill(false);
    let parents: string[] | undefined;
    this.patterns.forEach((pattern, i) => {
      let match = parent ? parent[i] : false;
      if (!match) {
        if (pattern.exclusion !== matched) return;
        match = pattern.match(file);
        if (!match && !parent) {
          parents ??= parentPrefixes(file);
          match = parents.some((p) => pattern.match(p));
        }
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    });
    return { matched, info };
  }
}

// `a/b/c` → [`a`, `a/b`]: the ancestors a pattern may match on behalf of the path.
function parentPrefixes(file: string): string[] {
  const out: string[] = [];
  for (let i = file.indexOf("/"); i !== -1; i = file.indexOf("/", i + 1)) out.push(file.slice(0, i));
  return out;
}

// patternmatcher's compile: exact/prefix/suffix fast paths, else a regexp where `*` and `?` stop at `/`.
function compile(pattern: string): { type: MatchType; regexp?: RegExp } {
  let re = "^";
  let type: MatchType = "exact";
  const chars = [...pattern];
  let inClass = false;
  for (let pos = 0, i = 0; pos < chars.length; i++) {
    const ch = chars[pos++];
    if (ch === "*") {
      if (chars[pos] === "*") {
        pos++;
        // `**/` is the same as `**`.
        if (chars[pos] === "/") pos++;
        if (pos >= chars.length) {
          // A trailing `**` accepts everything, as .gitignore does.
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (i === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (".+()|{}$".includes(ch)) {
      re += "\\" + ch;
    } else if (ch === "\\") {
      if (pos < chars.length) {
        re += escapeNext(chars[pos++], inClass);
        type = "regexp";
      } else {
        re += "\\\\";
      }
    } else if (ch === "[") {
      inClass = true;
      re += ch;
      type = "regexp";
    } else if (ch === "]") {
      // A `]` outside a class is a literal to Go's regexp but an error to a `u`-mode JS one.
      re += inClass ? ch : "\\]";
      inClass = false;
      type = "regexp";
    } else {
      re += ch;
    }
  }
  if (type !== "regexp") return { type };
  try {
    return { type, regexp: new RegExp(re + "$", "u") };
  } catch (err) {
    throw new PatternError(pattern, (err as Error).message);
  }
}

// A backslash-escaped character as a `u`-mode JS regexp accepts it, meaning what Go's regexp makes of `\c`.
function escapeNext(ch: string, inClass: boolean): string {
  if ("dDwWsS".includes(ch)) return "\\" + ch;
  if ("^$\\.*+?()[]{}|/".includes(ch) || (inClass && ch === "-")) return "\\" + ch;
  return ch;
}

// Go's filepath.Match syntax check, which patternmatcher.New runs on every pattern (the name is irrelevant:
// Go validates the whole pattern even after a mismatch).
function validateGlob(pattern: string): void {
  const bad = (why: string) => new PatternError(pattern, why);
  const chars = [...pattern];
  let i = 0;
  // One escaped-or-plain class member; Go's getEsc.
  const member = (): void => {
    if (i >= chars.length || chars[i] === "-" || chars[i] === "]") {
      throw bad("syntax error in character class");
    }
    if (chars[i] === "\\") {
      i++;
      if (i >= chars.length) throw bad("trailing backslash in character class");
    }
    i++;
    if (i >= chars.length) throw bad("unterminated character class");
  };
  while (i < chars.length) {
    const ch = chars[i];
    if (ch === "[") {
      i++;
      if (chars[i] === "^") i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === "]" && ranges > 0) {
          i++;
          break;
        }
        member();
        if (chars[i] === "-") {
          i++;
          member();
        }
        ranges++;
      }
    } else if (ch === "\\") {
      i++;
      if (i >= chars.length) throw bad("trailing backslash");
      i++;
    } else {
      i++;
    }
  }
}

/** Go's filepath.Match for one name: `*` and `?` never match `/`; throws PatternError on a bad pattern. */
export function matchGlob(pattern: string, name: string): boolean {
  validateGlob(pattern);
  let re = "^";
  let inClass = false;
  const chars = [...pattern];
  for (let pos = 0; pos < chars.length;) {
    const ch = chars[pos++];
    if (inClass) {
      if (ch === "\\") re += escapeNext(chars[pos++], true);
      else if (ch === "]") {
        inClass = false;
        re += ch;
      } else re += ch === "[" ? "\\[" : ch;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      inClass = true;
      re += ch;
    } else if (ch === "\\") re += escapeLiteral(chars[pos++]);
    else re += escapeLiteral(ch);
  }
  return new RegExp(re + "$", "u").test(name);
}

function escapeLiteral(ch: string): string {
  return "^$\\.*+?()[]{}|/".includes(ch) ? "\\" + ch : ch;
}

/** Whether a path component holds glob characters (fsutil's containsWildcards: `\` escapes the next one). */
export function hasWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === "\\") i++;
    else if (ch === "*" || ch === "?" || ch === "[") return true;
  }
  return false;
}
