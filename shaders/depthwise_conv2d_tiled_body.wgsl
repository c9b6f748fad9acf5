// Workgroup-memory tiled depthwise convolution, vec4 path only (MULT == 1, C % 4 == 0): the body shared by the f32
// and f16 tile files (each defines `alias tile_t`). NHWC x [N, H, W, C], filter [KH, KW, C] as vec4 groups.
// A workgroup stages one input tile (its pixels plus the filter's halo, CG channel groups) in workgroup memory
// once, as vec4<tile_t> (f16 rounds on load; accumulation is always f32), then each invocation computes one pixel
// of one channel group from it. Invocation lid: channel group lid % CG, pixel (lid / CG) % PW, row lid / (CG*PW).
//
// depthwise_tiled_forward:         in: x, w, bias   out: y [N, OH, OW, C]
//   the workgroup's output tile is PH x PW pixels; its input tile TH x TW = ((PH-1)*SH + (KH-1)*DH + 1) x (same
//   along W), from row oy0*SH - pt, column ox0*SW - pl.
// depthwise_tiled_backward_input:  in: dy, w        out: dx [N, H, W, C]
//   the workgroup's tile is PH x PW input pixels; its dy tile starts at oy = floor((iy0 + pt - (KH-1)*DH) / SH)
//   and spans TH = floor((PH + (KH-1)*DH + SH - 2) / SH) + 1 rows (the host computes TH, TW).
// Dispatch (both): grid(N * ceil(rows / PH) * ceil(cols / PW) * ceil(CH / CG)) workgroups of CG*PW*PH, CH = C/4;
//   the groups past `groups` (grid rounding) return at once, uniformly.

override WG: u32 = 64u;
override CG: u32 = 4u;
override PW: u32 = 4u;
override PH: u32 = 4u;
override TW: u32 = 6u;
override TH: u32 = 6u;
//! include depthwise_vec4_params

//! include activation

var<workgroup> tile: array<vec4<tile_t>, TH * TW * CG>;

// The workgroup's block: batch, first row and column of its pixel tile, first channel group.
struct Block {
  n: u32,
  y0: u32,
  x0: u32,
  c0: u32,
}

fn block_of(gi: u32, ch: u32, rows: u32, cols: u32) -> Block {
  let cblocks = (ch + CG - 1u) / CG;
  let tx = (cols + PW - 1u) / PW;
  let ty = (rows + PH - 1u) / PH;
  var r = gi / cblocks;
  let bx = r % tx;
  r = r / tx;
  return Block(r / ty, (r % ty) * PH, bx * PW, (gi % cblocks) * CG);
}

// floor(a / b) for b > 0.
fn floor_div(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1, a % b != 0 && a < 0);
}

// ---- forward ----

@group(0) @binding(0) var<storage, read> fx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> fw: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> fb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> fy: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> fp: TParams;

@compute @workgroup_size(WG)
fn depthwise_tiled_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                           @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = fp;
  let gi = wid.x + wid.y * nwg.x;
  if (gi >= p.groups) { return; }
  let b = block_of(gi, p.ch, p.oh, p.ow);
  let iy0 = i32(b.y0 * SH) - i32(p.pt);
  let ix0 = i32(b.x0 * SW) - i32(p.pl);
  // NOTE: consecutive invocations load consecutive channel groups of one pixel (contiguous in NHWC).
  for (var i = lid; i < TH * TW * CG; i += WG) {
    let c = b.c0 + i % CG;
    let ih = iy0 + i32(i / (CG * TW));
    let iw = ix0 + i32((i / CG) % TW);
    let ok = c < p.ch && ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
    let v = select(vec4<f32>(0.0), fx[select(0u, ((b.n * p.h + u32(ih)) * p.w + u32(iw)) * p.ch + c, ok)], ok);
    tile[i] = vec4<tile_t>(v);
  }
  workgroupBarrier();
  let cl = lid % CG;
  let px = (lid / CG) % PW;
  let py = lid / (CG * PW);
  let c = b.c0 + cl;
  let oy = b.y0 + py;
  let ox = b.x0 + px;
  if (c >= p.ch || oy >= p.oh || ox >= p.ow) { return; }
  var acc = vec4<f32>(0.0);
  if (p.has_bias == 1u) { acc = fb[c]; }
  for (var ky = 0u; ky < KH; ky++) {
    let row = (py * SH + ky * DH) * TW + px * SW;
    for (var kx = 0u; kx < KW; kx++) {
      acc = fma(vec4<f32>(tile[(row + kx * DW) * CG + cl]), fw[(ky * KW + kx) * p.ch + c], acc);
    }
  }
  fy[((b.n * p.oh + oy) * p.ow + ox) * p.ch + c] = activate4(acc, p.act);
}

// ---- backward w.r.t. the input ----

@group(0) @binding(0) var<storage, read> gdy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gw: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> gdx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> gp: TParams;

@compute @workgroup_size(WG)
fn depthwise_tiled_backward_input(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gp;
  let gi = wid.x + wid.y * nwg.x;
  if (gi >= p.groups) { return; }
  let b = block_of(gi, p.ch, p.h, p.w);
  let oyb = floor_div(i32(b.y0 + p.pt) - i32((KH - 1u) * DH), i32(SH));
  let oxb = floor_div(i32(b.x0 + p.pl) - i32((KW - 1u) * DW), i32(SW));
  for (var i = lid; i < TH * TW * CG; i += WG) {
    let c = b.c0 + i % CG;
    let oy = oyb + i32(i / (CG * TW));
    let ox = oxb + i32((i / CG) % TW);
    let ok = c < p.ch && oy >= 0 && oy < i32(p.oh) && ox >= 0 && ox < i32(p.ow);
    let v = select(vec4<f32>(0.0), gdy[select(0u, ((b.n * p.oh + u32(oy)) * p.ow + u32(ox)) * p.ch + c, ok)], ok);
    tile[i] = vec4<tile_t>(v);
  }
  workgroupBarrier();
  let cl = lid % CG;
  let c = b.c0 + cl;
  let iy = b.y0 + lid / (CG * PW);
  let ix = b.x0 + (lid / CG) % PW;
  if (c >= p.ch || iy >= p.h || ix >= p.w) { return; }
  var acc = vec4<f32>(0.0);
  // NOTE: offsets from the tile's first dy row/column are >= 0, so the stride test needs no signed modulo.
  let ay = u32(i32(iy + p.pt) - oyb * i32(SH));
  let ax = u32(i32(ix + p.pl) - oxb * i32(SW));
  for (var ky = 0u; ky < KH; ky++) {
    let a = ay - ky * DH;
    if (a % SH != 0u) { continue; }
    for (var kx = 0u; kx < KW; kx++) {
      let e = ax - kx * DW;
      if (e % SW != 0u) { continue; }
      acc = fma(vec4<f32>(tile[((a / SH) * TW + e / SW) * CG + cl]), gw[(ky * KW + kx) * p.ch + c], acc);
    }
  }
  gdx[((b.n * p.h + iy) * p.w + ix) * p.ch + c] = acc;
}
