// Workgroup-memory tiled conv2d (implicit GEMM) with f16 tiles and f32 accumulation (needs 'shader-f16'): operands
// are rounded to f16 when staged, so results match a float64 convolution of f16-rounded inputs, not float32
// tolerance. Bindings, stages and dispatch: shaders/conv2d_tiled_body.wgsl.

enable f16;

alias tile_t = f16;

//! include conv2d_tiled_body
