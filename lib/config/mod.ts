/** The contexts file as a library: locate, load, resolve, change. */
export { locateContextsFile } from "./locate.ts";
export { changeContextsFile, loadContextsFile, type LoadedFile } from "./store.ts";
export { markedCurrent, resolveContext } from "./resolve.ts";
export { contextNodes, nodeContext } from "./nodes.ts";
export {
  addNode,
  checkName,
  checkTypes,
  type ContextUpdate,
  createContext,
  importContexts,
  normalizeAddress,
  removeContext,
  removeNode,
  updateContext,
  useContext,
} from "./operations.ts";
export { renderContext, renderFile } from "./render.ts";
export { DEFAULT_CONTEXT, validateText } from "./validate.ts";
export type { Context, ContextsFile, NodeConfig, ResolvedContext } from "./types.ts";
