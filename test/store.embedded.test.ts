import { EmbeddedStore } from '../store/embedded/store.js';
import { tempDir } from './helpers/tmp.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('embedded (SQLite in a temporary folder)', async () => {
  const tmp = tempDir();
  const store = await EmbeddedStore.open(tmp.dir);
  return {
    store,
    async close() {
      await store.close();
      tmp.remove();
    },
  };
});
