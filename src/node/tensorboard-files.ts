// Reading TensorBoard event files back from disk (tests, tools).

import { readFileSync } from 'node:fs';
import { parseEvents, type TbEvent } from '../io/tensorboard/event-reader.js';

/** Reads an event file, verifying every record's CRCs. */
export function readEvents(file: string): TbEvent[] {
  return parseEvents(readFileSync(file), file);
}
