// The 'workgroup' (tiled) variant of max and average pooling's forward over vec4 lanes (C % 4 == 0).
// Kernels, bindings and dispatch: shaders/pool_tiled_body.wgsl, with C4 = C / 4 in place of C.

alias lane_t = vec4<f32>;
alias idx_t = vec4<u32>;

//! include pool_tiled_body
