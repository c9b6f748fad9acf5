// The one table of fused-activation codes, shared by every kernel family's epilogue (shaders/activation.wgsl).

/** Codes of the fused activations; the values match the ACT_* constants in shaders/activation.wgsl. */
export const ACTIVATION = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, silu: 4, tanh: 5 } as const;

/** Every activation a kernel epilogue can fuse. */
export type FusedActivation = keyof typeof ACTIVATION;

