/**
 * SSH agent forwarding (`--ssh`, RUN --mount=type=ssh): buildkitd asks CheckAgent for an id, then opens one
 * ForwardAgent stream per connection inside the build, whose bytes we pipe to and from that id's agent socket.
 */
import {
  type ServerCall,
  type ServiceImpl,
  Status,
  type UnaryCall,
  type UnaryCallback,
} from "../../h2/grpc_server.ts";
import { connect } from "node:net";
import type { BytesMessage, CheckAgentRequest } from "../gen/moby/sshforward/v1/ssh_pb.ts";
import { SSH } from "../gen/moby/sshforward/v1/ssh_pb.ts";
import { grpcService, methodPath } from "../grpc_service.ts";
import type { Attachable } from "./types.ts";

/** buildkitd's metadata key naming the agent of a ForwardAgent call. */
const SSH_ID_HEADER = "buildkit.ssh.id";

/** Serve `agents` (id → agent socket path) as moby.sshforward.v1.SSH. */
export function sshAttachable(
  agents: Record<string, string>,
  log: (m: string) => void = () => {},
): Attachable {
  const implementation: ServiceImpl = {
    checkAgent(call: UnaryCall<CheckAgentRequest>, cb: UnaryCallback<unknown>) {
      const id = call.request.ID || "default";
      if (agents[id] === undefined) {
        cb({ code: Status.NOT_FOUND, details: `unset ssh forward key ${id}` }, null);
      } else cb(null, {});
    },
    forwardAgent(call: ServerCall<BytesMessage>) {
      const id = call.metadata.get(SSH_ID_HEADER).map(String)[0] || "default";
      const path = agents[id];
      if (path === undefined) {
        call.destroy(
          Object.assign(new Error(`unset ssh forward key ${id}`), { code: Status.NOT_FOUND }),
        );
        return;
      }
      const sock = connect(path);
      log(`ssh: forwarding agent ${id} (${path})`);
      sock.on("data", (data: Buffer) => {
        if (!call.write({ data })) {
          sock.pause();
          call.once("drain", () => sock.resume());
        }
      });
      sock.on("end", () => call.end());
      sock.on("error", (err) => {
        log(`ssh: agent ${id}: ${err.message}`);
        call.destroy(
          Object.assign(new Error(`ssh agent ${path}: ${err.message}`), { code: Status.UNAVAILABLE }),
        );
      });
      call.on("data", (m: BytesMessage) => {
        if (!sock.write(m.data)) {
          call.pause();
          sock.once("drain", () => call.resume());
        }
      });
      call.on("end", () => sock.end());
      call.on("error", () => sock.destroy());
      call.on("cancelled", () => sock.destroy());
    },
  };
  return { definition: grpcService(SSH), implementation, methods: SSH.methods.map(methodPath) };
}
