// conv2d filter gradient with subgroup reductions (needs 'subgroups'): the reduction over output pixels is spread
// across the lanes of a workgroup instead of along one invocation's loop.
//
// conv2d_backward_filter_subgroup:  in: x, dy   out: partial [Z, KH*KW*CIN, COUT]   uniform: ConvParams (conv2d.wgsl)
//   A workgroup of WGS invocations computes TR filter rows r = (ky*KW + kx)*CIN + ci x 4 output channels over the
//   output pixels m of chunk z = [z*CHUNK, (z+1)*CHUNK): invocation i sums m = i, i + WGS, ... into registers,
//   subgroupAdd totals each subgroup, one elected lane per subgroup writes its total to workgroup memory (the other
//   slots hold 0, so nothing is assumed about how invocations map to subgroups) and lane t < TR adds row t's slots.
// Dispatch: grid(ceil(KH*KW*CIN / TR) * ceil(COUT / 4)) x Z workgroups of WGS.

enable subgroups;

override WGS: u32 = 64u;
// Filter rows per workgroup (1..8).
override TR: u32 = 4u;

struct ConvParams {
  n: u32, h: u32, w: u32, cin: u32,
  oh: u32, ow: u32, cout: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, dh: u32,
  dw: u32, pt: u32, pl: u32, chunk: u32,
  act: u32, has_bias: u32, groups_n: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> sx: array<f32>;
@group(0) @binding(1) var<storage, read> sdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> sdw: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

var<workgroup> part: array<vec4<f32>, WGS * TR>;

@compute @workgroup_size(WGS)
fn conv2d_backward_filter_subgroup(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>,
                                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let rows = p.kh * p.kw * p.cin;
  let groups_m = (rows + TR - 1u) / TR;
  // NOTE: a whole workgroup past the grid leaves together, so the barrier stays uniform.
  if (g >= groups_m * p.groups_n) { return; }
  let r0 = (g / p.groups_n) * TR;
  let co0 = (g % p.groups_n) * 4u;
  let mtotal = p.n * p.oh * p.ow;
  let mbeg = wid.z * p.chunk;
  let mend = min(mbeg + p.chunk, mtotal);
  var offh: array<i32, 8>;
  var offw: array<i32, 8>;
  var cis: array<u32, 8>;
  for (var t = 0u; t < TR; t++) {
    let r = min(r0 + t, rows - 1u);
    cis[t] = r % p.cin;
    let k = r / p.cin;
    offh[t] = i32((k / p.kw) * p.dh) - i32(p.pt);
    offw[t] = i32((k % p.kw) * p.dw) - i32(p.pl);
  }
  // NOTE: columns past COUT are clamped on load (their sums are never stored).
  let cols = min(vec4<u32>(co0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.cout - 1u));
  var acc: array<vec4<f32>, 8>;
  for (var m = mbeg + li; m < mend; m += WGS) {
    let ow = m % p.ow;
    let r = m / p.ow;
    let oy = i32((r % p.oh) * p.sh);
    let ox = i32(ow * p.sw);
    let nb = (r / p.oh) * p.h;
    let o = m * p.cout;
    let gv = vec4<f32>(sdy[o + cols.x], sdy[o + cols.y], sdy[o + cols.z], sdy[o + cols.w]);
    for (var t = 0u; t < TR; t++) {
      let ih = oy + offh[t];
      let iw = ox + offw[t];
      let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
      let xv = select(0.0, sx[select(0u, ((nb + u32(ih)) * p.w + u32(iw)) * p.cin + cis[t], ok)], ok);
      acc[t] = fma(vec4<f32>(xv), gv, acc[t]);
    }
  }
  for (var t = 0u; t < TR; t++) {
    let s = subgroupAdd(acc[t]);
    part[li * TR + t] = select(vec4<f32>(0.0), s, subgroupElect());
  }
  workgroupBarrier();
  // NOTE: lane t < TR adds row t's slots, so the TR rows finish in parallel.
  let r = r0 + li;
  if (li < TR && r < rows) {
    var total = vec4<f32>(0.0);
    for (var s = 0u; s < WGS; s++) { total += part[s * TR + li]; }
    let o = wid.z * rows * p.cout + r * p.cout;
    for (var q = 0u; q < 4u; q++) {
      if (co0 + q < p.cout) { sdw[o + co0 + q] = total[q]; }
    }
  }
}
