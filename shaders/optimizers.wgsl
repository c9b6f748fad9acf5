// Optimizer updates, fused: one dispatch per parameter updates the parameter and its slots in place (Keras 3 rules).
//
// sgd:           in: g, sq   out: p          p -= wd_lr * p;  p -= lr * s * g
// sgd_momentum:  in: g, sq   out: p, m       p -= wd_lr * p;  m = mu * m - lr * s * g;
//                                            p += m  (nesterov: p += mu * m - lr * s * g, with the new m)
// adam:          in: g, sq   out: p, m, v    p -= wd_lr * p;  m += (s*g - m)(1 - b1);  v += ((s*g)^2 - v)(1 - b2);
//                                            p -= alpha * m / (sqrt(v) + eps)   (alpha = lr * sqrt(1-b2^t) / (1-b1^t))
// clip_scale:    in: g, sq   out: y          y = s * g
// s is the clipping factor: 1 when CLIP is 0, else clip / max(sqrt(sq[0]), clip), NaN when sq[0] is not finite
// (Keras' clip_by_norm when sq holds this gradient's sum of squares, clip_by_global_norm when it holds all of them).
// wd_lr = weight_decay * lr (0 without decay). The CPU computes the step-dependent scalars (alpha, lr) per step.
// One invocation: 4 consecutive elements. Dispatch: grid(ceil(n / (4 * WG))); linear group = wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
// CLIP 0: no clipping (sq is a dummy binding); 1: scale gradients by the factor derived from sq[0].
override CLIP: u32 = 0u;
// NESTEROV 1: Nesterov momentum in sgd_momentum.
override NESTEROV: u32 = 0u;

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
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@group(0) @binding(3) var<uniform> sgd_u: SgdParams;
@group(0) @binding(4) var<uniform> mom_u: SgdParams;
@group(0) @binding(5) var<uniform> adam_u: AdamParams;
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

fn linear_base(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
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
      p[i] = s * g[i];
    }
  }
}
