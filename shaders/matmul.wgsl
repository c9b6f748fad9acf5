// Tuned matmul with a fused epilogue: C = act(op(A) · op(B) * cscale + bias) + resid, batched with NumPy
// broadcasting, and an optional A-scale prologue (see has_scale, has_cscale, has_resid in matmul_common.wgsl).
//
// matmul, matmul_vec4:  in: a, b, bias, ascale, cscale, resid (dummy bindings when unused)   out: c   uniform: Params
//   op(A) is [M, K] read through strides (sam, sak), op(B) is [K, N] through (sbk, sbn): transposes are strides.
//   One invocation computes a TM x (4*TN4) block of C held in registers (register tiling, no workgroup memory:
//   on lavapipe a workgroup runs on one CPU thread, so shared memory only adds barriers). Out-of-range rows and
//   columns are clamped on load (reads stay in bounds) and skipped on store, so any M, N, K is exact.
//   matmul gathers scalars (any strides); matmul_vec4 loads vec4s where the layout allows (see VA, VB).
// act_backward:  in: y, dy   out: dz   dz = dy * act'(z), with act' computed from the output y
//   (relu, relu6, sigmoid, tanh; silu's derivative needs z and is done by the elementwise kernels instead).
// Dispatch (matmul*): grid(ceil(N / (WGX*4*TN4)) * ceil(M / (WGY*TM)) * batch) workgroups of WGX x WGY;
//   linear group = wid.x + wid.y * nwg.x = (bi * groups_m + gm) * groups_n + gn.
// Dispatch (act_backward): grid(ceil(n / (4*WGX))) workgroups of WGX; one invocation: 4 consecutive elements.

// act_backward only: the activation code (ACTIVATION in src/ops/activation.ts; silu excluded).
// NOTE: the matmul entries take the activation, the bias flag and the batch rank as uniforms, not overrides:
// each specialization of the unrolled 8x8 block costs seconds of LLVM time on lavapipe, the epilogue almost nothing.
override ACT: u32 = 0u;
// matmul_vec4 layouts. VA 1: A is [M, K] with K % 4 == 0 (vec4 along K); 2: A is [K, M] with M % 4 == 0 and
// TM % 4 == 0 (vec4 along M). VB 1: B is [K, N] with N % 4 == 0 (vec4 along N); 2: B is [N, K] with K % 4 == 0.
override VA: u32 = 1u;
override VB: u32 = 1u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;

//! include matmul_common

@compute @workgroup_size(WGX, WGY)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let blk = locate(lid, wid, nwg);
  if (!blk.valid) { return; }
  let M = p.m;
  let N = p.n;
  let K = p.k;
  let sak = p.sak;
  let sbk = p.sbk;
  // Clamped offsets: rows past M re-read row M-1 and columns past N re-read column N-1; their results are dropped.
  var aoff: array<u32, 16>;
  var soff: array<u32, 16>;
  for (var i = 0u; i < TM; i++) {
    aoff[i] = blk.abase + min(blk.row0 + i, M - 1u) * p.sam;
    soff[i] = scale_base(blk.row0 + i);
  }
  var boff: array<vec4<u32>, 2>;
  for (var j = 0u; j < TN4; j++) {
    let cj = vec4<u32>(blk.col0 + 4u * j) + vec4<u32>(0u, 1u, 2u, 3u);
    boff[j] = vec4<u32>(blk.bbase) + min(cj, vec4<u32>(N - 1u)) * p.sbn;
  }
  var acc: array<vec4<f32>, 16>;
  var av: array<vec4<f32>, 16>;
  var bv: array<vec4<f32>, 8>;
  let k4 = K & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    for (var kk = 0u; kk < 4u; kk++) {
      let kb = (k + kk) * sbk;
      for (var j = 0u; j < TN4; j++) {
        let o = boff[j] + vec4<u32>(kb);
        bv[kk * TN4 + j] = vec4<f32>(b[o.x], b[o.y], b[o.z], b[o.w]);
      }
    }
    // NOTE: rows of one image share their scales: load them once per block unless the block straddles images.
    let s0 = a_scale4(soff[0], k);
    for (var i = 0u; i < TM; i++) {
      let o = aoff[i] + k * sak;
      var sv = s0;
      if (soff[i] != soff[0]) { sv = a_scale4(soff[i], k); }
      av[i] = vec4<f32>(a[o], a[o + sak], a[o + 2u * sak], a[o + 3u * sak]) * sv;
    }
    fma_block(&acc, &av, &bv);
  }
  for (var k = k4; k < K; k++) {
    for (var j = 0u; j < TN4; j++) {
      let o = boff[j] + vec4<u32>(k * sbk);
      let bk = vec4<f32>(b[o.x], b[o.y], b[o.z], b[o.w]);
      for (var i = 0u; i < TM; i++) {
        acc[i * TN4 + j] += a[aoff[i] + k * sak] * a_scale4(soff[i], k).x * bk;
      }
    }
  }
  store(blk, &acc);
}

