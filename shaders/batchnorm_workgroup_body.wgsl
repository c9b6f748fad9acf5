// The 'workgroup' variant of batch norm's two per-channel reductions, written once over `lane_t` (f32 in
// batchnorm_workgroup.wgsl, vec4<f32> in batchnorm_workgroup_v4.wgsl, with C4 = C / 4 lanes in place of C). Same
// partials [2, S, C] as bn_stats_partial / channel_grad_partial, so bn_stats_finalize / channel_grad_finalize follow.
//
// A workgroup is WGX channel lanes x WGY rows: workgroup g reduces lanes (g % T)*WGX .. +WGX (T = ceil(C / WGX)) of
// chunk s = g / T (rows s*R .. s*R+R-1). Invocation (x, y) folds rows y, y + WGY, ... of its chunk into registers;
// a tree over y in var<workgroup> memory (WGY a power of 2) combines them, and row 0 writes the partial.
// bn_stats_wg:      in: x           out: part   Welford (count, mean, M2) per invocation, shifted by the chunk's first
//                   value; the tree merges them with Chan's formula.
// channel_grad_wg:  in: dy, x, p0, p1   out: part   the sums of channel_grad_partial (MODE 0 and 1).
// Dispatch: grid(ceil(C / WGX) * S) workgroups of WGX x WGY.

//! include batchnorm_common

override WGX: u32 = 16u;
override WGY: u32 = 16u;

var<workgroup> wn: array<f32, WGX * WGY>;
var<workgroup> wa: array<lane_t, WGX * WGY>;
var<workgroup> wb: array<lane_t, WGX * WGY>;

// The workgroup's chunk and its first lane (uniform: from the workgroup id alone).
struct ChunkTile {
  c0: u32,
  s: u32,
  r0: u32,
  r1: u32,
}

fn chunk_tile(wid: vec3<u32>, nwg: vec3<u32>, p: ChunkParams) -> ChunkTile {
  let tiles = (p.c + WGX - 1u) / WGX;
  let g = wid.x + wid.y * nwg.x;
  let s = g / tiles;
  let r0 = s * p.r;
  return ChunkTile((g % tiles) * WGX, s, r0, min(r0 + p.r, p.m));
}

// Merges slot j's (count, mean, M2) into slot i (Chan et al.); an empty slot leaves the other unchanged.
fn merge_moments(i: u32, j: u32) {
  let na = wn[i];
  let n = na + wn[j];
  let fb = select(0.0, wn[j] / n, n > 0.0);
  let d = wa[j] - wa[i];
  wa[i] += d * fb;
  wb[i] += wb[j] + d * d * (na * fb);
  wn[i] = n;
}

@group(0) @binding(0) var<storage, read> wx: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> wpart: array<lane_t>;
@group(0) @binding(2) var<uniform> wp: ChunkParams;

@compute @workgroup_size(WGX, WGY)
fn bn_stats_wg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = chunk_tile(wid, nwg, wp);
  let c = t.c0 + lid.x;
  // NOTE: the surplus groups of a 2-D grid leave as a whole workgroup, so the barriers below stay uniform.
  if (t.s >= wp.s) { return; }
  var k = 0.0;
  var mean = lane_t(0.0);
  var m2 = lane_t(0.0);
  var shift = lane_t(0.0);
  if (c < wp.c) {
    shift = wx[t.r0 * wp.c + c];
    for (var r = t.r0 + lid.y; r < t.r1; r += WGY) {
      let v = wx[r * wp.c + c] - shift;
      k += 1.0;
      let d = v - mean;
      mean += d / k;
      m2 += d * (v - mean);
    }
  }
  let i = lid.y * WGX + lid.x;
  wn[i] = k;
  wa[i] = mean;
  wb[i] = m2;
  for (var half = WGY / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.y < half) { merge_moments(i, i + half * WGX); }
  }
  if (lid.y == 0u && c < wp.c) {
    let o = t.s * wp.c + c;
    wpart[o] = shift + wa[i];
    wpart[wp.s * wp.c + o] = wb[i];
  }
}

@group(0) @binding(0) var<storage, read> hdy: array<lane_t>;
@group(0) @binding(1) var<storage, read> hx: array<lane_t>;
@group(0) @binding(2) var<storage, read> hp0: array<lane_t>;
@group(0) @binding(3) var<storage, read> hp1: array<lane_t>;
@group(0) @binding(4) var<storage, read_write> hpart: array<lane_t>;
@group(0) @binding(5) var<uniform> hq: ChunkParams;

@compute @workgroup_size(WGX, WGY)
fn channel_grad_wg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = chunk_tile(wid, nwg, hq);
  let c = t.c0 + lid.x;
  if (t.s >= hq.s) { return; }
  var sa = lane_t(0.0);
  var sb = lane_t(0.0);
  if (c < hq.c) {
    let p0 = hp0[c];
    let p1 = hp1[c];
  // NOTE: MODE 2 packs [scale | beta] into p1: beta is the second half.
  var p2 = p1;
  if (MODE == 2u) { p2 = hp1[hq.c + c]; }
    for (var r = t.r0 + lid.y; r < t.r1; r += WGY) {
      let j = r * hq.c + c;
      let e = grad_terms(hx[j], hdy[j], p0, p1, p2);
      sa += e.a;
      sb += e.b;
    }
  }
  let i = lid.y * WGX + lid.x;
  wa[i] = sa;
  wb[i] = sb;
  for (var half = WGY / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.y < half) {
      wa[i] += wa[i + half * WGX];
      wb[i] += wb[i + half * WGX];
    }
  }
  if (lid.y == 0u && c < hq.c) {
    let o = t.s * hq.c + c;
    hpart[o] = wa[i];
    hpart[hq.s * hq.c + o] = wb[i];
  }
}
