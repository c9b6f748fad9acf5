// Naive matmul: the textbook loop, kept as living documentation of what shaders/matmul.wgsl computes
// and as the benchmark baseline for it.
//
// matmul_naive:  in: a, b   out: c   uniform: Params
//   C[m, n] = sum_k op(A)[m, k] * op(B)[k, n], with op(A)[m, k] = a[m * sam + k * sak] and
//   op(B)[k, n] = b[k * sbk + n * sbn] (a transpose is a swap of strides). 2-D only, no epilogue.
//   One invocation computes one element of C with a scalar loop over K.
// Dispatch: (ceil(N / WG), ceil(M / WG), 1) workgroups of WG x WG.

override WG: u32 = 8u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  sam: u32,
  sak: u32,
  sbk: u32,
  sbn: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG, WG)
fn matmul_naive(@builtin(global_invocation_id) id: vec3<u32>) {
  let col = id.x;
  let row = id.y;
  if (row >= p.m || col >= p.n) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.k; k++) {
    acc += a[row * p.sam + k * p.sak] * b[k * p.sbk + col * p.sbn];
  }
  c[row * p.n + col] = acc;
}
