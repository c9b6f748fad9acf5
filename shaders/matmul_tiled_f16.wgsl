// Workgroup-memory tiled matmul with f16 tiles and f32 accumulation (needs 'shader-f16'): inputs are rounded to
// f16 when staged, so results match a float64 product of f16-rounded inputs, not float32 tolerance.
// Bindings and dispatch: shaders/matmul_tiled_body.wgsl.

enable f16;

alias tile_t = f16;

//! include matmul_tiled_body
