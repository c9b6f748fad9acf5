// Workgroup-memory depthwise convolution with f32 tiles: forward and input gradient from
// shaders/depthwise_conv2d_tiled_body.wgsl (bindings and dispatch there), and the filter gradient with a tree
// reduction in workgroup memory. vec4 path only (MULT == 1, C % 4 == 0).
//
// depthwise_tiled_backward_filter:  in: x, dy   out: partial [S, KH, KW, C] (the gradient itself when S == 1)
//   A workgroup of CG*TAPS*RL invocations (TAPS = KH*KW) owns CG channel groups and the output pixels m in chunk s
//   of N*OH*OW: invocation lid (channel group lid % CG, tap (lid / CG) % TAPS, reducer r = lid / (CG*TAPS)) sums
//   m = chunk start + r, + RL, ...; then a tree in workgroup memory (log2 RL steps) adds the RL sums of every
//   (tap, channel group) at once and reducer 0 writes them.
//   Dispatch: (ceil(CH / CG), S, 1), CH = C/4; RL a power of two.

alias tile_t = f32;

//! include depthwise_conv2d_tiled_body

override RL: u32 = 4u;
override TAPS: u32 = 9u;

@group(0) @binding(0) var<storage, read> kx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> kdy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kdw4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> kp: TParams;

var<workgroup> red: array<vec4<f32>, CG * TAPS * RL>;

@compute @workgroup_size(WG)
fn depthwise_tiled_backward_filter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = kp;
  let cl = lid % CG;
  let t = (lid / CG) % TAPS;
  let r = lid / (CG * TAPS);
  let ky = t / KW;
  let kx = t % KW;
  let c = wid.x * CG + cl;
  let cok = c < p.ch;
  let cc = min(c, p.ch - 1u);
  let mtotal = p.n * p.oh * p.ow;
  // NOTE: `groups` carries the chunk length here.
  let mbeg = wid.y * p.groups;
  let mend = min(mbeg + p.groups, mtotal);
  let offy = i32(ky * DH) - i32(p.pt);
  let offx = i32(kx * DW) - i32(p.pl);
  var acc = vec4<f32>(0.0);
  for (var m = mbeg + r; m < mend; m += RL) {
    let q = m / p.ow;
    let ih = i32((q % p.oh) * SH) + offy;
    let iw = i32((m % p.ow) * SW) + offx;
    let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
    let xv = select(vec4<f32>(0.0), kx4[select(0u, (((q / p.oh) * p.h + u32(ih)) * p.w + u32(iw)) * p.ch + cc, ok)], ok);
    acc = fma(xv, kdy4[m * p.ch + cc], acc);
  }
  red[lid] = acc;
  workgroupBarrier();
  // NOTE: one tree for every tap and channel at once (no barrier inside a per-tap loop: lavapipe compiled that
  // for minutes).
  for (var s = RL / 2u; s > 0u; s = s / 2u) {
    if (r < s) { red[lid] = red[lid] + red[lid + s * CG * TAPS]; }
    workgroupBarrier();
  }
  if (r == 0u && cok) { kdw4[wid.y * TAPS * p.ch + t * p.ch + c] = red[lid]; }
}
