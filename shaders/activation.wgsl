// The one definition of every fused activation, included by each kernel family that applies one
// (`//! include activation`): matmul, conv2d, depthwise_conv2d, batchnorm, elementwise.
// Codes match ACTIVATION in src/ops/activation.ts: 0 linear, 1 relu, 2 relu6, 3 sigmoid, 4 silu, 5 tanh.

const ACT_LINEAR: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_RELU6: u32 = 2u;
const ACT_SIGMOID: u32 = 3u;
const ACT_SILU: u32 = 4u;
const ACT_TANH: u32 = 5u;

fn sigmoid(x: f32) -> f32 {
  // NOTE: split by sign so exp never overflows.
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

fn tanh_stable(x: f32) -> f32 {
  // NOTE: the builtin tanh returns NaN for large |x| on some drivers.
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

fn activate(x: f32, act: u32) -> f32 {
  switch act {
    case ACT_RELU: { return max(x, 0.0); }
    case ACT_RELU6: { return clamp(x, 0.0, 6.0); }
    case ACT_SIGMOID: { return sigmoid(x); }
    case ACT_SILU: { return x * sigmoid(x); }
    case ACT_TANH: { return tanh_stable(x); }
    default: { return x; }
  }
}

fn activate4(v: vec4<f32>, act: u32) -> vec4<f32> {
  return vec4<f32>(activate(v.x, act), activate(v.y, act), activate(v.z, act), activate(v.w, act));
}

// act'(z) from the pre-activation z.
fn activate_grad(z: f32, act: u32) -> f32 {
  switch act {
    case ACT_RELU: { return select(0.0, 1.0, z > 0.0); }
    case ACT_RELU6: { return select(0.0, 1.0, z > 0.0 && z < 6.0); }
    case ACT_SIGMOID: { let s = sigmoid(z); return s * (1.0 - s); }
    case ACT_SILU: { let s = sigmoid(z); return s * (1.0 + z * (1.0 - s)); }
    case ACT_TANH: { let t = tanh_stable(z); return 1.0 - t * t; }
    default: { return 1.0; }
  }
}

// act'(z) from the output y = act(z), for the activations whose output determines it (not silu).
fn activate_grad_from_output(y: f32, act: u32) -> f32 {
  switch act {
    case ACT_RELU: { return select(0.0, 1.0, y > 0.0); }
    case ACT_RELU6: { return select(0.0, 1.0, y > 0.0 && y < 6.0); }
    case ACT_SIGMOID: { return y * (1.0 - y); }
    case ACT_TANH: { return 1.0 - y * y; }
    default: { return 1.0; }
  }
}
