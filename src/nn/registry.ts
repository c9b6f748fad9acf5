// className -> layer class, so that getConfig() output can rebuild layers without the code that made them.

import type { Layer } from './layer.js';

/** A layer class that can be rebuilt from its config. */
export interface LayerClass {
  readonly className: string;
  fromConfig(config: Record<string, unknown>): Layer;
}

const classes = new Map<string, LayerClass>();

/** Registers (or replaces) the class that rebuilds layers of `cls.className`. */
export function registerLayer(cls: LayerClass, className = cls.className): void {
  classes.set(className, cls);
}

/** Rebuilds a layer from `{className, config}`; throws naming an unknown class. */
export function deserializeLayer(spec: { className: string; config: Record<string, unknown> }): Layer {
  const cls = classes.get(spec.className);
  if (!cls) throw new Error(`Graft: unknown layer class '${spec.className}' (known: ${[...classes.keys()].sort().join(', ')})`);
  return cls.fromConfig(spec.config);
}
