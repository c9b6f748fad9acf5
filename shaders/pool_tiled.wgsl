// The 'workgroup' (tiled) variant of max and average pooling's forward, one channel per lane (f32).
// Kernels, bindings and dispatch: shaders/pool_tiled_body.wgsl.

alias lane_t = f32;
alias idx_t = u32;

//! include pool_tiled_body
