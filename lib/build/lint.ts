/** `--call check`: the Dockerfile frontend's lint subrequest, its result printed as buildx prints it. */
import type { Range, SourceInfo } from "../buildkit/gen/pb/ops_pb.ts";
import { formatSource } from "../progress/format.ts";

interface Location {
  sourceIndex?: number;
  ranges?: { start?: { line?: number }; end?: { line?: number } }[];
}

interface LintResults {
  warnings?: { ruleName: string; url?: string; detail?: string; location?: Location }[];
  sources?: { filename?: string; data?: string }[];
  buildError?: { message: string; location?: Location };
}

/** The check's report, and the error (with its source) when the Dockerfile cannot even be checked. */
export interface LintReport {
  text: string;
  warnings: number;
  error?: { message: string; source: string };
}

/** buildx's rendering of `result.json`; the Dockerfile `filename` is shown as `display` (as the user named it). */
export function formatLint(resultJson: string | undefined, filename: string, display: string): LintReport {
  const r: LintResults = resultJson ? JSON.parse(resultJson) : {};
  const sources = r.sources ?? [];
  const source = (loc: Location | undefined): string => {
    // Go's JSON omits a zero sourceIndex: a location without one points at the first source.
    const s = loc ? sources[loc.sourceIndex ?? 0] : undefined;
    if (!s) return "";
    const name = s.filename === filename ? display : s.filename ?? "";
    const info = { filename: name, data: Buffer.from(s.data ?? "", "base64") } as unknown as SourceInfo;
    const ranges = (loc?.ranges ?? []).map((x) => ({
      start: { line: x.start?.line ?? 0 },
      end: { line: x.end?.line ?? 0 },
    })) as unknown as Range[];
    return formatSource(info, ranges);
  };
  // buildx's order: by line, then rule name.
  const line = (l?: Location) => l?.ranges?.[0]?.start?.line ?? -1;
  const warnings = [...(r.warnings ?? [])].sort((a, b) =>
    line(a.location) - line(b.location) || a.ruleName.localeCompare(b.ruleName)
  );
  const n = warnings.length;
  let text = n
    ? `Check complete, ${n === 1 ? "1 warning has been found!" : `${n} warnings have been found!`}\n`
    : "";
  for (const w of warnings) {
    text += `\nWARNING: ${w.ruleName}${w.url ? ` - ${w.url}` : ""}\n${w.detail ?? ""}\n${source(w.location)}`;
  }
  if (r.buildError) {
    return {
      text,
      warnings: n,
      error: { message: r.buildError.message, source: source(r.buildError.location) },
    };
  }
  if (!n) text += "Check complete, no warnings found.\n";
  return { text, warnings: n };
}
