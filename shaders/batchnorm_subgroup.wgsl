// The 'subgroup' variant of batch norm's per-channel reductions, one channel per invocation lane (f32).
// Kernels, bindings and dispatch: shaders/batchnorm_subgroup_body.wgsl.

enable subgroups;

alias lane_t = f32;

fn act_grad_l(z: f32) -> f32 {
  return act_grad(z);
}

//! include batchnorm_subgroup_body
