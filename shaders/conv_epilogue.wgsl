// The activation epilogue shared by conv2d.wgsl and depthwise_conv2d.wgsl (included with `//! include conv_epilogue`).
// Codes match ACTIVATION_CODE in src/ops/conv-geometry.ts: 0 linear, 1 relu, 2 relu6, 3 sigmoid, 4 silu.

fn sigmoid(v: f32) -> f32 {
  // NOTE: split by sign so exp never overflows.
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}

fn activate(v: f32, act: u32) -> f32 {
  switch act {
    case 1u: { return max(v, 0.0); }
    case 2u: { return clamp(v, 0.0, 6.0); }
    case 3u: { return sigmoid(v); }
    case 4u: { return v * sigmoid(v); }
    default: { return v; }
  }
}

fn activate4(v: vec4<f32>, act: u32) -> vec4<f32> {
  return vec4<f32>(activate(v.x, act), activate(v.y, act), activate(v.z, act), activate(v.w, act));
}
