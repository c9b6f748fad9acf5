// Batch normalization and per-channel affine kernels. Every tensor is viewed as [M, C]: the last axis is the channel.
// Per-channel reductions run in two stages: S chunks of R consecutive rows each produce partials [2, S, C], then a
// finalize pass combines the S partials of each channel.
//
// bn_stats_partial:      in: x                 out: part [2,S,C]   one invocation: channel c of chunk s, Welford
//                        (mean, M2) over its rows, shifted by the chunk's first value. Dispatch: grid(ceil(S*C / WG)).
// bn_stats_finalize:     in: part              out: mean, var, savedMean, savedVar   one invocation: one channel,
//                        Chan's parallel combination of the S partials (biased variance). Dispatch: grid(ceil(C / WG)).
// bn_stats_finalize_act: in: part, gamma, beta   out: mean, var, savedMean, savedVar, packed [2C]   the same, and
//                        packed = [gamma / sqrt(var + eps) | beta] for the backward of BN fused with an activation.
// The per-element kernels below (bn_apply, bn_backward_dx, channel_scale_dx, scale_shift) share one layout:
// one invocation = channel c of a block of RB rows, c = i % C, rows (i / C)*RB .. +RB.
// Dispatch: grid(ceil(ceil(M / RB) * C / WG)).
// bn_apply:              in: x, mean, var, gamma, beta   out: y
//                        y = act(gamma * (x - mean) / sqrt(var + eps) + beta) (ACT 0: linear).
// channel_grad_partial:  in: dy, x, p0, p1     out: part [2,S,C]   one invocation: channel c of chunk s; sums of
//                        MODE 0 (batch norm, p0 = mean): dy and dy*(x - mean);
//                        MODE 1 (scale-shift, p0 = scale, p1 = shift): dz and dz*x, dz = dy * act'(x*scale + shift);
//                        MODE 2 (BN + activation, p0 = mean, p1 = packed): dz and dz*(x - mean), dz = dy * act'(z).
//                        Dispatch: grid(ceil(S*C / WG)).
// channel_grad_finalize: in: part, var         out: sumA, sumB   one invocation: one channel, sums the S partials;
//                        SCALE_B multiplies sumB by 1/sqrt(var + eps). Dispatch: grid(ceil(C / WG)).
// bn_backward_dx:        in: dy, x, mean, var, gamma, dbeta, dgamma   out: dx
//                        dx = gamma/sqrt(var+eps) * (dy - dbeta/M - xhat*dgamma/M); with ACT, gamma is the packed
//                        [scale | beta] and dy becomes dz = dy * act'(z) (BN fused with its activation).
// channel_scale_dx:      in: dy, x, p0, p1, gamma   out: dx
//                        MODE 0: dx = dy * gamma / sqrt(p1 + eps) (inference batch norm, p1 = moving variance);
//                        MODE 1: dx = dy * act'(x*p0 + p1) * p0 (scale-shift);
//                        MODE 2: dx = dy * act'(z) * scale, z = (x - p0)*scale + beta, p1 = packed [scale | beta]
//                        (inference batch norm fused with its activation).
// scale_shift:           in: x, scale, shift   out: y = act(x*scale + shift).
// bn_fold:               in: mean, var, gamma, beta   out: scale, shift   one invocation: one channel,
//                        scale = gamma/sqrt(var+eps), shift = beta - mean*scale. Dispatch: grid(ceil(C / WG)).
// bn_pack:               in: var, gamma, beta   out: packed [2C] = [gamma / sqrt(var + eps) | beta] (bn_apply's scale).
// bn_fold_backward:      in: g, mean, var   out: dgamma   one invocation: one channel;
//                        MODE 0 (through scale): g/sqrt(var+eps); MODE 1 (through shift): -g*mean/sqrt(var+eps).
// moving_update:         in: batch   out: moving (in place)   one invocation: one element,
//                        moving = moving*momentum + batch*(1 - momentum). Dispatch: grid(ceil(C / WG)).
// Linear group index everywhere: wid.x + wid.y * nwg.x.
// bn_stats_partial and channel_grad_partial are the 'register' variant of the 'batchnorm' family; the 'workgroup' and
// 'subgroup' variants write the same partials (shaders/batchnorm_workgroup_body.wgsl, batchnorm_subgroup_body.wgsl).
// The per-element and partial kernels are written once in batchnorm_lanes.wgsl; batchnorm_v4.wgsl compiles the same
// source over vec4 lanes (4 channels per invocation, C4 = C / 4 in place of C), used when C % 4 == 0.

