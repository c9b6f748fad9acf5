// The 'subgroup' variant of global average pooling's reduction (needs 'subgroups'), written once over `lane_t`
// (f32 in pool_subgroup.wgsl, vec4<f32> in pool_subgroup_v4.wgsl with C4 = C / 4 lanes in place of C).
//
// gap_partial_sg:  in: x [N,HW,C]   out: part [N,S,C]   as gap_partial in shaders/pool.wgsl (part = y when S = 1).
//   A workgroup of WG invocations (a power of 2) sums one lane of chunk s of image n: invocation i adds rows i,
//   i + WG, ...; subgroupAdd totals each subgroup, one elected lane per subgroup writes it to workgroup memory (the
//   other slots hold 0, so nothing is assumed about how invocations map to subgroups), and a tree adds the slots.
// Dispatch: grid(N * S * C) workgroups of WG.

//! include pool_reduce_common

override WG: u32 = 64u;

var<workgroup> usum: array<lane_t, WG>;

@group(0) @binding(0) var<storage, read> ux: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> upart: array<lane_t>;
@group(0) @binding(2) var<uniform> up: GapParams;

@compute @workgroup_size(WG)
fn gap_partial_sg(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gap_tile(wid, nwg, up, 1u);
  // NOTE: the surplus groups of a 2-D grid leave as a whole workgroup, so subgroup ops and barriers stay uniform.
  if (t.n >= up.n) { return; }
  var acc = lane_t(0.0);
  for (var r = t.r0 + lid; r < t.r1; r += WG) {
    acc += ux[(t.n * up.hw + r) * up.c + t.c0];
  }
  let total = subgroupAdd(acc);
  usum[lid] = select(lane_t(0.0), total, subgroupElect());
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid < half) { usum[lid] += usum[lid + half]; }
  }
  if (lid == 0u) {
    upart[(t.n * up.s + t.s) * up.c + t.c0] = usum[0] * up.scale;
  }
}
