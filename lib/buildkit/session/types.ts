/** What a session service contributes: buildkitd calls back into these over the Control/Session tunnel. */
import type { ServiceDef, ServiceImpl } from "../../h2/grpc_server.ts";

/** One gRPC service the client serves to buildkitd inside a session (FileSync, Auth, Secrets, …). */
export interface Attachable {
  definition: ServiceDef;
  implementation: ServiceImpl;
  /** Full method paths (`/moby.filesync.v1.Auth/Credentials`): each is advertised in the Session call's metadata. */
  methods: string[];
}
