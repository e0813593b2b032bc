/** What a session service contributes: buildkitd calls back into these over the Control/Session tunnel. */
import type * as grpc from "@grpc/grpc-js";

/** One gRPC service the client serves to buildkitd inside a session (FileSync, Auth, Secrets, …). */
export interface Attachable {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Full method paths (`/moby.filesync.v1.Auth/Credentials`): each is advertised in the Session call's metadata. */
  methods: string[];
}
