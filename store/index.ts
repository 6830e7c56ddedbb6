export * from './types.js';
export { decodeRecord, encodeRecord, readingsOfBatch, RECORD_SEPARATOR, type DecodedRecord, type MessageKey } from './reading-codec.js';
import type { Config, Logger } from '../core/index.js';
import { EmbeddedStore } from './embedded/store.js';
import { InfluxStore } from './influx/store.js';
import type { ReadingStore, RejectionLog } from './types.js';

export interface Stores {
  /** Where readings go: InfluxDB when configured, else the embedded store. */
  readonly readings: ReadingStore;
  /** Rejection records always live in the embedded database. */
  readonly rejections: RejectionLog;
  close(): Promise<void>;
}

/** Opens the stores the configuration asks for. */
export async function openStores(config: Config, log: Logger): Promise<Stores> {
  const embedded = await EmbeddedStore.open(config.dataDir);
  let readings: ReadingStore = embedded;
  if (config.influx) {
    try {
      readings = await InfluxStore.open(config.influx, log.child({ stage: 'store', store: 'influx' }));
    } catch (err) {
      await embedded.close();
      throw err;
    }
  }
  return {
    readings,
    rejections: embedded,
    async close() {
      if (readings !== embedded) await readings.close();
      await embedded.close();
    },
  };
}
