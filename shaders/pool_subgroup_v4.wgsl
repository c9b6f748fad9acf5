// The 'subgroup' variant of global average pooling's reduction over vec4 lanes (4 channels, C % 4 == 0).
// Kernel, bindings and dispatch: shaders/pool_subgroup_body.wgsl, with C4 = C / 4 in place of C.

enable subgroups;

alias lane_t = vec4<f32>;

//! include pool_subgroup_body
