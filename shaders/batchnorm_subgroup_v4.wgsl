// The 'subgroup' variant of batch norm's per-channel reductions over vec4 lanes (4 channels, C % 4 == 0).
// Kernels, bindings and dispatch: shaders/batchnorm_subgroup_body.wgsl, with C4 = C / 4 in place of C.

enable subgroups;

alias lane_t = vec4<f32>;

fn act_grad_l(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act_grad(z.x), act_grad(z.y), act_grad(z.z), act_grad(z.w));
}

//! include batchnorm_subgroup_body
