// Batch normalization and per-channel affine kernels. Every tensor is viewed as [M, C]: the last axis is the channel.
// Per-channel reductions run in two stages: S chunks of R consecutive rows each produce partials [2, S, C], then a
// finalize pass combines the S partials of each channel.
//
// bn_stats_partial:      in: x                 out: part [2,S,C]   one invocation: channel c of chunk s, Welford
//                        (mean, M2) over its rows, shifted by the chunk's first value. Dispatch: grid(ceil(S*C / WG)).
// bn_stats_finalize:     in: part              out: mean, var, savedMean, savedVar   one invocation: one channel,
//                        Chan's parallel combination of the S partials (biased variance). Dispatch: grid(ceil(C / WG)).
// The per-element kernels below (bn_apply, bn_backward_dx, channel_scale_dx, scale_shift) share one layout:
// one invocation = channel c of a block of RB rows, c = i % C, rows (i / C)*RB .. +RB.
// Dispatch: grid(ceil(ceil(M / RB) * C / WG)).
// bn_apply:              in: x, mean, var, gamma, beta   out: y
//                        y = gamma * (x - mean) / sqrt(var + eps) + beta.
// channel_grad_partial:  in: dy, x, p0, p1     out: part [2,S,C]   one invocation: channel c of chunk s; sums of
//                        MODE 0 (batch norm, p0 = mean): dy and dy*(x - mean);
//                        MODE 1 (scale-shift, p0 = scale, p1 = shift): dz and dz*x, dz = dy * act'(x*scale + shift).
//                        Dispatch: grid(ceil(S*C / WG)).
// channel_grad_finalize: in: part, var         out: sumA, sumB   one invocation: one channel, sums the S partials;
//                        SCALE_B multiplies sumB by 1/sqrt(var + eps). Dispatch: grid(ceil(C / WG)).
// bn_backward_dx:        in: dy, x, mean, var, gamma, dbeta, dgamma   out: dx
//                        dx = gamma/sqrt(var+eps) * (dy - dbeta/M - xhat*dgamma/M).
// channel_scale_dx:      in: dy, x, p0, p1, gamma   out: dx
//                        MODE 0: dx = dy * gamma / sqrt(p1 + eps) (inference batch norm, p1 = moving variance);
//                        MODE 1: dx = dy * act'(x*p0 + p1) * p0 (scale-shift).
// scale_shift:           in: x, scale, shift   out: y = act(x*scale + shift).
// bn_fold:               in: mean, var, gamma, beta   out: scale, shift   one invocation: one channel,
//                        scale = gamma/sqrt(var+eps), shift = beta - mean*scale. Dispatch: grid(ceil(C / WG)).
// bn_fold_backward:      in: g, mean, var   out: dgamma   one invocation: one channel;
//                        MODE 0 (through scale): g/sqrt(var+eps); MODE 1 (through shift): -g*mean/sqrt(var+eps).
// moving_update:         in: batch   out: moving (in place)   one invocation: one element,
//                        moving = moving*momentum + batch*(1 - momentum). Dispatch: grid(ceil(C / WG)).
// Linear group index everywhere: wid.x + wid.y * nwg.x.

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

// ---- statistics ----

@group(0) @binding(0) var<storage, read> sx: array<f32>;
@group(0) @binding(1) var<storage, read_write> spart: array<f32>;
@group(0) @binding(2) var<uniform> sp: ChunkParams;

@compute @workgroup_size(WG)
fn bn_stats_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= sp.s * sp.c) { return; }
  let c = i % sp.c;
  let s = i / sp.c;
  let r0 = s * sp.r;
  let r1 = min(r0 + sp.r, sp.m);
  // NOTE: Welford keeps the variance accurate when the mean is large against the spread (x = 1000 + noise); shifting
  // by the chunk's first value keeps the running mean small, so its rounding errors do not grow with |mean|.
  let shift = sx[r0 * sp.c + c];
  var mean = 0.0;
  var m2 = 0.0;
  var k = 0.0;
  for (var r = r0; r < r1; r++) {
    let v = sx[r * sp.c + c] - shift;
    k += 1.0;
    let d = v - mean;
    mean += d / k;
    m2 += d * (v - mean);
  }
  spart[i] = shift + mean;
  spart[sp.s * sp.c + i] = m2;
}

@group(0) @binding(0) var<storage, read> fpart: array<f32>;
@group(0) @binding(1) var<storage, read_write> fmean: array<f32>;
@group(0) @binding(2) var<storage, read_write> fvar: array<f32>;
@group(0) @binding(3) var<storage, read_write> fmean2: array<f32>;
@group(0) @binding(4) var<storage, read_write> fvar2: array<f32>;
@group(0) @binding(5) var<uniform> fp: ChunkParams;

