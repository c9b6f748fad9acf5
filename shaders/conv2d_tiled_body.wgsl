// Workgroup-memory tiled convolution as an implicit GEMM, the body shared by conv2d_tiled.wgsl (f32 tiles) and
// conv2d_tiled_f16.wgsl (f16 tiles, f32 accumulation); the including file defines `alias tile_t`.
//
// conv2d_tiled:  in: in0, in1, in2 (bias, or a dummy binding)   out: out   uniform: TiledParams
//   STAGE 0, forward:         C[m, co] = act(sum_k im2col(x)[m, k] * w[k, co] + bias[co]), m = (n*OH + oh)*OW + ow,
//                             k = (ky*KW + kx)*CIN + ci; in0 = x, in1 = w; C is y [N*OH*OW, COUT].
//   STAGE 1, backward input:  C[q, ci] = sum_k dycol[q, k] * w[ky, kx, ci, co], q = (n*H + ih)*W + iw,
//                             k = (ky*KW + kx)*COUT + co, dycol[q, k] = dy[n, oy, ox, co] where
//                             oy = (ih + PT - ky*DH) / SH is whole and in range (likewise ox), else 0; in0 = dy, in1 = w.
//   STAGE 2, backward filter: C[r, co] = sum over m in chunk z of im2col(x)[m, r] * dy[m, co], r = (ky*KW + kx)*CIN + ci;
//                             in0 = x, in1 = dy; C is the partial [Z, KH*KW*CIN, COUT] (summed on the host side).
//   A workgroup of WGX x WGY invocations computes a (WGY*TM) x (WGX*4) tile of C, each invocation a TM x 4 block
//   in registers. Per step of TK along K the workgroup stages A's tile (gathered im2col rows, padding as zeros) and
//   B's tile in workgroup memory as [k][row] and [k][col]; double-buffered as shaders/matmul_tiled_body.wgsl: the
//   next step's global loads go to registers before this step's arithmetic, then to the other buffer (one barrier
//   per step). Loads move 4-element runs along each operand's contiguous axis; a run that is one aligned vec4 in
//   memory (VA, VB: the channel count of the run's axis is a multiple of 4) is one vec4 load.
// Dispatch: grid(ceil(GN / (WGX*4)) * ceil(GM / (WGY*TM))) x Z workgroups (Z: K chunks, stage 2; else 1).

override WGX: u32 = 16u;
override WGY: u32 = 16u;
// Rows of C per invocation: 4, so that an invocation's rows (and columns) are one vec4 of a staged tile.
const TM: u32 = 4u;
// K per staged tile (a multiple of 4).
override TK: u32 = 16u;
// 0 forward, 1 backward input, 2 backward filter.
override STAGE: u32 = 0u;

//! include activation

struct TiledParams {
  n: u32, h: u32, w: u32, cin: u32,
  oh: u32, ow: u32, cout: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, dh: u32,
  dw: u32, pt: u32, pl: u32, act: u32,
  has_bias: u32, gm: u32, gn: u32, gk: u32,
  // K per chunk (stage 2; gk otherwise), column groups of the grid, bit 0: VA, bit 1: VB.
  kchunk: u32, groups_n: u32, groups_m: u32, lay: u32,
}

// NOTE: scalars are read through the vec4 view (in0[i / 4][i % 4]), so one binding serves both load widths.
@group(0) @binding(0) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> in1: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> in2: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: TiledParams;

const MAXR: u32 = 4u;

// NOTE: vec4 elements: the compute step reads an invocation's 4 rows of A and 4 columns of B as one load each.
var<workgroup> tile_a: array<vec4<tile_t>, 2u * TK * WGY * TM / 4u>;
var<workgroup> tile_b: array<vec4<tile_t>, 2u * TK * WGX>;

// A's runs lie along K in stages 0 and 1 (channels within a tap), along M in stage 2 (filter rows within a tap);
// B's along N in stages 0 and 2 (output channels), along K in stage 1 (w[ky, kx, ci, :]).
fn a_along_k() -> bool { return STAGE != 2u; }
fn b_along_k() -> bool { return STAGE == 1u; }

// The pixel of A's runs: stages 0 and 2, an output pixel m (of the row, of k); stage 1, an input pixel q (of the row).
// nb: first row of its image in the gathered tensor; y, x: the coordinates tap (0, 0) reads, before dilation.
struct Pix {
  ok: bool,
  nb: u32,
  y: i32,
  x: i32,
}

