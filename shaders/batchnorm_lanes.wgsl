// The per-element and partial-reduction batch-norm kernels, written once over `lane_t`: f32 in batchnorm.wgsl (one
// channel per invocation) and vec4<f32> in batchnorm_v4.wgsl (4 channels, used when C % 4 == 0, with C4 = C / 4 in
// place of C in every layout and dispatch; partials keep the [2, S, C] layout). The including file defines
// `alias lane_t` and act_l / act_grad_l (the activation and its derivative on a lane). Kernels and dispatch: the
// header of shaders/batchnorm.wgsl.

//! include batchnorm_common

@group(0) @binding(0) var<storage, read> sx: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> spart: array<lane_t>;
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
  var mean = lane_t(0.0);
  var m2 = lane_t(0.0);
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

@group(0) @binding(0) var<storage, read> ax: array<lane_t>;
@group(0) @binding(1) var<storage, read> amean: array<lane_t>;
@group(0) @binding(2) var<storage, read> avar: array<lane_t>;
@group(0) @binding(3) var<storage, read> agamma: array<lane_t>;
@group(0) @binding(4) var<storage, read> abeta: array<lane_t>;
@group(0) @binding(5) var<storage, read_write> ay: array<lane_t>;
@group(0) @binding(6) var<uniform> ap: ElemParams;

@compute @workgroup_size(WG)
fn bn_apply(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), ap);
  if (!b.ok) { return; }
  let mean = amean[b.c];
  var scale = 1.0 / sqrt(avar[b.c] + ap.eps);
  if (HAS_GAMMA) { scale *= agamma[b.c]; }
  var shift = lane_t(0.0);
  if (HAS_BETA) { shift = abeta[b.c]; }
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * ap.c + b.c;
    // NOTE: subtract the mean before scaling: x*scale + shift loses digits when |mean| >> std.
    ay[j] = act_l((ax[j] - mean) * scale + shift);
  }
}

@group(0) @binding(0) var<storage, read> gdy: array<lane_t>;
@group(0) @binding(1) var<storage, read> gx: array<lane_t>;
@group(0) @binding(2) var<storage, read> gp0: array<lane_t>;
@group(0) @binding(3) var<storage, read> gp1: array<lane_t>;
@group(0) @binding(4) var<storage, read_write> gpart: array<lane_t>;
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
  // NOTE: MODE 2 packs [scale | beta] into p1: beta is the second half.
  var p2 = p1;
  if (MODE == 2u) { p2 = gp1[gp.c + c]; }
  var sa = lane_t(0.0);
  var sb = lane_t(0.0);
  for (var r = r0; r < r1; r++) {
    let j = r * gp.c + c;
    let e = grad_terms(gx[j], gdy[j], p0, p1, p2);
    sa += e.a;
    sb += e.b;
  }
  gpart[i] = sa;
  gpart[gp.s * gp.c + i] = sb;
}

@group(0) @binding(0) var<storage, read> bdy: array<lane_t>;
@group(0) @binding(1) var<storage, read> bx: array<lane_t>;
@group(0) @binding(2) var<storage, read> bmean: array<lane_t>;
@group(0) @binding(3) var<storage, read> bvar: array<lane_t>;
@group(0) @binding(4) var<storage, read> bgamma: array<lane_t>;
@group(0) @binding(5) var<storage, read> bdbeta: array<lane_t>;
@group(0) @binding(6) var<storage, read> bdgamma: array<lane_t>;
@group(0) @binding(7) var<storage, read_write> bdx: array<lane_t>;
@group(0) @binding(8) var<uniform> bp: ElemParams;

@compute @workgroup_size(WG)
fn bn_backward_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(gid(lid, wid, nwg), bp);
  if (!b.ok) { return; }
  let inv = 1.0 / sqrt(bvar[b.c] + bp.eps);
  var scale = inv;
  let mean = bmean[b.c];
  let db = bdbeta[b.c] / bp.count;
  let dg = bdgamma[b.c] * inv / bp.count;
  if (ACT == 0u) {
    if (HAS_GAMMA) { scale *= bgamma[b.c]; }
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * bp.c + b.c;
      bdx[j] = scale * (bdy[j] - db - (bx[j] - mean) * dg);
    }
    return;
  }
  // NOTE: fused activation: bgamma holds [scale | beta] (bn_stats_finalize_act), so z is the forward's own.
  scale = bgamma[b.c];
  let beta = bgamma[bp.c + b.c];
  for (var r = b.r0; r < b.r1; r++) {
    let j = r * bp.c + b.c;
    let xc = bx[j] - mean;
    bdx[j] = scale * (bdy[j] * act_grad_l(xc * scale + beta) - db - xc * dg);
  }
}

@group(0) @binding(0) var<storage, read> cdy: array<lane_t>;
@group(0) @binding(1) var<storage, read> cx: array<lane_t>;
@group(0) @binding(2) var<storage, read> cp0: array<lane_t>;
@group(0) @binding(3) var<storage, read> cp1: array<lane_t>;
@group(0) @binding(4) var<storage, read> cgamma: array<lane_t>;
@group(0) @binding(5) var<storage, read_write> cdx: array<lane_t>;
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
  } else if (MODE == 1u) {
    let s = cp0[b.c];
    let t = cp1[b.c];
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp.c + b.c;
      cdx[j] = cdy[j] * act_grad_l(cx[j] * s + t) * s;
    }
  } else {
    let mean = cp0[b.c];
    let s = cp1[b.c];
    let beta = cp1[cp.c + b.c];
    for (var r = b.r0; r < b.r1; r++) {
      let j = r * cp.c + b.c;
      cdx[j] = cdy[j] * act_grad_l((cx[j] - mean) * s + beta) * s;
    }
  }
}

@group(0) @binding(0) var<storage, read> tx: array<lane_t>;
@group(0) @binding(1) var<storage, read> tscale: array<lane_t>;
@group(0) @binding(2) var<storage, read> tshift: array<lane_t>;
@group(0) @binding(3) var<storage, read_write> ty: array<lane_t>;
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
    ty[j] = act_l(tx[j] * s + t);
  }
}
