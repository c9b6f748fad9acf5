// The 'workgroup' variant of global average pooling's reduction, one channel per lane (f32).
// Kernel, bindings and dispatch: shaders/pool_workgroup_body.wgsl.

alias lane_t = f32;

//! include pool_workgroup_body
