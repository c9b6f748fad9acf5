// Workgroup-memory tiled conv2d (implicit GEMM) with f32 tiles: see shaders/conv2d_tiled_body.wgsl for bindings,
// stages and dispatch.

alias tile_t = f32;

//! include conv2d_tiled_body
