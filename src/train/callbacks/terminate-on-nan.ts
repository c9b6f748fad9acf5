// TerminateOnNaN (Keras): stops fit at the first batch whose loss is NaN or infinite.

import { Callback, type Logs } from './callback.js';

export class TerminateOnNaN extends Callback {
  override async onBatchEnd(batch: number, logs: Logs): Promise<void> {
    const loss = logs.loss;
    if (loss !== undefined && !Number.isFinite(loss)) {
      console.log(`Batch ${batch}: Invalid loss, terminating training`);
      this.trainedModel.stopTraining = true;
    }
  }
}
