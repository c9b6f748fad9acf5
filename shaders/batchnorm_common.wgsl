// Shared by shaders/batchnorm.wgsl and batchnorm_v4.wgsl (`//! include batchnorm_common`): specialization
// constants, uniform blocks, the linear invocation index, the activation of scale_shift and the row-block layout.

override WG: u32 = 64u;
override MODE: u32 = 0u;
// Activation code of scale_shift and its gradients: ACTIVATION in src/ops/activation.ts (shaders/activation.wgsl).
override ACT: u32 = 0u;
override HAS_GAMMA: bool = true;
override HAS_BETA: bool = true;
override SCALE_B: bool = false;

struct ChunkParams {
  m: u32,
  c: u32,
  r: u32,
  s: u32,
}

struct ElemParams {
  m: u32,
  c: u32,
  rb: u32,
  eps: f32,
  count: f32,
}

struct ChannelParams {
  c: u32,
  s: u32,
  eps: f32,
  momentum: f32,
}

fn gid(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

//! include activation

fn act(z: f32) -> f32 {
  return activate(z, ACT);
}

fn act_grad(z: f32) -> f32 {
  return activate_grad(z, ACT);
}

// Invocation i covers channel i % C of rows (i / C) * RB .. + RB: per-channel values load once, no index division
// per element, and neighbouring invocations touch neighbouring channels.
struct RowBlock {
  c: u32,
  r0: u32,
  r1: u32,
  ok: bool,
}

fn row_block(i: u32, p: ElemParams) -> RowBlock {
  let c = i % p.c;
  let r0 = (i / p.c) * p.rb;
  return RowBlock(c, r0, min(r0 + p.rb, p.m), r0 < p.m);
}

// One element's terms of the backward sums (every variant adds them up): MODE 0: (dy, dy * (x - mean)) with p0 the
// mean; MODE 1: dy times the activation's derivative at x * p0 + p1 (scale, shift), as (g, g * x); MODE 2 (batch
// norm fused with its activation): g = dy * act'((x - p0) * p1 + p2) with p0 the mean, p1 = gamma / sqrt(var + eps)
// and p2 = beta (the forward's own z), as (g, g * (x - mean)). p2 is read only in MODE 2.
struct GradTerms {
  a: lane_t,
  b: lane_t,
}

fn grad_terms(v: lane_t, dy: lane_t, p0: lane_t, p1: lane_t, p2: lane_t) -> GradTerms {
  if (MODE == 0u) {
    return GradTerms(dy, dy * (v - p0));
  }
  if (MODE == 2u) {
    let g2 = dy * act_grad_l((v - p0) * p1 + p2);
    return GradTerms(g2, g2 * (v - p0));
  }
  let g = dy * act_grad_l(v * p0 + p1);
  return GradTerms(g, g * v);
}
