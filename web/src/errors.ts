// Errors the page explains: each kind gets a message that says what happened, what is kept, and what to do.

import type { ErrorKind } from './messages.js';

/** An error with the kind the page shows it as. */
export class PageError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
    this.name = 'PageError';
  }
}

/** Whether `e` is the browser's storage-quota error (OPFS writes, IndexedDB). */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || /quota/i.test(e instanceof Error ? e.message : String(e));
}

const text = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The kind and message of an error that happened while doing `what` (e.g. 'saving the checkpoint of epoch 3'). */
export function explain(e: unknown, what: string): { kind: ErrorKind; message: string } {
  if (e instanceof PageError) return { kind: e.kind, message: e.message };
  if (isQuotaError(e)) {
    return {
      kind: 'quota',
      message: `The browser's storage is full: ${what} failed (${text(e)}). Training stopped; everything trained so far is ` +
        'still in memory: download it now (.safetensors or .onnx). To make room, press "Forget the stored run" or clear ' +
        "this site's data, then train on.",
    };
  }
  return { kind: 'other', message: `${what} failed: ${text(e)}` };
}
