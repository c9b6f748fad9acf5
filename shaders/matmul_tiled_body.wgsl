// Workgroup-memory tiled matmul, the body shared by matmul_tiled.wgsl (f32 tiles) and matmul_tiled_f16.wgsl (f16
// tiles, f32 accumulation); the including file defines `alias tile_t`.
//
// matmul_tiled:  in: a, b, bias, ascale, cscale, resid (dummy bindings when unused)   out: c   uniform: Params (matmul_common)
//   A workgroup of WGX x WGY invocations computes a (WGY*TM) x (WGX*4*TN4) tile of C. Per step of TK along K, the
//   workgroup stages op(A)'s and op(B)'s tiles in workgroup memory as [k][row] and [k][col]; each invocation then
//   runs its TM x (4*TN4) register block (fma_block) from there. Double-buffered: the next step's global loads are
//   issued into registers before this step's arithmetic, then stored to the other buffer: one barrier per step.
//   Loads move 4-element runs along each operand's contiguous axis (AK, BK); where those runs are 16-byte aligned
//   (VA, VB) a run is one vec4 load, otherwise 4 scalar reads; out-of-range elements load as 0.
// Dispatch: as matmul.wgsl: grid(ceil(N / (WGX*4*TN4)) * ceil(M / (WGY*TM)) * batch) workgroups of WGX x WGY.

// K per staged tile (a multiple of 4).
override TK: u32 = 16u;
// p.lay bits: contiguous axis of each operand's 4-element runs: AK (bit 0) 1: A along K (sak == 1), 0: along M
// (sam == 1); BK (bit 1) 1: B along K (sbk == 1), 0: along N (sbn == 1). VA, VB (bits 2, 3): every run of A, B
// starts 16-byte aligned (the host checks strides and batch offsets): vec4 loads.

// NOTE: scalars are read through the vec4 view (a4[i / 4][i % 4]), so one binding serves both load widths.
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;

//! include matmul_common

// Runs per invocation per operand and step (at most MAXR; the host checks).
const MAXR: u32 = 4u;

var<workgroup> tile_a: array<tile_t, 2u * TK * WGY * TM>;
var<workgroup> tile_b: array<tile_t, 2u * TK * WGX * TN4 * 4u>;

// One 4-element run of an operand tile: its place in the tile ([k][x]), how many of its elements are in range and
// where the first one is in global memory.
struct Run {
  x: u32,
  k: u32,
  n: u32,
  idx: u32,
}

// Run l of a TK x tx tile at (x0, k0) of an operand with extent xe along x, strides sx, sk and batch offset base.
fn run_at(l: u32, along_k: bool, tx: u32, x0: u32, xe: u32, k0: u32, base: u32, sx: u32, sk: u32) -> Run {
  var r: Run;
  let K = p.k;
  if (along_k) {
    let per = TK / 4u;
    r.x = l / per;
    r.k = (l % per) * 4u;
    let gx = x0 + r.x;
    let gk = k0 + r.k;
    r.n = select(0u, min(4u, K - gk), gx < xe && gk < K);
    r.idx = base + gx * sx + gk;
  } else {
    let per = tx / 4u;
    r.k = l / per;
    r.x = (l % per) * 4u;
    let gx = x0 + r.x;
    let gk = k0 + r.k;
    r.n = select(0u, min(4u, xe - gx), gx < xe && gk < K);
    r.idx = base + gx + gk * sk;
  }
  return r;
}

fn fetch(from_b: bool, vec: bool, idx: u32, n: u32) -> vec4<f32> {
  if (vec && n == 4u) {
    if (from_b) { return b4[idx / 4u]; }
    return a4[idx / 4u];
  }
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < n; q++) {
    let i = idx + q;
    if (from_b) { v[q] = b4[i / 4u][i % 4u]; } else { v[q] = a4[i / 4u][i % 4u]; }
  }
  return v;
}

// Where run r's element q goes in a [k][x] tile of width tx.
fn slot(r: Run, q: u32, along_k: bool, tx: u32) -> u32 {
  if (along_k) { return (r.k + q) * tx + r.x; }
  return r.k * tx + r.x + q;
}

