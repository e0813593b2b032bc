/** The few Docker operations the lifecycle needs, over dockerode; an interface so the state machine is testable. */
import type Docker from "dockerode";

/** What the lifecycle reads from `docker inspect`. */
export interface ContainerState {
  status: string;
  running: boolean;
  exitCode: number;
  error: string;
  labels: Record<string, string>;
  image: string;
  /** Named volumes mounted, by destination. */
  volumes: Record<string, string>;
}

export interface DockerOps {
  /** null when there is no such container. */
  inspect(name: string): Promise<ContainerState | null>;
  create(spec: Docker.ContainerCreateOptions): Promise<void>;
  putArchive(name: string, tar: Uint8Array): Promise<void>;
  start(name: string): Promise<void>;
  unpause(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  remove(name: string): Promise<void>;
  /** Pulls `image` unless present; progress lines go to `progress`. Returns true when it pulled. */
  ensureImage(image: string, progress: (line: string) => void): Promise<boolean>;
  /** Creates the volume unless it exists; returns true when it created it. */
  ensureVolume(name: string, labels: Record<string, string>): Promise<boolean>;
  /** Returns false when there was no such volume. */
  removeVolume(name: string): Promise<boolean>;
  /** The last `lines` lines of the container's output. */
  logs(name: string, lines: number): Promise<string>;
  /** Identifies the Docker daemon and its kernel (`ID@kernel`), for remembering what it refuses. */
  daemonKey(): Promise<string>;
}

/** Docker API errors carry the HTTP status. */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/** Docker's message without dockerode's `(HTTP code 500) server error - ` prefix and JSON wrapping. */
export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  const msg = e?.json?.message ?? e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
}

// A non-TTY container's log is framed: 8-byte header (stream, 0, 0, 0, big-endian length), then the payload.
function demux(buf: Buffer): string {
  let out = "";
  for (let at = 0; at + 8 <= buf.length;) {
    const len = buf.readUInt32BE(at + 4);
    out += buf.subarray(at + 8, at + 8 + len).toString("utf8");
    at += 8 + len;
  }
  return out;
}

/** DockerOps over a dockerode client. */
export function dockerOps(docker: Docker): DockerOps {
  return {
    async inspect(name) {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker.getContainer(name).inspect();
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
      const volumes: Record<string, string> = {};
      for (const m of info.Mounts ?? []) if (m.Type === "volume" && m.Name) volumes[m.Destination] = m.Name;
      return {
        status: info.State.Status,
        running: info.State.Running,
        exitCode: info.State.ExitCode,
        error: info.State.Error ?? "",
        labels: info.Config.Labels ?? {},
        image: info.Config.Image,
        volumes,
      };
    },
    async create(spec) {
      await docker.createContainer(spec);
    },
    async putArchive(name, tar) {
      await docker.getContainer(name).putArchive(Buffer.from(tar), { path: "/" });
    },
    async start(name) {
      await docker.getContainer(name).start();
    },
    async unpause(name) {
      await docker.getContainer(name).unpause();
    },
    async stop(name) {
      try {
        await docker.getContainer(name).stop();
      } catch (err) {
        if (statusOf(err) !== 304) throw err; // 304: already stopped
      }
    },
    async remove(name) {
      try {
        await docker.getContainer(name).remove({ force: true });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },
    async ensureImage(image, progress) {
      try {
        await docker.getImage(image).inspect();
        return false;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()), (e: {
          status?: string;
          progress?: string;
          id?: string;
          error?: string;
        }) => {
          if (e.error) return;
          progress([e.id, e.status, e.progress].filter(Boolean).join(" "));
        });
      });
      return true;
    },
    async ensureVolume(name, labels) {
      try {
        await docker.getVolume(name).inspect();
        return false;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      await docker.createVolume({ Name: name, Labels: labels });
      return true;
    },
    async removeVolume(name) {
      try {
        await docker.getVolume(name).remove();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },
    async daemonKey() {
      const info = await docker.info() as { ID?: string; KernelVersion?: string };
      return `${info.ID ?? "?"}@${info.KernelVersion ?? "?"}`;
    },
    async logs(name, lines) {
      const buf = await docker.getContainer(name).logs({
        stdout: true,
        stderr: true,
        tail: lines,
        follow: false,
      });
      return demux(Buffer.isBuffer(buf) ? buf : Buffer.from(buf as unknown as string));
    },
  };
}
