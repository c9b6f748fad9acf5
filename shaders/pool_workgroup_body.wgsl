// The 'workgroup' variant of global average pooling's reduction, written once over `lane_t` (f32 in
// pool_workgroup.wgsl, vec4<f32> in pool_workgroup_v4.wgsl with C4 = C / 4 lanes in place of C).
//
// gap_partial_wg:  in: x [N,HW,C]   out: part [N,S,C]   as gap_partial in shaders/pool.wgsl (part = y when S = 1).
//   A workgroup is WGX lanes x WGY rows over chunk s of image n: invocation (x, y) sums rows y, y + WGY, ... of the
//   chunk, a tree over y in var<workgroup> memory (WGY a power of 2) adds them, and row 0 writes sum * scale.
// Dispatch: grid(N * S * ceil(C / WGX)) workgroups of WGX x WGY.

//! include pool_reduce_common

override WGX: u32 = 16u;
override WGY: u32 = 16u;

var<workgroup> wsum: array<lane_t, WGX * WGY>;

@group(0) @binding(0) var<storage, read> wx: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> wpart: array<lane_t>;
@group(0) @binding(2) var<uniform> wp: GapParams;

@compute @workgroup_size(WGX, WGY)
fn gap_partial_wg(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gap_tile(wid, nwg, wp, WGX);
  // NOTE: the surplus groups of a 2-D grid leave as a whole workgroup, so the barriers below stay uniform.
  if (t.n >= wp.n) { return; }
  let c = t.c0 + lid.x;
  var acc = lane_t(0.0);
  if (c < wp.c) {
    for (var r = t.r0 + lid.y; r < t.r1; r += WGY) {
      acc += wx[(t.n * wp.hw + r) * wp.c + c];
    }
  }
  let i = lid.y * WGX + lid.x;
  wsum[i] = acc;
  for (var half = WGY / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid.y < half) { wsum[i] += wsum[i + half * WGX]; }
  }
  if (lid.y == 0u && c < wp.c) {
    wpart[(t.n * wp.s + t.s) * wp.c + c] = wsum[i] * wp.scale;
  }
}
