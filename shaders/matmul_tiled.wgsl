// Workgroup-memory tiled matmul with f32 tiles: see shaders/matmul_tiled_body.wgsl for bindings and dispatch.

alias tile_t = f32;

//! include matmul_tiled_body
