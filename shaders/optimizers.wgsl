// Optimizer updates, fused: one dispatch per parameter updates the parameter and its slots in place (Keras 3 rules).
//
// sgd:          in: g, sq, gate  out: p        p -= wd_lr * p;  p -= lr * s * g
// sgd_momentum: in: g, sq, gate  out: p, m     p -= wd_lr * p;  m = mu * m - lr * s * g;
//                                              p += m  (nesterov: p += mu * m - lr * s * g, with the new m)
// adam:         in: g, sq, gate  out: p, m, v  p -= wd_lr * p;  m += (s*g - m)(1 - b1);  v += ((s*g)^2 - v)(1 - b2);
//                                              p -= alpha * m / (sqrt(v) + eps)  (alpha = lr * sqrt(1-b2^t) / (1-b1^t))
// clip_scale:   in: g, sq        out: y        y = s * g
// gate is the skip gate of a loss-scaled step (GATE 1): the loss-scale flags of src/ops/loss-scale.ts, whose u32
// word 1 is set when the step is skipped; then every update returns before writing anything, so p and its slots
// stay bit-identical. With GATE 0 it is a dummy binding that is never read.
// s is the clipping factor: 1 when CLIP is 0, else clip / max(sqrt(sq[0]), clip), NaN when sq[0] is not finite
// (Keras' clip_by_norm when sq holds this gradient's sum of squares, clip_by_global_norm when it holds all of them).
// wd_lr = weight_decay * lr (0 without decay). The CPU computes the step-dependent scalars (alpha, lr) per step.
// One invocation: 4 consecutive elements. Dispatch: grid(ceil(n / (4 * WG))); linear group = wid.x + wid.y * nwg.x.
// Variants ('optimizer' family, src/ops/optimizers.ts): 'scalar' (sgd, sgd_momentum, adam: four scalar loads per
// slot) and 'vec4' (sgd_v4, sgd_momentum_v4, adam_v4: one vec4 load per slot; the last vec4 of a length that is not
// a multiple of 4 writes back the old values past n, which are buffer padding). WG is the workgroup size.

override WG: u32 = 64u;
// CLIP 0: no clipping (sq is a dummy binding); 1: scale gradients by the factor derived from sq[0].
override CLIP: u32 = 0u;
// NESTEROV 1: Nesterov momentum in sgd_momentum.
override NESTEROV: u32 = 0u;
// GATE 1: the update writes nothing when gate[1] (the loss-scale skip flag) is set; 0: gate is a dummy binding.
override GATE: u32 = 0u;

struct SgdParams {
  n: u32,
  lr: f32,
  wd_lr: f32,
  clip: f32,
  momentum: f32,
}

struct AdamParams {
  n: u32,
  wd_lr: f32,
  clip: f32,
  alpha: f32,
  one_minus_b1: f32,
  one_minus_b2: f32,
  eps: f32,
}

struct ClipParams {
  n: u32,
  clip: f32,
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> sq: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<u32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@group(0) @binding(4) var<uniform> sgd_u: SgdParams;
@group(0) @binding(5) var<uniform> mom_u: SgdParams;
@group(0) @binding(6) var<uniform> adam_u: AdamParams;

@group(0) @binding(2) var<storage, read_write> clip_y: array<f32>;
@group(0) @binding(3) var<uniform> clip_u: ClipParams;

// NOTE: a NaN literal is a const-expression error in WGSL; a let keeps it a runtime value.
fn nan_f32() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// NOTE: checked on the bits, since compilers may assume arithmetic never yields NaN or Inf.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn grad_scale(clip: f32) -> f32 {
  if (CLIP == 0u) {
    return 1.0;
  }
  let total = sq[0];
  if (!is_finite(total)) {
    return nan_f32();
  }
  return clip / max(sqrt(total), clip);
}

// NOTE: tested before any load or store, so a skipped step writes nothing at all (no barrier follows it).
fn skipped() -> bool {
  return GATE == 1u && gate[1] != 0u;
}

