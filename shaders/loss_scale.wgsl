// Dynamic loss scaling on the GPU (Keras LossScaleOptimizer): no readback decides a step.
//
// unscale:  in: scale          out: g, flags        g = g / scale[0]; flags[0] |= 1 when any g (before or after) is
//                                                    not finite. One invocation: 4 elements.
//                                                    Dispatch: grid(ceil(n / (4 * WG))); group = wid.x + wid.y * nwg.x.
// unscale6: in: scale          out: flags, g0..g5   the same for six gradients of lengths n0..n5 in one dispatch
//                                                    (six distinct buffers; 8 storage buffers in all, the minimum
//                                                    every adapter has). Dispatch: as unscale with n = max(n0..n5).
// decide:   in: -              out: scale, good, flags   one invocation: flags[0] set -> scale /= 2, good = 0,
//                                                    flags[1] = 1 (skip); else good += 1, at `growth` good steps
//                                                    scale *= 2 (unless that overflows) and good = 0, flags[1] = 0.
//                                                    Clears flags[0] for the next step. Dispatch: (1, 1, 1).
// restore:  in: old, flags     out: cur             cur = old when flags[1] is set (the step is skipped), else
//                                                    untouched. One invocation: 4 elements. Dispatch as unscale.
//                                                    Only for optimizers that cannot gate: the built-in update
//                                                    kernels read flags[1] themselves (shaders/optimizers.wgsl).
// restore2, restore3: the same for 2 or 3 same-size tensors in one dispatch (a parameter and its slots):
//           in: old0.., flags  out: cur0..
// flags is two u32 words: [non-finite seen this step, skip this step].

override WG: u32 = 64u;

struct SizeParams {
  n: u32,
}

struct DecideParams {
  growth: f32,
}

@group(0) @binding(0) var<storage, read> scale_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> size_u: SizeParams;

@group(0) @binding(0) var<storage, read_write> scale_rw: array<f32>;
@group(0) @binding(1) var<storage, read_write> good_rw: array<f32>;
@group(0) @binding(3) var<uniform> decide_u: DecideParams;

@group(0) @binding(0) var<storage, read> old: array<f32>;
@group(0) @binding(1) var<storage, read> flags_ro: array<u32>;
@group(0) @binding(2) var<storage, read_write> cur: array<f32>;

// NOTE: checked on the bits, since compilers may assume arithmetic never yields NaN or Inf.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn linear_base(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
}

// Whether every element this invocation unscaled (before and after) was finite.
var<private> all_finite: bool = true;

fn unscale_one(x: f32, s: f32) -> f32 {
  let y = x / s;
  all_finite = all_finite && is_finite(x) && is_finite(y);
  return y;
}

@compute @workgroup_size(WG)
fn unscale(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let s = scale_in[0];
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < size_u.n) { grad[i] = unscale_one(grad[i], s); }
  }
  if (!all_finite) {
    atomicOr(&flags[0], 1u);
  }
}

struct Sizes6 {
  n0: u32,
  n1: u32,
  n2: u32,
  n3: u32,
  n4: u32,
  n5: u32,
}

@group(0) @binding(1) var<storage, read_write> flags6: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> g6_0: array<f32>;
@group(0) @binding(3) var<storage, read_write> g6_1: array<f32>;
@group(0) @binding(4) var<storage, read_write> g6_2: array<f32>;
@group(0) @binding(5) var<storage, read_write> g6_3: array<f32>;
@group(0) @binding(6) var<storage, read_write> g6_4: array<f32>;
@group(0) @binding(7) var<storage, read_write> g6_5: array<f32>;
@group(0) @binding(8) var<uniform> sizes6_u: Sizes6;

@compute @workgroup_size(WG)
fn unscale6(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let s = scale_in[0];
  let u = sizes6_u;
  // NOTE: WGSL cannot index bindings, so the six gradients are spelled out; a length of 0 never matches.
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < u.n0) { g6_0[i] = unscale_one(g6_0[i], s); }
    if (i < u.n1) { g6_1[i] = unscale_one(g6_1[i], s); }
    if (i < u.n2) { g6_2[i] = unscale_one(g6_2[i], s); }
    if (i < u.n3) { g6_3[i] = unscale_one(g6_3[i], s); }
    if (i < u.n4) { g6_4[i] = unscale_one(g6_4[i], s); }
    if (i < u.n5) { g6_5[i] = unscale_one(g6_5[i], s); }
  }
  if (!all_finite) {
    atomicOr(&flags6[0], 1u);
  }
}

@compute @workgroup_size(1)
fn decide() {
  let bad = atomicLoad(&flags[0]) != 0u;
  let s = scale_rw[0];
  if (bad) {
    scale_rw[0] = s * 0.5;
    good_rw[0] = 0.0;
    atomicStore(&flags[1], 1u);
  } else {
    let g = good_rw[0] + 1.0;
    if (g >= decide_u.growth) {
      // NOTE: a scale that would overflow stays; an infinite scale would make every later step non-finite.
      if (is_finite(s * 2.0)) {
        scale_rw[0] = s * 2.0;
      }
      good_rw[0] = 0.0;
    } else {
      good_rw[0] = g;
    }
    atomicStore(&flags[1], 0u);
  }
  atomicStore(&flags[0], 0u);
}

@compute @workgroup_size(WG)
fn restore(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  if (flags_ro[1] == 0u) {
    return;
  }
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < size_u.n) {
      cur[i] = old[i];
    }
  }
}

@group(0) @binding(0) var<storage, read> old2_0: array<f32>;
@group(0) @binding(1) var<storage, read> old2_1: array<f32>;
@group(0) @binding(2) var<storage, read> flags2: array<u32>;
@group(0) @binding(3) var<storage, read_write> cur2_0: array<f32>;
@group(0) @binding(4) var<storage, read_write> cur2_1: array<f32>;
@group(0) @binding(5) var<uniform> size2_u: SizeParams;

@compute @workgroup_size(WG)
fn restore2(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  if (flags2[1] == 0u) {
    return;
  }
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < size2_u.n) {
      cur2_0[i] = old2_0[i];
      cur2_1[i] = old2_1[i];
    }
  }
}

@group(0) @binding(0) var<storage, read> old3_0: array<f32>;
@group(0) @binding(1) var<storage, read> old3_1: array<f32>;
@group(0) @binding(2) var<storage, read> old3_2: array<f32>;
@group(0) @binding(3) var<storage, read> flags3: array<u32>;
@group(0) @binding(4) var<storage, read_write> cur3_0: array<f32>;
@group(0) @binding(5) var<storage, read_write> cur3_1: array<f32>;
@group(0) @binding(6) var<storage, read_write> cur3_2: array<f32>;
@group(0) @binding(7) var<uniform> size3_u: SizeParams;

@compute @workgroup_size(WG)
fn restore3(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  if (flags3[1] == 0u) {
    return;
  }
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < size3_u.n) {
      cur3_0[i] = old3_0[i];
      cur3_1[i] = old3_1[i];
      cur3_2[i] = old3_2[i];
    }
  }
}