@compute @workgroup_size(WGX, WGY)
fn matmul_vec4(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let blk = locate(lid, wid, nwg);
  if (!blk.valid) { return; }
  let M = p.m;
  let N = p.n;
  let K = p.k;
  // Offsets in vec4 units of each row (VA 1) or 4-row group (VA 2) of op(A), and of each 4-column group (VB 1)
  // or column (VB 2) of op(B); clamped like the scalar kernel (the layout conditions keep them aligned).
  var aoff: array<u32, 16>;
  var soff: array<u32, 16>;
  for (var i = 0u; i < TM; i++) {
    soff[i] = scale_base(blk.row0 + i);
    if (VA == 1u) {
      aoff[i] = (blk.abase + min(blk.row0 + i, M - 1u) * K) / 4u;
    } else if (i % 4u == 0u) {
      aoff[i / 4u] = (blk.abase + min(blk.row0 + i, M - 4u)) / 4u;
    }
  }
  var boff: array<u32, 8>;
  for (var j = 0u; j < TN4; j++) {
    if (VB == 1u) {
      boff[j] = (blk.bbase + min(blk.col0 + 4u * j, N - 4u)) / 4u;
    } else {
      for (var q = 0u; q < 4u; q++) {
        boff[4u * j + q] = (blk.bbase + min(blk.col0 + 4u * j + q, N - 1u) * K) / 4u;
      }
    }
  }
  let m4 = M / 4u;
  let n4 = N / 4u;
  var acc: array<vec4<f32>, 16>;
  var av: array<vec4<f32>, 16>;
  var bv: array<vec4<f32>, 8>;
  let k4 = K & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    if (VB == 1u) {
      for (var kk = 0u; kk < 4u; kk++) {
        for (var j = 0u; j < TN4; j++) {
          bv[kk * TN4 + j] = b4[boff[j] + (k + kk) * n4];
        }
      }
    } else {
      for (var j = 0u; j < TN4; j++) {
        for (var q = 0u; q < 4u; q++) {
          // NOTE: B(k..k+3, col) arrives as one vec4; its components scatter over the 4 k-rows of bv.
          let v = b4[boff[4u * j + q] + k / 4u];
          bv[j][q] = v.x;
          bv[TN4 + j][q] = v.y;
          bv[2u * TN4 + j][q] = v.z;
          bv[3u * TN4 + j][q] = v.w;
        }
      }
    }
    if (VA == 1u) {
      let s0 = a_scale4(soff[0], k);
      for (var i = 0u; i < TM; i++) {
        var sv = s0;
        if (soff[i] != soff[0]) { sv = a_scale4(soff[i], k); }
        av[i] = a4[aoff[i] + k / 4u] * sv;
      }
    } else {
      for (var i4 = 0u; i4 < TM / 4u; i4++) {
        for (var kk = 0u; kk < 4u; kk++) {
          // A(rows r..r+3, k+kk) as one vec4: transpose into av's rows.
          // NOTE: VA 2 is a transposed A, which never has a scale (the host checks).
          let v = a4[aoff[i4] + (k + kk) * m4];
          av[4u * i4][kk] = v.x;
          av[4u * i4 + 1u][kk] = v.y;
          av[4u * i4 + 2u][kk] = v.z;
          av[4u * i4 + 3u][kk] = v.w;
        }
      }
    }
    fma_block(&acc, &av, &bv);
  }
  // NOTE: a K tail exists only when VA == 2 and VB == 1 (both load along M or N, one k at a time).
  for (var k = k4; k < K; k++) {
    for (var i4 = 0u; i4 < TM / 4u; i4++) {
      let va = a4[aoff[i4] + k * m4];
      for (var j = 0u; j < TN4; j++) {
        let bk = b4[boff[j] + k * n4];
        acc[(4u * i4) * TN4 + j] += va.x * bk;
        acc[(4u * i4 + 1u) * TN4 + j] += va.y * bk;
        acc[(4u * i4 + 2u) * TN4 + j] += va.z * bk;
        acc[(4u * i4 + 3u) * TN4 + j] += va.w * bk;
      }
    }
  }
  store(blk, &acc);
}

struct ActParams {
  n: u32,
}

@group(0) @binding(0) var<storage, read> ay: array<f32>;
@group(0) @binding(1) var<storage, read> ady: array<f32>;
@group(0) @binding(2) var<storage, read_write> adz: array<f32>;
@group(0) @binding(3) var<uniform> ap: ActParams;

@compute @workgroup_size(WGX)
fn act_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = ((wid.x + wid.y * nwg.x) * WGX + lid) * 4u;
  for (var q = 0u; q < 4u; q++) {
    let i = base + q;
    if (i < ap.n) {
      adz[i] = ady[i] * activate_grad_from_output(ay[i], ACT);
    }
  }
}
