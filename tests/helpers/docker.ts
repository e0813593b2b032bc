/** Small Docker checks for e2e tests. */
import type Docker from "dockerode";

/** The command lines of the processes running in a container (`docker top`). */
export async function runningCommands(docker: Docker, container: string): Promise<string[]> {
  const top = await docker.getContainer(container).top() as { Titles: string[]; Processes: string[][] };
  const col = top.Titles.indexOf("CMD");
  return top.Processes.map((p) => p[col]);
}

/** Poll `check` every 50 ms until it is true; fail naming `what` after `ms`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 10_000,
): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
