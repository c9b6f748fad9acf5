// The 'subgroup' variant of batch norm's two per-channel reductions (needs 'subgroups'), written once over `lane_t`
// (f32 in batchnorm_subgroup.wgsl, vec4<f32> in batchnorm_subgroup_v4.wgsl with C4 = C / 4 lanes). Same partials
// [2, S, C] as bn_stats_partial / channel_grad_partial, so the finalize passes follow unchanged.
//
// A workgroup of WG invocations (a power of 2) reduces one lane c = g % C of chunk s = g / C: invocation i folds rows
// i, i + WG, ... of the chunk; subgroup operations combine each subgroup, one elected lane per subgroup writes the
// result to workgroup memory (the other slots hold empty values, so nothing is assumed about how invocations map to
// subgroups), and a tree over the WG slots finishes.
// bn_stats_sg:      in: x           out: part   per-invocation Welford; a subgroup's count, mean and M2 come from
//                   subgroupAdd of count, count*mean and M2 + count*(mean - subgroup mean)^2; slots merge by Chan.
// channel_grad_sg:  in: dy, x, p0, p1   out: part   the sums of channel_grad_partial (MODE 0 and 1).
// Dispatch: grid(C * S) workgroups of WG.

//! include batchnorm_common

var<workgroup> un: array<f32, WG>;
var<workgroup> ua: array<lane_t, WG>;
var<workgroup> ub: array<lane_t, WG>;

struct LaneChunk {
  c: u32,
  s: u32,
  r0: u32,
  r1: u32,
}

fn lane_chunk(wid: vec3<u32>, nwg: vec3<u32>, p: ChunkParams) -> LaneChunk {
  let g = wid.x + wid.y * nwg.x;
  let s = g / p.c;
  let r0 = s * p.r;
  return LaneChunk(g % p.c, s, r0, min(r0 + p.r, p.m));
}

// Merges slot j's (count, mean, M2) into slot i (Chan et al.); an empty slot leaves the other unchanged.
fn merge_slots(i: u32, j: u32) {
  let na = un[i];
  let n = na + un[j];
  let fb = select(0.0, un[j] / n, n > 0.0);
  let d = ua[j] - ua[i];
  ua[i] += d * fb;
  ub[i] += ub[j] + d * d * (na * fb);
  un[i] = n;
}

@group(0) @binding(0) var<storage, read> ux: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> upart: array<lane_t>;
@group(0) @binding(2) var<uniform> up: ChunkParams;

@compute @workgroup_size(WG)
fn bn_stats_sg(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = lane_chunk(wid, nwg, up);
  // NOTE: the surplus groups of a 2-D grid leave as a whole workgroup, so subgroup ops and barriers stay uniform.
  if (t.s >= up.s) { return; }
  let shift = ux[t.r0 * up.c + t.c];
  var k = 0.0;
  var mean = lane_t(0.0);
  var m2 = lane_t(0.0);
  for (var r = t.r0 + lid; r < t.r1; r += WG) {
    let v = ux[r * up.c + t.c] - shift;
    k += 1.0;
    let d = v - mean;
    mean += d / k;
    m2 += d * (v - mean);
  }
  let n = subgroupAdd(k);
  let sg_mean = subgroupAdd(mean * k) / max(n, 1.0);
  let d = mean - sg_mean;
  let sg_m2 = subgroupAdd(m2 + d * d * k);
  let first = subgroupElect();
  un[lid] = select(0.0, n, first);
  ua[lid] = select(lane_t(0.0), sg_mean, first);
  ub[lid] = select(lane_t(0.0), sg_m2, first);
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid < half) { merge_slots(lid, lid + half); }
  }
  if (lid == 0u) {
    let o = t.s * up.c + t.c;
    upart[o] = shift + ua[0];
    upart[up.s * up.c + o] = ub[0];
  }
}

@group(0) @binding(0) var<storage, read> vdy: array<lane_t>;
@group(0) @binding(1) var<storage, read> vx: array<lane_t>;
@group(0) @binding(2) var<storage, read> vp0: array<lane_t>;
@group(0) @binding(3) var<storage, read> vp1: array<lane_t>;
@group(0) @binding(4) var<storage, read_write> vpart: array<lane_t>;
@group(0) @binding(5) var<uniform> vq: ChunkParams;

@compute @workgroup_size(WG)
fn channel_grad_sg(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = lane_chunk(wid, nwg, vq);
  if (t.s >= vq.s) { return; }
  let p0 = vp0[t.c];
  let p1 = vp1[t.c];
  // NOTE: MODE 2 packs [scale | beta] into p1: beta is the second half.
  var p2 = p1;
  if (MODE == 2u) { p2 = vp1[vq.c + t.c]; }
  var sa = lane_t(0.0);
  var sb = lane_t(0.0);
  for (var r = t.r0 + lid; r < t.r1; r += WG) {
    let j = r * vq.c + t.c;
    let e = grad_terms(vx[j], vdy[j], p0, p1, p2);
    sa += e.a;
    sb += e.b;
  }
  sa = subgroupAdd(sa);
  sb = subgroupAdd(sb);
  let first = subgroupElect();
  ua[lid] = select(lane_t(0.0), sa, first);
  ub[lid] = select(lane_t(0.0), sb, first);
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid < half) {
      ua[lid] += ua[lid + half];
      ub[lid] += ub[lid + half];
    }
  }
  if (lid == 0u) {
    let o = t.s * vq.c + t.c;
    vpart[o] = ua[0];
    vpart[vq.s * vq.c + o] = ub[0];
  }
}
