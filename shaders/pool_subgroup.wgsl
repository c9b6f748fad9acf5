// The 'subgroup' variant of global average pooling's reduction, one channel per lane (f32).
// Kernel, bindings and dispatch: shaders/pool_subgroup_body.wgsl.

enable subgroups;

alias lane_t = f32;

//! include pool_subgroup_body
