// Browsers: the tuner's choices in IndexedDB (database 'graft', object store 'tune', one record 'choices').

import { encodeTuneChoices, parseTuneChoices, type TuneStore } from '../gpu/tuner.js';

const DB = 'graft';
const STORE = 'tune';
const KEY = 'choices';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error(`Graft tuner: IndexedDB '${DB}': ${r.error?.message ?? 'request failed'}`));
  });
}

async function open(idb: IDBFactory): Promise<IDBDatabase> {
  const r = idb.open(DB, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE);
  return request(r);
}

/** A TuneStore in IndexedDB (`indexedDB` from the page or worker unless given). */
export function indexedDbTuneStore(idb: IDBFactory = globalThis.indexedDB): TuneStore {
  return {
    async load() {
      const db = await open(idb);
      try {
        const bytes = (await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY))) as Uint8Array | undefined;
        return bytes ? parseTuneChoices(bytes, `IndexedDB ${DB}/${STORE}`) : {};
      } finally {
        db.close();
      }
    },
    async save(choices) {
      const db = await open(idb);
      try {
        await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(encodeTuneChoices(choices), KEY));
      } finally {
        db.close();
      }
    },
  };
}
