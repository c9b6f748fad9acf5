// Shared by every matmul variant (shaders/matmul.wgsl, matmul_tiled_body.wgsl, matmul_subgroup.wgsl), included with
// `//! include matmul_common`: the uniform block, the bias/scale/output bindings, where a block of C sits (locate),
// the A-scale prologue (a_scale), the 4-deep FMA step on a TM x (4*TN4) register block and the bias + activation
// epilogue (store).
// The operand bindings a, b (binding 0, 1) are declared by each including file, scalar or vec4.

override WGX: u32 = 8u;
override WGY: u32 = 8u;
// Rows per invocation (1..16) and vec4 column groups per invocation (1..2), with TM * TN4 <= 16.
override TM: u32 = 4u;
override TN4: u32 = 1u;

//! include activation

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  groups_n: u32,
  groups_m: u32,
  brank: u32,   // 0: one batch of C (A and B offsets are 0)
  sam: u32,
  sak: u32,
  sbk: u32,
  sbn: u32,
  act: u32,     // ACTIVATION in src/ops/activation.ts (shaders/activation.wgsl)
  has_bias: u32,
  // Tiled kernels only (a uniform, not overrides, so that one pipeline serves every layout): bit 0 AK, bit 1 BK,
  // bit 2 VA, bit 3 VB (see shaders/matmul_tiled_body.wgsl).
  lay: u32,
  // A-scale prologue (has_scale 1): A(row, k) is read as A(row, k) * ascale[(row / scale_rows) * K + k], a
  // per-(image, K) scale such as a squeeze-excite gate; only for untransposed, unbatched A (the host checks).
  has_scale: u32,
  scale_rows: u32,
  // Output-scale epilogue (has_cscale 1): C(row, col) = act(acc * cscale[col] + bias[col]), a folded batch norm.
  has_cscale: u32,
  // Residual epilogue (has_resid 1): C(row, col) = act(...) + resid[row * N + col] (a skip connection's add).
  has_resid: u32,
  bshape: array<vec4<u32>, 2>,
  astr: array<vec4<u32>, 2>,
  bstr: array<vec4<u32>, 2>,
}

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> ascale: array<f32>;
@group(0) @binding(4) var<storage, read> cscale: array<f32>;
@group(0) @binding(5) var<storage, read> resid: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}

// Offset of row `row`'s scales in ascale (add k); 0 when there is no scale (a_scale4 then gives 1).
fn scale_base(row: u32) -> u32 {
  if (p.has_scale == 0u) { return 0u; }
  return (min(row, p.m - 1u) / p.scale_rows) * p.k;
}

// The A-scale of elements k..k+3 of a row whose scales start at `base`; 1 without a scale, 0 past K.
fn a_scale4(base: u32, k: u32) -> vec4<f32> {
  if (p.has_scale == 0u) { return vec4<f32>(1.0); }
  var s = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (k + q < p.k) { s[q] = ascale[base + k + q]; }
  }
  return s;
}

// Where one invocation's block sits: batch offsets of A and B and the block's first row and column.
struct Block {
  valid: bool,
  bi: u32,
  abase: u32,
  bbase: u32,
  row0: u32,
  col0: u32,
}

fn locate(lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> Block {
  var blk: Block;
  let g = wid.x + wid.y * nwg.x;
  let t = g / p.groups_n;
  blk.bi = t / p.groups_m;
  blk.row0 = ((t % p.groups_m) * WGY + lid.y) * TM;
  blk.col0 = ((g % p.groups_n) * WGX + lid.x) * TN4 * 4u;
  blk.valid = blk.bi < p.batch && blk.row0 < p.m && blk.col0 < p.n;
  if (p.brank > 0u) {
    var rem = blk.bi;
    for (var d = i32(p.brank) - 1; d >= 0; d--) {
      let e = at(p.bshape, u32(d));
      let coord = rem % e;
      rem = rem / e;
      blk.abase += coord * at(p.astr, u32(d));
      blk.bbase += coord * at(p.bstr, u32(d));
    }
  }
  return blk;
}

// acc[i * TN4 + j] += sum over kk of av[i][kk] * bv[kk * TN4 + j]: the 4-deep slice of the K loop.
fn fma_block(acc: ptr<function, array<vec4<f32>, 16>>, av: ptr<function, array<vec4<f32>, 16>>,
             bv: ptr<function, array<vec4<f32>, 8>>) {
  for (var i = 0u; i < TM; i++) {
    let ai = (*av)[i];
    for (var j = 0u; j < TN4; j++) {
      (*acc)[i * TN4 + j] += ai.x * (*bv)[j] + ai.y * (*bv)[TN4 + j] + ai.z * (*bv)[2u * TN4 + j] + ai.w * (*bv)[3u * TN4 + j];
    }
  }
}

// Scales by cscale (when set), adds the bias, applies the activation, adds the residual (when set) and writes the in-range part of the block.
fn store(blk: Block, acc: ptr<function, array<vec4<f32>, 16>>) {
  let M = p.m;
  let N = p.n;
  let cbase = blk.bi * M * N;
  for (var j = 0u; j < TN4; j++) {
    let c0 = blk.col0 + 4u * j;
    let cj = min(vec4<u32>(c0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));
    var bvec = vec4<f32>(0.0);
    if (p.has_bias != 0u) {
      bvec = vec4<f32>(bias[cj.x], bias[cj.y], bias[cj.z], bias[cj.w]);
    }
    var svec = vec4<f32>(1.0);
    if (p.has_cscale != 0u) {
      svec = vec4<f32>(cscale[cj.x], cscale[cj.y], cscale[cj.z], cscale[cj.w]);
    }
    for (var i = 0u; i < TM; i++) {
      let row = blk.row0 + i;
      if (row >= M) { break; }
      let v = (*acc)[i * TN4 + j] * svec + bvec;
      let o = cbase + row * N + c0;
      for (var q = 0u; q < 4u; q++) {
        if (c0 + q < N) {
          var y = activate(v[q], p.act);
          if (p.has_resid != 0u) { y += resid[o + q]; }
          c[o + q] = y;
        }
      }
    }
  }
}