fn pix_of(m: u32, ok: bool) -> Pix {
  var px: Pix;
  px.ok = ok;
  if (STAGE == 1u) {
    let r = m / p.w;
    px.nb = (r / p.h) * p.oh;
    px.y = i32(r % p.h + p.pt);
    px.x = i32(m % p.w + p.pl);
  } else {
    let r = m / p.ow;
    px.nb = (r / p.oh) * p.h;
    px.y = i32((r % p.oh) * p.sh) - i32(p.pt);
    px.x = i32((m % p.ow) * p.sw) - i32(p.pl);
  }
  return px;
}

// Index in in0 of the element at filter row kk (stages 0, 2: (ky*KW + kx)*CIN + ci; stage 1: (ky*KW + kx)*COUT + co)
// of pixel px, or -1 in the padding (stage 1: where no output pixel reads the input pixel through that tap).
fn idx_at(px: Pix, kk: u32) -> i32 {
  if (!px.ok) { return -1; }
  if (STAGE == 1u) {
    let t = kk / p.cout;
    let a = px.y - i32((t / p.kw) * p.dh);
    let b = px.x - i32((t % p.kw) * p.dw);
    if (a < 0 || b < 0) { return -1; }
    let oy = u32(a) / p.sh;
    let ox = u32(b) / p.sw;
    if (oy * p.sh != u32(a) || ox * p.sw != u32(b) || oy >= p.oh || ox >= p.ow) { return -1; }
    return i32(((px.nb + oy) * p.ow + ox) * p.cout + kk % p.cout);
  }
  let t = kk / p.cin;
  let ih = px.y + i32((t / p.kw) * p.dh);
  let iw = px.x + i32((t % p.kw) * p.dw);
  if (ih < 0 || iw < 0 || ih >= i32(p.h) || iw >= i32(p.w)) { return -1; }
  return i32(((px.nb + u32(ih)) * p.w + u32(iw)) * p.cin + kk % p.cin);
}

// Index in in1 of B[k, col], or -1 outside the matrix.
fn idx_b(k: u32, col: u32, kend: u32) -> i32 {
  if (k >= kend || col >= p.gn) { return -1; }
  if (STAGE == 1u) {
    // w[ky, kx, ci, co] with k = t*COUT + co.
    return i32(((k / p.cout) * p.cin + col) * p.cout + k % p.cout);
  }
  return i32(k * p.gn + col);
}

// The 4-element run of A starting at (row, k) along A's contiguous axis; px is its pixel (all 4 elements share it).
fn load_run_a(px: Pix, row: u32, k: u32, kend: u32) -> vec4<f32> {
  let along_k = a_along_k();
  // NOTE: an aligned run has one tap and one pixel, so it is all padding or all in range: its first index decides.
  if ((p.lay & 1u) != 0u && select(row + 3u < p.gm, k + 3u < kend, along_k)) {
    let i = idx_at(px, select(row, k, along_k));
    if (i < 0) { return vec4<f32>(0.0); }
    return in0[u32(i) / 4u];
  }
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    let inside = select(row + q < p.gm, k + q < kend, along_k);
    let i = select(-1, idx_at(px, select(row + q, k + q, along_k)), inside);
    let u = u32(max(i, 0));
    v[q] = select(0.0, in0[u / 4u][u % 4u], i >= 0);
  }
  return v;
}

// The 4-element run of B starting at (k, col) along B's contiguous axis.
fn load_run_b(k: u32, col: u32, kend: u32) -> vec4<f32> {
  let along_k = b_along_k();
  if ((p.lay & 2u) != 0u && select(col + 3u < p.gn, k + 3u < kend, along_k)) {
    let i = idx_b(k, col, kend);
    if (i < 0) { return vec4<f32>(0.0); }
    return in1[u32(i) / 4u];
  }
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    let i = idx_b(select(k, k + q, along_k), select(col + q, col, along_k), kend);
    let u = u32(max(i, 0));
    v[q] = select(0.0, in1[u / 4u][u % 4u], i >= 0);
  }
  return v;
}

// Run l of a TK x tx tile: its x and k offsets in the tile.
fn run_xy(l: u32, along_k: bool, tx: u32) -> vec2<u32> {
  if (along_k) { return vec2<u32>(l / (TK / 4u), (l % (TK / 4u)) * 4u); }
  return vec2<u32>((l % (tx / 4u)) * 4u, l / (tx / 4u));
}