alias lane_t = f32;

fn act_l(z: f32) -> f32 {
  return act(z);
}

fn act_grad_l(z: f32) -> f32 {
  return act_grad(z);
}

//! include batchnorm_lanes

@group(0) @binding(0) var<storage, read> fpart: array<f32>;

// A channel's (gamma / sqrt(var + eps), beta), the [scale | beta] pair the fused backward recomputes z from; bn_apply's
// own expression for the scale, so that z is the forward's. gamma and beta count only under HAS_GAMMA / HAS_BETA.
fn scale_beta(v: f32, eps: f32, gamma: f32, beta: f32) -> vec2<f32> {
  var scale = 1.0 / sqrt(v + eps);
  if (HAS_GAMMA) { scale *= gamma; }
  return vec2<f32>(scale, select(0.0, beta, HAS_BETA));
}

// Chan's parallel combination of channel c's S partials: (mean, biased variance).
fn combined_moments(c: u32, p: ChunkParams) -> vec2<f32> {
  // NOTE: combining deltas from the first chunk's mean keeps the running mean small: near |mean| = 1000 every
  // rounding of a running mean would cost an ulp of 1000.
  let shift = fpart[c];
  var na = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var s = 0u; s < p.s; s++) {
    let nb = f32(min(p.r, p.m - s * p.r));
    let mb = fpart[s * p.c + c] - shift;
    let m2b = fpart[p.s * p.c + s * p.c + c];
    let n = na + nb;
    let d = mb - mean;
    mean += d * (nb / n);
    m2 += m2b + d * d * (na * nb / n);
    na = n;
  }
  return vec2<f32>(shift + mean, max(m2 / na, 0.0));
}

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
  let mv = combined_moments(c, fp);
  fmean[c] = mv.x;
  fvar[c] = mv.y;
  fmean2[c] = mv.x;
  fvar2[c] = mv.y;
}

@group(0) @binding(1) var<storage, read> egamma: array<f32>;
@group(0) @binding(2) var<storage, read> ebeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> emean: array<f32>;
@group(0) @binding(4) var<storage, read_write> evar: array<f32>;
@group(0) @binding(5) var<storage, read_write> emean2: array<f32>;
@group(0) @binding(6) var<storage, read_write> evar2: array<f32>;
@group(0) @binding(7) var<storage, read_write> epacked: array<f32>;
@group(0) @binding(8) var<uniform> ep: FinalizeActParams;

struct FinalizeActParams {
  m: u32,
  c: u32,
  r: u32,
  s: u32,
  eps: f32,
}

@compute @workgroup_size(WG)
fn bn_stats_finalize_act(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= ep.c) { return; }
  let mv = combined_moments(c, ChunkParams(ep.m, ep.c, ep.r, ep.s));
  emean[c] = mv.x;
  evar[c] = mv.y;
  emean2[c] = mv.x;
  evar2[c] = mv.y;
  let sb = scale_beta(mv.y, ep.eps, egamma[c], ebeta[c]);
  epacked[c] = sb.x;
  epacked[ep.c + c] = sb.y;
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

@group(0) @binding(0) var<storage, read> qvar: array<f32>;
@group(0) @binding(1) var<storage, read> qgamma: array<f32>;
@group(0) @binding(2) var<storage, read> qbeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> qpacked: array<f32>;
@group(0) @binding(4) var<uniform> qp: ChannelParams;

@compute @workgroup_size(WG)
fn bn_pack(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid(lid, wid, nwg);
  if (c >= qp.c) { return; }
  let sb = scale_beta(qvar[c], qp.eps, qgamma[c], qbeta[c]);
  qpacked[c] = sb.x;
  qpacked[qp.c + c] = sb.y;
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