@compute @workgroup_size(WG)
fn bn_stats_finalize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= fp.c) { return; }
  // NOTE: combining deltas from the first chunk's mean keeps the running mean small: near |mean| = 1000 every
  // rounding of a running mean would cost an ulp of 1000.
  let shift = fpart[c];
  var na = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var s = 0u; s < fp.s; s++) {
    let nb = f32(min(fp.r, fp.m - s * fp.r));
    let mb = fpart[s * fp.c + c] - shift;
    let m2b = fpart[fp.s * fp.c + s * fp.c + c];
    let n = na + nb;
    let d = mb - mean;
    mean += d * (nb / n);
    m2 += m2b + d * d * (na * nb / n);
    na = n;
  }
  let v = max(m2 / na, 0.0);
  fmean[c] = shift + mean;
  fvar[c] = v;
  fmean2[c] = shift + mean;
  fvar2[c] = v;
}

// ---- normalize ----

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

@group(0) @binding(0) var<storage, read> ax: array<f32>;
@group(0) @binding(1) var<storage, read> amean: array<f32>;
@group(0) @binding(2) var<storage, read> avar: array<f32>;
@group(0) @binding(3) var<storage, read> agamma: array<f32>;
@group(0) @binding(4) var<storage, read> abeta: array<f32>;
@group(0) @binding(5) var<storage, read_write> ay: array<f32>;
@group(0) @binding(6) var<uniform> ap: ElemParams;

@compute @workgroup_size(WG)
fn bn_apply(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), ap);
  if (!b.ok) { return; }
  let mean = amean[b.c];
  var scale = 1.0 / sqrt(avar[b.c] + ap.eps);
  if (HAS_GAMMA) { scale *= agamma[b.c]; }
  var shift = 0.0;
  if (HAS_BETA) { shift = abeta[b.c]; }
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * ap.c + b.c;
    // NOTE: subtract the mean before scaling: x*scale + shift loses digits when |mean| >> std.
    ay[j] = (ax[j] - mean) * scale + shift;
  }
}

// ---- gradient reductions ----

@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gp0: array<f32>;
@group(0) @binding(3) var<storage, read> gp1: array<f32>;
@group(0) @binding(4) var<storage, read_write> gpart: array<f32>;
@group(0) @binding(5) var<uniform> gp: ChunkParams;

@compute @workgroup_size(WG)
fn channel_grad_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= gp.s * gp.c) { return; }
  let c = i % gp.c;
  let s = i / gp.c;
  let r0 = s * gp.r;
  let r1 = min(r0 + gp.r, gp.m);
  let p0 = gp0[c];
  let p1 = gp1[c];
  var sa = 0.0;
  var sb = 0.0;
  for (var r = r0; r < r1; r++) {
    let j = r * gp.c + c;
    let v = gx[j];
    var g = gdy[j];
    if (MODE == 0u) {
      sa += g;
      sb += g * (v - p0);
    } else {
      g *= act_grad(v * p0 + p1);
      sa += g;
      sb += g * v;
    }
  }
  gpart[i] = sa;
  gpart[gp.s * gp.c + i] = sb;
}

@group(0) @binding(0) var<storage, read> hpart: array<f32>;
@group(0) @binding(1) var<storage, read> hvar: array<f32>;
@group(0) @binding(2) var<storage, read_write> hsa: array<f32>;
@group(0) @binding(3) var<storage, read_write> hsb: array<f32>;
@group(0) @binding(4) var<uniform> hp: ChannelParams;

@compute @workgroup_size(WG)
fn channel_grad_finalize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= hp.c) { return; }
  var sa = 0.0;
  var sb = 0.0;
  for (var s = 0u; s < hp.s; s++) {
    sa += hpart[s * hp.c + c];
    sb += hpart[hp.s * hp.c + s * hp.c + c];
  }
  if (SCALE_B) { sb /= sqrt(hvar[c] + hp.eps); }
  hsa[c] = sa;
  hsb[c] = sb;
}

// ---- input gradients ----

@group(0) @binding(0) var<storage, read> bdy: array<f32>;
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bmean: array<f32>;
@group(0) @binding(3) var<storage, read> bvar: array<f32>;
@group(0) @binding(4) var<storage, read> bgamma: array<f32>;
@group(0) @binding(5) var<storage, read> bdbeta: array<f32>;
@group(0) @binding(6) var<storage, read> bdgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(8) var<uniform> bp: ElemParams;