// Stores a run at tile offsets xk into A's (to_a) or B's [k][x] tile of width tx from element offset o: a run along
// x is one vec4 of the tile (x is a multiple of 4), a run along K four components in consecutive k rows.
fn store_run(to_a: bool, o: u32, xk: vec2<u32>, along_k: bool, tx: u32, v: vec4<f32>) {
  if (!along_k) {
    let e = (o + xk.y * tx + xk.x) / 4u;
    if (to_a) { tile_a[e] = vec4<tile_t>(v); } else { tile_b[e] = vec4<tile_t>(v); }
    return;
  }
  for (var q = 0u; q < 4u; q++) {
    let e = o + (xk.y + q) * tx + xk.x;
    if (to_a) { tile_a[e / 4u][e % 4u] = tile_t(v[q]); } else { tile_b[e / 4u][e % 4u] = tile_t(v[q]); }
  }
}

@compute @workgroup_size(WGX, WGY)
fn conv2d_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32,
                @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  // NOTE: a whole workgroup past the grid (grid() rounds up) leaves together, so barriers stay uniform.
  if (g >= p.groups_n * p.groups_m) { return; }
  let tsm = WGY * TM;
  let tsn = WGX * 4u;
  let nt = WGX * WGY;
  let m0 = (g / p.groups_n) * tsm;
  let n0 = (g % p.groups_n) * tsn;
  let kbeg = wid.z * p.kchunk;
  let kend = min(kbeg + p.kchunk, p.gk);
  let ak = a_along_k();
  let bk = b_along_k();
  let ra = (tsm * TK / 4u + nt - 1u) / nt;
  let rb = (tsn * TK / 4u + nt - 1u) / nt;
  var ga: array<vec4<f32>, MAXR>;
  var gb: array<vec4<f32>, MAXR>;
  var acc: array<vec4<f32>, 8>;
  let steps = (kend - min(kbeg, kend) + TK - 1u) / TK;
  let r0 = lid.y * TM;
  let c0 = lid.x * 4u;
  // NOTE: in stages 0 and 1 a run's row, hence its pixel, is the same at every step: decode it once.
  var apx: array<Pix, MAXR>;
  if (ak) {
    for (var i = 0u; i < ra; i++) {
      let row = m0 + run_xy(li + i * nt, ak, tsm).x;
      apx[i] = pix_of(row, row < p.gm);
    }
  }
  for (var s = 0u; s <= steps; s++) {
    let k0 = kbeg + s * TK;
    if (s < steps) {
      for (var i = 0u; i < ra; i++) {
        let l = li + i * nt;
        if (l < tsm * TK / 4u) {
          let xk = run_xy(l, ak, tsm);
          var px = apx[i];
          if (!ak) { px = pix_of(k0 + xk.y, k0 + xk.y < kend); }
          ga[i] = load_run_a(px, m0 + xk.x, k0 + xk.y, kend);
        }
      }
      for (var i = 0u; i < rb; i++) {
        let l = li + i * nt;
        if (l < tsn * TK / 4u) {
          let xk = run_xy(l, bk, tsn);
          gb[i] = load_run_b(k0 + xk.y, n0 + xk.x, kend);
        }
      }
    }
    if (s > 0u) {
      let oa = ((s - 1u) % 2u) * TK * tsm;
      let ob = ((s - 1u) % 2u) * TK * tsn;
      for (var k = 0u; k < TK; k++) {
        let o = ob + k * tsn + c0;
        let bv = vec4<f32>(tile_b[o / 4u]);
        let av = vec4<f32>(tile_a[(oa + k * tsm + r0) / 4u]);
        for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4<f32>(av[i]), bv, acc[i]); }
      }
    }
    if (s < steps) {
      let oa = (s % 2u) * TK * tsm;
      let ob = (s % 2u) * TK * tsn;
      for (var i = 0u; i < ra; i++) {
        let l = li + i * nt;
        if (l < tsm * TK / 4u) {
          let xk = run_xy(l, ak, tsm);
          store_run(true, oa, xk, ak, tsm, ga[i]);
        }
      }
      for (var i = 0u; i < rb; i++) {
        let l = li + i * nt;
        if (l < tsn * TK / 4u) {
          let xk = run_xy(l, bk, tsn);
          store_run(false, ob, xk, bk, tsn, gb[i]);
        }
      }
    }
    workgroupBarrier();
  }
  let base = wid.z * p.gm * p.gn;
  for (var i = 0u; i < TM; i++) {
    let row = m0 + r0 + i;
    if (row >= p.gm) { break; }
    for (var q = 0u; q < 4u; q++) {
      let col = n0 + c0 + q;
      if (col < p.gn) {
        var v = acc[i][q];
        if (STAGE == 0u) {
          if (p.has_bias != 0u) { v += in2[col]; }
          v = activate(v, p.act);
        }
        out[base + row * p.gn + col] = v;
      }
    }
  }
}
