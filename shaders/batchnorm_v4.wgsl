// The vec4 forms of batch norm's per-element and partial-reduction kernels (C % 4 == 0): 4 channels per invocation.
// Kernels, bindings and dispatch: shaders/batchnorm.wgsl and batchnorm_lanes.wgsl, with C4 = C / 4 in place of C.

alias lane_t = vec4<f32>;

fn act_l(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act(z.x), act(z.y), act(z.z), act(z.w));
}

fn act_grad_l(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act_grad(z.x), act_grad(z.y), act_grad(z.z), act_grad(z.w));
}

//! include batchnorm_lanes
