// onnxruntime-node 1.30 as a benchmark peer: its cpu execution provider, or its webgpu one (Dawn, the same
// adapter as Graft). Inference only.

export type OrtEp = 'cpu' | 'webgpu';
type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

/** One onnxruntime session on one execution provider, fed a single float32 input. */
export interface OrtPeer {
  ep: OrtEp;
  session: Session;
  /** Runs the model on `data` shaped `dims` and returns the first output's values. */
  run(data: Float32Array, dims: number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

let ortModule: Promise<Ort> | null = null;

async function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node') as Promise<Ort>;
  return ortModule;
}

/**
 * Opens `path` on `ep`, or throws with the reason (an execution provider this build of onnxruntime-node lacks,
 * or one that fails to start on this adapter). Nodes the webgpu EP does not implement run on cpu, as ORT decides.
 */
export async function openOrt(path: string, ep: OrtEp): Promise<OrtPeer> {
  const ort = await loadOrt();
  const backends = ort.listSupportedBackends?.().map((b) => b.name) ?? [];
  if (backends.length > 0 && !backends.includes(ep)) {
    throw new Error(`onnxruntime-node ${ort.env.versions.node ?? ''} has no '${ep}' execution provider (it has: ${backends.join(', ')})`);
  }
  const session = await ort.InferenceSession.create(path, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    ep,
    session,
    async run(data, dims) {
      const feed = new ort.Tensor('float32', data, dims);
      const out = await session.run({ [input]: feed });
      const values = out[output]!.data as Float32Array;
      for (const t of Object.values(out)) t.dispose();
      return values;
    },
    release: () => session.release(),
  };
}

/** Runs `fn` for each execution provider; results by peer key (`ort-cpu`, `ort-webgpu`), failures logged and left out. */
export async function ortPeers<T>(
  path: string,
  eps: readonly OrtEp[],
  fn: (peer: OrtPeer) => Promise<T>,
  log: (msg: string) => void,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for (const ep of eps) {
    let peer: OrtPeer | null = null;
    try {
      peer = await openOrt(path, ep);
      out[`ort-${ep}`] = await fn(peer);
    } catch (e) {
      log(`ort-${ep} skipped: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await peer?.release();
    }
  }
  return out;
}
