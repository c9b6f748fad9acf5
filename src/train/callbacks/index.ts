// Built-in callbacks, tfjs-style factories: `callbacks.modelCheckpoint({filepath: 'ckpt-{epoch:02d}.safetensors'})`.

import { BackupAndRestore, type BackupAndRestoreArgs } from './backup-and-restore.js';
import { CsvLogger, type CsvLoggerArgs } from './csv-logger.js';
import { EarlyStopping, type EarlyStoppingArgs } from './early-stopping.js';
import { ModelCheckpoint, type ModelCheckpointArgs } from './model-checkpoint.js';
import { ReduceLROnPlateau, type ReduceLROnPlateauArgs } from './reduce-lr.js';
import { TensorBoard, type TensorBoardArgs } from './tensorboard.js';
import { TerminateOnNaN } from './terminate-on-nan.js';

export { Callback, History, CallbackList, type CallbackHooks, type Logs, type CallbackParams } from './callback.js';
export { ProgbarLogger } from './progbar-logger.js';
export { backupFileStore, BACKUP_FILE } from './backup-file-store.js';
export { memoryBackupStore, MemoryBackupStore } from './backup-memory-store.js';
export type { BackupStore } from './backup-store.js';
export type { FitPosition, FitProgress } from './fit-position.js';
export { BackupAndRestore, CsvLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TensorBoard, TerminateOnNaN };
export type { BackupAndRestoreArgs, CsvLoggerArgs, EarlyStoppingArgs, ModelCheckpointArgs, ReduceLROnPlateauArgs, TensorBoardArgs };
export type { MonitorMode } from './monitor.js';

export const modelCheckpoint = (a: ModelCheckpointArgs) => new ModelCheckpoint(a);
export const earlyStopping = (a: EarlyStoppingArgs = {}) => new EarlyStopping(a);
export const reduceLROnPlateau = (a: ReduceLROnPlateauArgs = {}) => new ReduceLROnPlateau(a);
export const csvLogger = (a: CsvLoggerArgs) => new CsvLogger(a);
export const terminateOnNaN = () => new TerminateOnNaN();
export const tensorBoard = (a: TensorBoardArgs = {}) => new TensorBoard(a);
export const backupAndRestore = (a: BackupAndRestoreArgs) => new BackupAndRestore(a);
