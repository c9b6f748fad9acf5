// Split-K matmul with subgroup reductions (needs 'subgroups'), for outputs too few to fill a GPU and long K
// (a classifier head, a dense layer at small batch).
//
// matmul_subgroup:  in: a, b, bias, ascale, cscale, resid (dummy bindings when unused)   out: c   uniform: Params (matmul_common)
//   A workgroup of WGS invocations computes a TM x 4 block of C: invocation i sums k = i, i + WGS, ... into its
//   registers, subgroupAdd totals each subgroup, one elected lane per subgroup writes the total to workgroup
//   memory (other slots hold 0, so no assumption about how invocations map to subgroups), and invocation 0 adds
//   the slots and runs the epilogue. Rows and columns past M, N are clamped on load and skipped on store.
// Dispatch: grid(ceil(N / 4) * ceil(M / TM) * batch) workgroups of WGS (WGX = WGY = TN4 = 1 for locate).

enable subgroups;

override WGS: u32 = 64u;

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;

//! include matmul_common

var<workgroup> part: array<vec4<f32>, WGS * TM>;

fn ld_a(i: u32) -> f32 {
  return a4[i / 4u][i % 4u];
}

fn ld_b(i: u32) -> f32 {
  return b4[i / 4u][i % 4u];
}

@compute @workgroup_size(WGS)
fn matmul_subgroup(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  if ((wid.x + wid.y * nwg.x) / p.groups_n / p.groups_m >= p.batch) { return; }
  let blk = locate(vec3<u32>(0u), wid, nwg);
  let M = p.m;
  let N = p.n;
  var acc: array<vec4<f32>, 16>;
  var aoff: array<u32, 16>;
  var soff: array<u32, 16>;
  for (var i = 0u; i < TM; i++) {
    aoff[i] = blk.abase + min(blk.row0 + i, M - 1u) * p.sam;
    soff[i] = scale_base(blk.row0 + i);
  }
  let boff = vec4<u32>(blk.bbase) + min(vec4<u32>(blk.col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u)) * p.sbn;
  for (var k = li; k < p.k; k += WGS) {
    let o = boff + vec4<u32>(k * p.sbk);
    let bk = vec4<f32>(ld_b(o.x), ld_b(o.y), ld_b(o.z), ld_b(o.w));
    for (var i = 0u; i < TM; i++) {
      acc[i] += ld_a(aoff[i] + k * p.sak) * a_scale4(soff[i], k).x * bk;
    }
  }
  for (var i = 0u; i < TM; i++) {
    let t = subgroupAdd(acc[i]);
    part[li * TM + i] = select(vec4<f32>(0.0), t, subgroupElect());
  }
  workgroupBarrier();
  if (li == 0u && blk.valid) {
    var total: array<vec4<f32>, 16>;
    for (var s = 0u; s < WGS; s++) {
      for (var i = 0u; i < TM; i++) {
        total[i] += part[s * TM + i];
      }
    }
    store(blk, &total);
  }
}
