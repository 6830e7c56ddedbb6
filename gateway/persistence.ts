import type { Client } from 'aedes';
import type { Logger } from '../core/index.js';
import memoryPersistence, { type AedesMemoryPersistence } from 'aedes-persistence';
import { isReadingsTopic } from './routing.js';

/** A PUBACK (or PUBCOMP) as Aedes hands it to its persistence. */
interface Acknowledgement {
  readonly cmd: string;
  readonly messageId?: number | undefined;
}

type Clear = (client: Client, packet: Acknowledgement, cb?: unknown) => unknown;
type ByTopic = (topic: string) => Promise<unknown[]>;

const NO_SUBSCRIPTIONS: Promise<unknown[]> = Promise.resolve([]);

/**
 * The package is CommonJS whose export is the factory itself (as Aedes imports
 * it), while its type declarations describe it as a `default` property.
 */
const createMemoryPersistence = memoryPersistence as unknown as () => AedesMemoryPersistence;

/**
 * The broker's session store (by default Aedes's in-memory one), told of every PUBACK.
 *
 * Aedes clears an acknowledged message from its persistence with
 * `outgoingClearMessageId(client, puback)` for every session kind, while its
 * 'ack' event names the message only when a persistent session had stored it.
 * Hooking the persistence, the broker's documented extension point for
 * sessions, sees the PUBACK's packet identifier [MQTT-2.3.1-6] for clean
 * sessions too, which is what marks a command delivered. Readings skip its
 * subscription match (see `isReadingsTopic`).
 */
export function acknowledgingPersistence(
  onPuback: (client: Client, messageId: number) => void,
  base: object = createMemoryPersistence(),
): AedesMemoryPersistence {
  // Any Aedes persistence (the in-memory one, or a shared one given by the composition root) is hooked the same way.
  const persistence = base as AedesMemoryPersistence;
  const clear = (persistence.outgoingClearMessageId as unknown as Clear).bind(persistence);
  const hooked: Clear = (client, packet, cb) => {
    // Aedes also clears a message it decided not to send (a PUBLISH packet); only a PUBACK is an acknowledgement.
    if (packet.cmd === 'puback' && packet.messageId !== undefined) onPuback(client, packet.messageId);
    return clear(client, packet, cb);
  };
  (persistence as unknown as { outgoingClearMessageId: Clear }).outgoingClearMessageId = hooked;
  // A QoS 1 message is matched against stored subscriptions to queue it for offline sessions;
  // nobody receives readings (see isReadingsTopic), so they skip the match.
  const byTopic = (persistence.subscriptionsByTopic as unknown as ByTopic).bind(persistence);
  (persistence as unknown as { subscriptionsByTopic: ByTopic }).subscriptionsByTopic = (topic) => (isReadingsTopic(topic) ? NO_SUBSCRIPTIONS : byTopic(topic));
  return persistence;
}

/** A subscription as the session store keeps it. */
export interface StoredSubscription {
  readonly topic: string;
  readonly qos: number;
}

/**
 * The subscriptions a resumed session (clean session = 0) got back from the
 * session store. Aedes restores them before CONNACK [MQTT-3.1.2-4] without a
 * 'subscribe' event, so the gateway asks the store; none when it cannot say.
 */
export async function restoredSubscriptions(persistence: AedesMemoryPersistence, client: Client, log: Logger): Promise<StoredSubscription[]> {
  // Promise-based at run time, as Aedes awaits it; the package's declarations still describe the callback form.
  const store = persistence as unknown as { subscriptionsByClient(client: { id: string }): Promise<StoredSubscription[] | null> };
  try {
    return (await store.subscriptionsByClient({ id: client.id })) ?? [];
  } catch (err) {
    log.warn({ err, clientId: client.id }, 'could not read the subscriptions of a resumed session');
    return [];
  }
}
