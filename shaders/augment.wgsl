// Data-augmentation kernels on NHWC float32 batches; per-image parameters come in a small storage buffer.
//
// affine:    in: x [N,H,W,C], t [N,8]  out: y [N,H,W,C]
//            one invocation: one output pixel (all C channels). t holds Keras' projective transform
//            [a0,a1,a2,b0,b1,b2,c0,c1] mapping output (col, row) to input (a0*col + a1*row + a2, b0*col + b1*row + b2) / k,
//            k = c0*col + c1*row + 1; taps are fixed per FILL (index fixers of keras.ops.image.map_coordinates).
//            Dispatch: grid(ceil(N*H*W / WG)).
// flip:      in: x [N,H,W,C], flags [N] (u32: bit 0 horizontal, bit 1 vertical)  out: y [N,H,W,C]
//            one invocation: one output pixel (all C channels). Dispatch: grid(ceil(N*H*W / WG)).
// contrast:  in: x [N,H,W,C], f [N]  out: y [N,H,W,C]
//            one workgroup: one (image, channel) pair; its threads reduce the H*W mean m in shared memory, then write
//            clamp((x - m) * f + m, lo, hi). Dispatch: grid(N*C) workgroups of WG.
// Linear group index everywhere: wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
// INTERP 0: nearest (round half to even), 1: bilinear.
override INTERP: u32 = 1u;
// FILL 0: reflect (d c b a | a b c d | d c b a), 1: wrap, 2: constant, 3: nearest (clamp).
override FILL: u32 = 0u;

struct Params {
  n: u32,
  h: u32,
  w: u32,
  c: u32,
  fill: f32,
  lo: f32,
  hi: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;

// Maps a tap index into [0, size) per FILL; -1 marks a tap outside the image in constant mode.
fn fix_index(i: i32, size: i32) -> i32 {
  // NOTE: most taps are inside; skipping the integer remainders there matters on CPU-emulated GPUs.
  if (i >= 0 && i < size) { return i; }
  switch FILL {
    case 0u: {
      let period = 2 * size;
      var m = i % period;
      if (m < 0) { m += period; }
      if (m >= size) { m = period - 1 - m; }
      return m;
    }
    case 1u: {
      var m = i % size;
      if (m < 0) { m += size; }
      return m;
    }
    case 2u: {
      if (i < 0 || i >= size) { return -1; }
      return i;
    }
    default: {
      return clamp(i, 0, size - 1);
    }
  }
}

// ---- affine ----

@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_affine: array<f32>;
@group(0) @binding(3) var<uniform> pa: Params;

// NOTE: far-out coordinates are clamped so that i32 conversion and +1 cannot overflow.
const COORD_LIMIT: f32 = 16777216.0;

@compute @workgroup_size(WG)
fn affine(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let pix = (wid.x + wid.y * nwg.x) * WG + lid;
  let hw = pa.h * pa.w;
  if (pix >= pa.n * hw) { return; }
  let n = pix / hw;
  let row = f32((pix % hw) / pa.w);
  let col = f32(pix % pa.w);
  let tb = n * 8u;
  let out_base = pix * pa.c;
  let k = t[tb + 6u] * col + t[tb + 7u] * row + 1.0;
  if (k == 0.0) {
    for (var ch = 0u; ch < pa.c; ch++) { y_affine[out_base + ch] = pa.fill; }
    return;
  }
  let xi = clamp((t[tb] * col + t[tb + 1u] * row + t[tb + 2u]) / k, -COORD_LIMIT, COORD_LIMIT);
  let yi = clamp((t[tb + 3u] * col + t[tb + 4u] * row + t[tb + 5u]) / k, -COORD_LIMIT, COORD_LIMIT);
  let w = i32(pa.w);
  let h = i32(pa.h);
  let img = n * hw;
  if (INTERP == 0u) {
    let cx = fix_index(i32(round(xi)), w);
    let cy = fix_index(i32(round(yi)), h);
    let ok = cx >= 0 && cy >= 0;
    let src = (img + u32(max(cy, 0)) * pa.w + u32(max(cx, 0))) * pa.c;
    for (var ch = 0u; ch < pa.c; ch++) {
      y_affine[out_base + ch] = select(pa.fill, x[src + ch], ok);
    }
    return;
  }
  let x0f = floor(xi);
  let y0f = floor(yi);
  let fx = xi - x0f;
  let fy = yi - y0f;
  let x0 = fix_index(i32(x0f), w);
  let x1 = fix_index(i32(x0f) + 1, w);
  let y0 = fix_index(i32(y0f), h);
  let y1 = fix_index(i32(y0f) + 1, h);
  let w00 = (1.0 - fx) * (1.0 - fy);
  let w01 = fx * (1.0 - fy);
  let w10 = (1.0 - fx) * fy;
  let w11 = fx * fy;
  let ok00 = x0 >= 0 && y0 >= 0;
  let ok01 = x1 >= 0 && y0 >= 0;
  let ok10 = x0 >= 0 && y1 >= 0;
  let ok11 = x1 >= 0 && y1 >= 0;
  let r0 = img + u32(max(y0, 0)) * pa.w;
  let r1 = img + u32(max(y1, 0)) * pa.w;
  let s00 = (r0 + u32(max(x0, 0))) * pa.c;
  let s01 = (r0 + u32(max(x1, 0))) * pa.c;
  let s10 = (r1 + u32(max(x0, 0))) * pa.c;
  let s11 = (r1 + u32(max(x1, 0))) * pa.c;
  for (var ch = 0u; ch < pa.c; ch++) {
    let v00 = select(pa.fill, x[s00 + ch], ok00);
    let v01 = select(pa.fill, x[s01 + ch], ok01);
    let v10 = select(pa.fill, x[s10 + ch], ok10);
    let v11 = select(pa.fill, x[s11 + ch], ok11);
    y_affine[out_base + ch] = w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11;
  }
}

// ---- flip ----

@group(0) @binding(1) var<storage, read> flags: array<u32>;
@group(0) @binding(2) var<storage, read_write> y_flip: array<f32>;
@group(0) @binding(3) var<uniform> pf: Params;

@compute @workgroup_size(WG)
fn flip(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let pix = (wid.x + wid.y * nwg.x) * WG + lid;
  let hw = pf.h * pf.w;
  if (pix >= pf.n * hw) { return; }
  let n = pix / hw;
  let row = (pix % hw) / pf.w;
  let col = pix % pf.w;
  let f = flags[n];
  let scol = select(col, pf.w - 1u - col, (f & 1u) != 0u);
  let srow = select(row, pf.h - 1u - row, (f & 2u) != 0u);
  let src = (n * hw + srow * pf.w + scol) * pf.c;
  let dst = pix * pf.c;
  for (var ch = 0u; ch < pf.c; ch++) { y_flip[dst + ch] = x[src + ch]; }
}

// ---- contrast ----

@group(0) @binding(1) var<storage, read> factors: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_contrast: array<f32>;
@group(0) @binding(3) var<uniform> pc: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn contrast(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= pc.n * pc.c) { return; }
  let n = g / pc.c;
  let ch = g % pc.c;
  let hw = pc.h * pc.w;
  let base = n * hw * pc.c + ch;
  var s: f32 = 0.0;
  for (var p = lid; p < hw; p += WG) { s += x[base + p * pc.c]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let mean = partial[0] / f32(hw);
  let f = factors[n];
  for (var p = lid; p < hw; p += WG) {
    let i = base + p * pc.c;
    y_contrast[i] = clamp((x[i] - mean) * f + mean, pc.lo, pc.hi);
  }
}
