/** Real Go gob bytes for tests: tests/fixtures/envd_gob built once per run (encoding/gob itself, not a model of it). */
import { goFixture, runGoFixture } from "./go_fixture.ts";
/** A types.EnvdContext as the fixture's JSON input (RunnerAddress null = nil pointer). */
export interface GoContext {
  Name: string;
  Builder: string;
  BuilderAddress: string;
  Runner: string;
  RunnerAddress: string | null;
}
export interface GoEnvdContext {
  Current: string;
  Contexts: GoContext[] | null;
}

/** The fixture's binary (built once per run). */
export function fixtureBin(): Promise<string> {
  return goFixture("envd_gob");
}

/** Gob-encodes `value` with Go; mode "extra" adds unknown fields, "reordered" permutes the known ones. */
export async function gob(value: GoEnvdContext, mode = "plain"): Promise<Uint8Array> {
  return await runGoFixture("envd_gob", JSON.stringify(value), [mode]);
}