fn linear_base(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
  if (skipped()) { return; }
  let base = linear_base(lid, wid, nwg);
  let s = grad_scale(sgd_u.clip);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < sgd_u.n) {
      var w = p[i];
      w -= w * sgd_u.wd_lr;
      p[i] = w - sgd_u.lr * (s * g[i]);
    }
  }
}

@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  if (skipped()) { return; }
  let base = linear_base(lid, wid, nwg);
  let s = grad_scale(mom_u.clip);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < mom_u.n) {
      var w = p[i];
      w -= w * mom_u.wd_lr;
      let step = -mom_u.lr * (s * g[i]);
      let mi = mom_u.momentum * m[i] + step;
      m[i] = mi;
      if (NESTEROV == 1u) {
        p[i] = w + (mom_u.momentum * mi + step);
      } else {
        p[i] = w + mi;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn adam(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  if (skipped()) { return; }
  let base = linear_base(lid, wid, nwg);
  let s = grad_scale(adam_u.clip);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < adam_u.n) {
      let gi = s * g[i];
      var w = p[i];
      w -= w * adam_u.wd_lr;
      let mi = m[i] + (gi - m[i]) * adam_u.one_minus_b1;
      let vi = v[i] + (gi * gi - v[i]) * adam_u.one_minus_b2;
      m[i] = mi;
      v[i] = vi;
      p[i] = w - adam_u.alpha * mi / (sqrt(vi) + adam_u.eps);
    }
  }
}

@compute @workgroup_size(WG)
fn clip_scale(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let s = grad_scale(clip_u.clip);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < clip_u.n) {
      clip_y[i] = s * g[i];
    }
  }
}

// ---- vec4 forms: one invocation updates vec4 i (elements 4i .. 4i+3); same dispatch ----

@group(0) @binding(0) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> p4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v4: array<vec4<f32>>;

fn vec_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// Lanes of vec4 i that hold elements below n: the partial last vec4 keeps the padding past n unchanged.
fn live_lanes(i: u32, n: u32) -> vec4<bool> {
  return vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n);
}

@compute @workgroup_size(WG)
fn sgd_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = vec_index(lid, wid, nwg);
  if (skipped() || 4u * i >= sgd_u.n) { return; }
  let s = grad_scale(sgd_u.clip);
  let old = p4[i];
  let w = old - old * sgd_u.wd_lr;
  p4[i] = select(old, w - sgd_u.lr * (s * g4[i]), live_lanes(i, sgd_u.n));
}

@compute @workgroup_size(WG)
fn sgd_momentum_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = vec_index(lid, wid, nwg);
  if (skipped() || 4u * i >= mom_u.n) { return; }
  let s = grad_scale(mom_u.clip);
  let live = live_lanes(i, mom_u.n);
  let old = p4[i];
  let w = old - old * mom_u.wd_lr;
  let step = -mom_u.lr * (s * g4[i]);
  let m_old = m4[i];
  let mi = mom_u.momentum * m_old + step;
  m4[i] = select(m_old, mi, live);
  if (NESTEROV == 1u) {
    p4[i] = select(old, w + (mom_u.momentum * mi + step), live);
  } else {
    p4[i] = select(old, w + mi, live);
  }
}

@compute @workgroup_size(WG)
fn adam_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = vec_index(lid, wid, nwg);
  if (skipped() || 4u * i >= adam_u.n) { return; }
  let s = grad_scale(adam_u.clip);
  let live = live_lanes(i, adam_u.n);
  let gi = s * g4[i];
  let old = p4[i];
  let w = old - old * adam_u.wd_lr;
  let m_old = m4[i];
  let v_old = v4[i];
  let mi = m_old + (gi - m_old) * adam_u.one_minus_b1;
  let vi = v_old + (gi * gi - v_old) * adam_u.one_minus_b2;
  m4[i] = select(m_old, mi, live);
  v4[i] = select(v_old, vi, live);
  p4[i] = select(old, w - adam_u.alpha * mi / (sqrt(vi) + adam_u.eps), live);
}
