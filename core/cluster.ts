/** One gateway process of a cluster, as `GET /v1/health` names it. */
export interface ClusterNode {
  /** TESTBED_NODE_ID: `<hostname>-<pid>` unless set. */
  readonly id: string;
  /** When this process started, RFC 3339 UTC (known for the node that answers). */
  readonly startedAt?: string | undefined;
  /** Devices connected to it, as its last heartbeat said (nodes sharing Redis). */
  readonly connections?: number | undefined;
}

/** Where the state that nodes share lives. */
export type CoordinationKind = 'none' | 'redis';
/** Where the registry lives. */
export type RegistryKind = 'sqlite' | 'postgres';

/** What a node knows of the cluster it is part of. */
export interface ClusterState {
  /** The nodes this node knows to be up, itself included. */
  readonly nodes: readonly ClusterNode[];
  /** `none`: this node shares nothing with others beyond the registry and the reading store. */
  readonly coordination: CoordinationKind;
  readonly registry: RegistryKind;
}

/**
 * The cluster as one node sees it. The local view knows only its own node; a
 * coordinated view (nodes announcing themselves in a shared engine) lists the others.
 */
export interface ClusterView {
  /** This node. */
  readonly node: ClusterNode;
  /** The cluster now; asynchronous because a coordinated view asks a shared engine. */
  state(): Promise<ClusterState>;
}

/** A view of a node that shares no coordination engine: it is the only node it knows. */
export function localClusterView(node: ClusterNode, registry: RegistryKind): ClusterView {
  const state: ClusterState = Object.freeze({ nodes: Object.freeze([node]), coordination: 'none', registry });
  return { node, state: () => Promise.resolve(state) };
}
