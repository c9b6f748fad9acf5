// Depthwise filter gradient with subgroup reductions (needs 'subgroups'), vec4 path only (MULT == 1, C % 4 == 0).
// The forward and input gradient of the 'subgroup' variant are the register kernels (shaders/depthwise_conv2d.wgsl).
//
// depthwise_subgroup_backward_filter:  in: x, dy   out: partial [S, KH, KW, C] (the gradient itself when S == 1)
//   A workgroup of WGS invocations owns one channel group and the output pixels m in chunk s of N*OH*OW:
//   invocation i sums m = chunk start + i, + WGS, ... for every tap (KH*KW <= MAXT) in registers; then, TB taps at
//   a time, subgroupAdd totals each subgroup, one elected lane per subgroup writes the totals to workgroup memory
//   (the other slots hold 0, so no assumption about how invocations map to subgroups), and invocation j < TB adds
//   the WGS slots of tap j in a fixed order (deterministic) and writes it.
//   Dispatch: (CH, S, 1), CH = C/4.

enable subgroups;

override WGS: u32 = 64u;
//! include depthwise_vec4_params

const MAXT: u32 = 25u;
const TB: u32 = 5u;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dw4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: TParams;

var<workgroup> part: array<vec4<f32>, WGS * TB>;

@compute @workgroup_size(WGS)
fn depthwise_subgroup_backward_filter(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  let mtotal = p.n * p.oh * p.ow;
  // NOTE: `groups` carries the chunk length here.
  let mbeg = wid.y * p.groups;
  let mend = min(mbeg + p.groups, mtotal);
  let taps = KH * KW;
  var acc: array<vec4<f32>, MAXT>;
  for (var t = 0u; t < taps; t++) { acc[t] = vec4<f32>(0.0); }
  for (var m = mbeg + li; m < mend; m += WGS) {
    let q = m / p.ow;
    let iy0 = i32((q % p.oh) * SH) - i32(p.pt);
    let ix0 = i32((m % p.ow) * SW) - i32(p.pl);
    let nb = (q / p.oh) * p.h;
    let g = dy4[m * p.ch + c];
    for (var ky = 0u; ky < KH; ky++) {
      let ih = iy0 + i32(ky * DH);
      if (ih < 0 || ih >= i32(p.h)) { continue; }
      let rowb = (nb + u32(ih)) * p.w;
      for (var kx = 0u; kx < KW; kx++) {
        let iw = ix0 + i32(kx * DW);
        let ok = iw >= 0 && iw < i32(p.w);
        acc[ky * KW + kx] = fma(select(vec4<f32>(0.0), x4[select(0u, (rowb + u32(iw)) * p.ch + c, ok)], ok), g, acc[ky * KW + kx]);
      }
    }
  }
  let base = wid.y * taps * p.ch;
  for (var t0 = 0u; t0 < taps; t0 += TB) {
    for (var j = 0u; j < TB; j++) {
      let v = subgroupAdd(acc[min(t0 + j, taps - 1u)]);
      part[li * TB + j] = select(vec4<f32>(0.0), v, subgroupElect());
    }
    workgroupBarrier();
    if (li < TB && t0 + li < taps) {
      var total = vec4<f32>(0.0);
      for (var s = 0u; s < WGS; s++) { total += part[s * TB + li]; }
      dw4[base + (t0 + li) * p.ch + c] = total;
    }
    workgroupBarrier();
  }
}