@compute @workgroup_size(WG)
fn bn_backward_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), bp);
  if (!b.ok) { return; }
  let inv = 1.0 / sqrt(bvar[b.c] + bp.eps);
  var scale = inv;
  if (HAS_GAMMA) { scale *= bgamma[b.c]; }
  let mean = bmean[b.c];
  let db = bdbeta[b.c] / bp.count;
  let dg = bdgamma[b.c] * inv / bp.count;
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * bp.c + b.c;
    bdx[j] = scale * (bdy[j] - db - (bx[j] - mean) * dg);
  }
}

@group(0) @binding(0) var<storage, read> cdy: array<f32>;
@group(0) @binding(1) var<storage, read> cx: array<f32>;
@group(0) @binding(2) var<storage, read> cp0: array<f32>;
@group(0) @binding(3) var<storage, read> cp1: array<f32>;
@group(0) @binding(4) var<storage, read> cgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> cdx: array<f32>;
@group(0) @binding(6) var<uniform> cp: ElemParams;

@compute @workgroup_size(WG)
fn channel_scale_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), cp);
  if (!b.ok) { return; }
  if (MODE == 0u) {
    var scale = 1.0 / sqrt(cp1[b.c] + cp.eps);
    if (HAS_GAMMA) { scale *= cgamma[b.c]; }
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp.c + b.c;
      cdx[j] = cdy[j] * scale;
    }
  } else {
    let s = cp0[b.c];
    let t = cp1[b.c];
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp.c + b.c;
      cdx[j] = cdy[j] * act_grad(cx[j] * s + t) * s;
    }
  }
}

// ---- fused per-channel affine ----

@group(0) @binding(0) var<storage, read> tx: array<f32>;
@group(0) @binding(1) var<storage, read> tscale: array<f32>;
@group(0) @binding(2) var<storage, read> tshift: array<f32>;
@group(0) @binding(3) var<storage, read_write> ty: array<f32>;
@group(0) @binding(4) var<uniform> tp: ElemParams;

@compute @workgroup_size(WG)
fn scale_shift(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), tp);
  if (!b.ok) { return; }
  let s = tscale[b.c];
  let t = tshift[b.c];
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * tp.c + b.c;
    ty[j] = act(tx[j] * s + t);
  }
}

@group(0) @binding(0) var<storage, read> omean: array<f32>;
@group(0) @binding(1) var<storage, read> ovar: array<f32>;
@group(0) @binding(2) var<storage, read> ogamma: array<f32>;
@group(0) @binding(3) var<storage, read> obeta: array<f32>;
@group(0) @binding(4) var<storage, read_write> oscale: array<f32>;
@group(0) @binding(5) var<storage, read_write> oshift: array<f32>;
@group(0) @binding(6) var<uniform> op: ChannelParams;

@compute @workgroup_size(WG)
fn bn_fold(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= op.c) { return; }
  var scale = 1.0 / sqrt(ovar[c] + op.eps);
  if (HAS_GAMMA) { scale *= ogamma[c]; }
  var shift = -omean[c] * scale;
  if (HAS_BETA) { shift += obeta[c]; }
  oscale[c] = scale;
  oshift[c] = shift;
}

@group(0) @binding(0) var<storage, read> kg: array<f32>;
@group(0) @binding(1) var<storage, read> kmean: array<f32>;
@group(0) @binding(2) var<storage, read> kvar: array<f32>;
@group(0) @binding(3) var<storage, read_write> kout: array<f32>;
@group(0) @binding(4) var<uniform> kp: ChannelParams;

@compute @workgroup_size(WG)
fn bn_fold_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= kp.c) { return; }
  let inv = 1.0 / sqrt(kvar[c] + kp.eps);
  if (MODE == 0u) {
    kout[c] = kg[c] * inv;
  } else {
    kout[c] = -kg[c] * kmean[c] * inv;
  }
}

// ---- moving statistics ----

@group(0) @binding(0) var<storage, read> mbatch: array<f32>;
@group(0) @binding(1) var<storage, read_write> mmoving: array<f32>;
@group(0) @binding(2) var<uniform> mp: ChannelParams;

@compute @workgroup_size(WG)
fn moving_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= mp.c) { return; }
  mmoving[c] = mmoving[c] * mp.momentum + mbatch[c] * (1.0 - mp.momentum);
}

// ---- vec4 forms of the per-element kernels, used when C % 4 == 0 ----
// Same layouts as above with C4 = C / 4 in place of C: invocation i covers channels 4*(i % C4) .. +3 of a row block.
// Dispatch: grid(ceil(ceil(M / RB) * C4 / WG)).

fn act4(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act(z.x), act(z.y), act(z.z), act(z.w));
}

fn act_grad4(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act_grad(z.x), act_grad(z.y), act_grad(z.z), act_grad(z.w));
}

@group(0) @binding(0) var<storage, read> ax4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> amean4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> avar4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> agamma4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> abeta4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> ay4: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> ap4: ElemParams;

