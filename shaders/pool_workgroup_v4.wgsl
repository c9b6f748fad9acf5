// The 'workgroup' variant of global average pooling's reduction over vec4 lanes (4 channels, C % 4 == 0).
// Kernel, bindings and dispatch: shaders/pool_workgroup_body.wgsl, with C4 = C / 4 in place of C.

alias lane_t = vec4<f32>;

//! include pool_workgroup_body