@compute @workgroup_size(WGX, WGY)
fn matmul_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32,
                @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // NOTE: a whole workgroup past the batch (grid() rounds up) leaves together, so barriers stay uniform.
  if ((wid.x + wid.y * nwg.x) / p.groups_n / p.groups_m >= p.batch) { return; }
  let blk = locate(lid, wid, nwg);
  let tsm = WGY * TM;
  let tsn = WGX * TN4 * 4u;
  let nt = WGX * WGY;
  let m0 = blk.row0 - lid.y * TM;
  let n0 = blk.col0 - lid.x * TN4 * 4u;
  let ra = (tsm * TK / 4u + nt - 1u) / nt;
  let rb = (tsn * TK / 4u + nt - 1u) / nt;
  let ak = (p.lay & 1u) != 0u;
  let bk = (p.lay & 2u) != 0u;
  let va = (p.lay & 4u) != 0u;
  let vb = (p.lay & 8u) != 0u;
  var ga: array<vec4<f32>, MAXR>;
  var gb: array<vec4<f32>, MAXR>;
  var acc: array<vec4<f32>, 16>;
  var av: array<vec4<f32>, 16>;
  var bv: array<vec4<f32>, 8>;
  let steps = (p.k + TK - 1u) / TK;
  for (var s = 0u; s <= steps; s++) {
    // Global loads of step s into registers (issued before step s-1's arithmetic).
    if (s < steps) {
      for (var i = 0u; i < ra; i++) {
        let l = li + i * nt;
        if (l < tsm * TK / 4u) {
          let r = run_at(l, ak, tsm, m0, p.m, s * TK, blk.abase, p.sam, p.sak);
          // NOTE: a scaled A is untransposed (AK), so a run is one row's 4 consecutive k (the host checks).
          ga[i] = fetch(false, va, r.idx, r.n) * a_scale4(scale_base(m0 + r.x), s * TK + r.k);
        }
      }
      for (var i = 0u; i < rb; i++) {
        let l = li + i * nt;
        if (l < tsn * TK / 4u) {
          let r = run_at(l, bk, tsn, n0, p.n, s * TK, blk.bbase, p.sbn, p.sbk);
          gb[i] = fetch(true, vb, r.idx, r.n);
        }
      }
    }
    if (s > 0u) {
      let oa = ((s - 1u) % 2u) * TK * tsm;
      let ob = ((s - 1u) % 2u) * TK * tsn;
      let r0 = lid.y * TM;
      let c0 = lid.x * TN4 * 4u;
      for (var k = 0u; k < TK; k += 4u) {
        for (var i = 0u; i < TM; i++) {
          let o = oa + k * tsm + r0 + i;
          av[i] = vec4<f32>(f32(tile_a[o]), f32(tile_a[o + tsm]), f32(tile_a[o + 2u * tsm]), f32(tile_a[o + 3u * tsm]));
        }
        for (var kk = 0u; kk < 4u; kk++) {
          for (var j = 0u; j < TN4; j++) {
            let o = ob + (k + kk) * tsn + c0 + 4u * j;
            bv[kk * TN4 + j] = vec4<f32>(f32(tile_b[o]), f32(tile_b[o + 1u]), f32(tile_b[o + 2u]), f32(tile_b[o + 3u]));
          }
        }
        fma_block(&acc, &av, &bv);
      }
    }
    // Registers to the other buffer; the barrier orders these writes before step s's reads and after step s-1's.
    if (s < steps) {
      let oa = (s % 2u) * TK * tsm;
      let ob = (s % 2u) * TK * tsn;
      for (var i = 0u; i < ra; i++) {
        let l = li + i * nt;
        if (l < tsm * TK / 4u) {
          let r = run_at(l, ak, tsm, m0, p.m, s * TK, blk.abase, p.sam, p.sak);
          for (var q = 0u; q < 4u; q++) { tile_a[oa + slot(r, q, ak, tsm)] = tile_t(ga[i][q]); }
        }
      }
      for (var i = 0u; i < rb; i++) {
        let l = li + i * nt;
        if (l < tsn * TK / 4u) {
          let r = run_at(l, bk, tsn, n0, p.n, s * TK, blk.bbase, p.sbn, p.sbk);
          for (var q = 0u; q < 4u; q++) { tile_b[ob + slot(r, q, bk, tsn)] = tile_t(gb[i][q]); }
        }
      }
    }
    workgroupBarrier();
  }
  if (blk.valid) { store(blk, &acc); }
}