@compute @workgroup_size(WG)
fn bn_apply_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), ap4);
  if (!b.ok) { return; }
  let mean = amean4[b.c];
  var scale = 1.0 / sqrt(avar4[b.c] + ap4.eps);
  if (HAS_GAMMA) { scale *= agamma4[b.c]; }
  var shift = vec4<f32>(0.0);
  if (HAS_BETA) { shift = abeta4[b.c]; }
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * ap4.c + b.c;
    ay4[j] = (ax4[j] - mean) * scale + shift;
  }
}

@group(0) @binding(0) var<storage, read> bdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bmean4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bvar4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bgamma4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bdbeta4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> bdgamma4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> bdx4: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> bp4: ElemParams;

@compute @workgroup_size(WG)
fn bn_backward_dx_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), bp4);
  if (!b.ok) { return; }
  let inv = 1.0 / sqrt(bvar4[b.c] + bp4.eps);
  var scale = inv;
  if (HAS_GAMMA) { scale *= bgamma4[b.c]; }
  let mean = bmean4[b.c];
  let db = bdbeta4[b.c] / bp4.count;
  let dg = bdgamma4[b.c] * inv / bp4.count;
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * bp4.c + b.c;
    bdx4[j] = scale * (bdy4[j] - db - (bx4[j] - mean) * dg);
  }
}

@group(0) @binding(0) var<storage, read> cdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> cx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cp04: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> cp14: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> cgamma4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> cdx4: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> cp4: ElemParams;

@compute @workgroup_size(WG)
fn channel_scale_dx_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), cp4);
  if (!b.ok) { return; }
  if (MODE == 0u) {
    var scale = 1.0 / sqrt(cp14[b.c] + cp4.eps);
    if (HAS_GAMMA) { scale *= cgamma4[b.c]; }
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp4.c + b.c;
      cdx4[j] = cdy4[j] * scale;
    }
  } else {
    let s = cp04[b.c];
    let t = cp14[b.c];
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp4.c + b.c;
      cdx4[j] = cdy4[j] * act_grad4(cx4[j] * s + t) * s;
    }
  }
}

@group(0) @binding(0) var<storage, read> tx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> tscale4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> tshift4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> ty4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> tp4: ElemParams;

@compute @workgroup_size(WG)
fn scale_shift_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), tp4);
  if (!b.ok) { return; }
  let s = tscale4[b.c];
  let t = tshift4[b.c];
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * tp4.c + b.c;
    ty4[j] = act4(tx4[j] * s + t);
  }
}

// ---- vec4 forms of the partial reductions, used when C % 4 == 0 ----
// Same as bn_stats_partial / channel_grad_partial with C4 = C / 4 lanes of 4 channels; the partials keep the [2,S,C]
// layout of the scalar forms. Dispatch: grid(ceil(S*C4 / WG)).

@group(0) @binding(0) var<storage, read> sx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> spart4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> sp4: ChunkParams;

@compute @workgroup_size(WG)
fn bn_stats_partial_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= sp4.s * sp4.c) { return; }
  let c = i % sp4.c;
  let s = i / sp4.c;
  let r0 = s * sp4.r;
  let r1 = min(r0 + sp4.r, sp4.m);
  let shift = sx4[r0 * sp4.c + c];
  var mean = vec4<f32>(0.0);
  var m2 = vec4<f32>(0.0);
  var k = 0.0;
  for (var r = r0; r < r1; r++) {
    let v = sx4[r * sp4.c + c] - shift;
    k += 1.0;
    let d = v - mean;
    mean += d / k;
    m2 += d * (v - mean);
  }
  spart4[i] = shift + mean;
  spart4[sp4.s * sp4.c + i] = m2;
}

@group(0) @binding(0) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gp04: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gp14: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> gpart4: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> gp4: ChunkParams;

@compute @workgroup_size(WG)
fn channel_grad_partial_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                           @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= gp4.s * gp4.c) { return; }
  let c = i % gp4.c;
  let s = i / gp4.c;
  let r0 = s * gp4.r;
  let r1 = min(r0 + gp4.r, gp4.m);
  let p0 = gp04[c];
  let p1 = gp14[c];
  var sa = vec4<f32>(0.0);
  var sb = vec4<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    let j = r * gp4.c + c;
    let v = gx4[j];
    var g = gdy4[j];
    if (MODE == 0u) {
      sa += g;
      sb += g * (v - p0);
    } else {
      g *= act_grad4(v * p0 + p1);
      sa += g;
      sb += g * v;
    }
  }
  gpart4[i] = sa;
  gpart4[gp4.s * gp4.c + i] = sb;
}
