// Elementwise kernels: unary maps, their derivatives, and broadcasting binary ops.
// Each invocation handles 4 elements WG apart (see linear_base).
//
// unary:           in: x            out: y     one invocation: 4 elements, y = f(x)
// unary_backward:  in: x, dy        out: dx    one invocation: 4 elements, dx = dy * f'(x)
// binary:          in: a, b         out: c     one invocation: 4 output elements, c = a (op) b
//                  with NumPy broadcasting through per-input strides (0 on broadcast dims).
// Dispatch: grid(ceil(n / (4 * WG))) workgroups of WG; linear group = wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
override OP: u32 = 0u;
// BCAST 0: a and b have the output's shape (contiguous); 1: b is a scalar; 2: general strided broadcast;
// 3: a contiguous, b repeats along the leading dim of a rank-2 (coalesced) shape;
// 4: a contiguous [s0, s1, s2], b [s0, 1, s2] (squeeze-excite's per-example, per-channel scale).
override BCAST: u32 = 2u;

struct UnaryParams {
  n: u32,
  alpha: f32,
  beta: f32,
  _pad: u32,
}

struct BinaryParams {
  n: u32,
  rank: u32,
  _p0: u32,
  _p1: u32,
  shape: array<vec4<u32>, 2>,
  astr: array<vec4<u32>, 2>,
  bstr: array<vec4<u32>, 2>,
}

const U_COPY: u32 = 0u;
const U_NEG: u32 = 1u;
const U_EXP: u32 = 2u;
const U_LOG: u32 = 3u;
const U_SQRT: u32 = 4u;
const U_RSQRT: u32 = 5u;
const U_ABS: u32 = 6u;
const U_SQUARE: u32 = 7u;
const U_POW: u32 = 8u;
const U_RELU: u32 = 9u;
const U_RELU6: u32 = 10u;
const U_SIGMOID: u32 = 11u;
const U_TANH: u32 = 12u;
const U_SILU: u32 = 13u;
const U_CLIP: u32 = 14u;
const U_AFFINE: u32 = 15u;
const U_FILL: u32 = 16u;
const U_RECIP: u32 = 17u;
const U_HARD_SIGMOID: u32 = 18u;
const U_HARD_SWISH: u32 = 19u;

//! include activation

fn pow_scalar(x: f32, p: f32) -> f32 {
  if (p == 2.0) { return x * x; }
  if (p == 1.0) { return x; }
  if (p == 0.0) { return 1.0; }
  // NOTE: WGSL pow is undefined for x < 0; integer exponents follow the real-valued sign rule.
  let r = pow(abs(x), p);
  if (x < 0.0 && fract(p) == 0.0) {
    let odd = (i32(p) & 1) == 1;
    return select(r, -r, odd);
  }
  if (x < 0.0) { return nan_f32(); }
  return r;
}

fn unary_f(x: f32, a: f32, b: f32) -> f32 {
  switch OP {
    case U_COPY: { return x; }
    case U_NEG: { return -x; }
    case U_EXP: { return exp(x); }
    case U_LOG: { return log(x); }
    case U_SQRT: { return sqrt(x); }
    case U_RSQRT: { return inverseSqrt(x); }
    case U_ABS: { return abs(x); }
    case U_SQUARE: { return x * x; }
    case U_POW: { return pow_scalar(x, a); }
    case U_RELU: { return activate(x, ACT_RELU); }
    case U_RELU6: { return activate(x, ACT_RELU6); }
    case U_SIGMOID: { return activate(x, ACT_SIGMOID); }
    case U_TANH: { return activate(x, ACT_TANH); }
    case U_SILU: { return activate(x, ACT_SILU); }
    case U_CLIP: { return clamp(x, a, b); }
    case U_AFFINE: { return x * a + b; }
    case U_FILL: { return a; }
    case U_RECIP: { return 1.0 / x; }
    case U_HARD_SIGMOID: { return clamp(a * x + b, 0.0, 1.0); }
    case U_HARD_SWISH: { return x * clamp(x / 6.0 + 0.5, 0.0, 1.0); }
    default: { return x; }
  }
}

// Derivative dy/dx at x (for ops whose derivative needs only x).
fn unary_df(x: f32, a: f32, b: f32) -> f32 {
  switch OP {
    case U_COPY: { return 1.0; }
    case U_NEG: { return -1.0; }
    case U_EXP: { return exp(x); }
    case U_LOG: { return 1.0 / x; }
    case U_SQRT: { return 0.5 * inverseSqrt(x); }
    case U_RSQRT: { return -0.5 * inverseSqrt(x) / x; }
    case U_ABS: { return sign(x); }
    case U_SQUARE: { return 2.0 * x; }
    case U_POW: { return a * pow_scalar(x, a - 1.0); }
    case U_RELU: { return activate_grad(x, ACT_RELU); }
    case U_RELU6: { return activate_grad(x, ACT_RELU6); }
    case U_SIGMOID: { return activate_grad(x, ACT_SIGMOID); }
    case U_TANH: { return activate_grad(x, ACT_TANH); }
    case U_SILU: { return activate_grad(x, ACT_SILU); }
    case U_CLIP: { return select(0.0, 1.0, x >= a && x <= b); }
    case U_AFFINE: { return a; }
    case U_FILL: { return 0.0; }
    case U_RECIP: { return -1.0 / (x * x); }
    case U_HARD_SIGMOID: { let t = a * x + b; return select(0.0, a, t > 0.0 && t < 1.0); }
    case U_HARD_SWISH: { return select(select(0.0, 1.0, x >= 3.0), x / 3.0 + 0.5, x > -3.0 && x < 3.0); }
    default: { return 1.0; }
  }
}

// NOTE: a NaN literal is a const-expression error in WGSL; a let keeps it a runtime value.
fn nan_f32() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

@group(0) @binding(0) var<storage, read> ux: array<f32>;
@group(0) @binding(1) var<storage, read_write> uy: array<f32>;
@group(0) @binding(2) var<uniform> up: UnaryParams;

// NOTE: element k of an invocation is base + k * WG: at each k the lanes of a SIMD group touch consecutive words,
// which CPU backends (lavapipe) turn into vector loads; consecutive elements per lane would be gathers.
fn linear_base(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG * 4u + lid;
}

@compute @workgroup_size(WG)
fn unary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i < up.n) {
      uy[i] = unary_f(ux[i], up.alpha, up.beta);
    }
  }
}

@group(0) @binding(0) var<storage, read> bx: array<f32>;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<uniform> bp: UnaryParams;

@compute @workgroup_size(WG)
fn unary_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i < bp.n) {
      bdx[i] = bdy[i] * unary_df(bx[i], bp.alpha, bp.beta);
    }
  }
}

const B_ADD: u32 = 0u;
const B_SUB: u32 = 1u;
const B_MUL: u32 = 2u;
const B_DIV: u32 = 3u;
const B_MAX: u32 = 4u;
const B_MIN: u32 = 5u;
const B_POW: u32 = 6u;
const B_EQ: u32 = 7u;
const B_NE: u32 = 8u;
const B_LT: u32 = 9u;
const B_LE: u32 = 10u;
const B_GT: u32 = 11u;
const B_GE: u32 = 12u;
const B_SQDIFF: u32 = 13u;
const B_FIRST: u32 = 14u; // broadcasts a to the output shape; b only supplies the shape

fn binary_f(a: f32, b: f32) -> f32 {
  switch OP {
    case B_ADD: { return a + b; }
    case B_SUB: { return a - b; }
    case B_MUL: { return a * b; }
    case B_DIV: { return a / b; }
    case B_MAX: { return max(a, b); }
    case B_MIN: { return min(a, b); }
    case B_POW: { return pow_scalar(a, b); }
    case B_EQ: { return select(0.0, 1.0, a == b); }
    case B_NE: { return select(0.0, 1.0, a != b); }
    case B_LT: { return select(0.0, 1.0, a < b); }
    case B_LE: { return select(0.0, 1.0, a <= b); }
    case B_GT: { return select(0.0, 1.0, a > b); }
    case B_GE: { return select(0.0, 1.0, a >= b); }
    case B_SQDIFF: { let d = a - b; return d * d; }
    case B_FIRST: { return a; }
    default: { return a; }
  }
}

@group(0) @binding(0) var<storage, read> ba: array<f32>;
@group(0) @binding(1) var<storage, read> bb: array<f32>;
@group(0) @binding(2) var<storage, read_write> bc: array<f32>;
@group(0) @binding(3) var<uniform> pp: BinaryParams;

fn dim(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}

@compute @workgroup_size(WG)
fn binary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i >= pp.n) { return; }
    if (BCAST == 0u) {
      bc[i] = binary_f(ba[i], bb[i]);
    } else if (BCAST == 1u) {
      bc[i] = binary_f(ba[i], bb[0]);
    } else if (BCAST == 3u) {
      bc[i] = binary_f(ba[i], bb[i % dim(pp.shape, 1u)]);
    } else if (BCAST == 4u) {
      let s2 = dim(pp.shape, 2u);
      bc[i] = binary_f(ba[i], bb[(i / (dim(pp.shape, 1u) * s2)) * s2 + i % s2]);
    } else {
      // Decompose the output index from the last dimension up, accumulating each input's offset.
      var rem = i;
      var ia = 0u;
      var ib = 0u;
      for (var d = i32(pp.rank) - 1; d >= 0; d--) {
        let extent = dim(pp.shape, u32(d));
        let c = rem % extent;
        rem = rem / extent;
        ia += c * dim(pp.astr, u32(d));
        ib += c * dim(pp.bstr, u32(d));
      }
      bc[i] = binary_f(ba[ia], bb[ib]);
    }
  }
}

// vec4 variants (n % 4 == 0): one invocation handles 4 vec4s, WG vec4s apart; for binary, modes 0, 1, 3 and 4
// (modes 3 and 4 need the innermost length % 4 == 0). Dispatch: grid(ceil(n / (16 * WG))).
@group(0) @binding(0) var<storage, read> vx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> vy: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> vp: UnaryParams;

fn unary_f4(x: vec4<f32>, a: f32, b: f32) -> vec4<f32> {
  return vec4<f32>(unary_f(x.x, a, b), unary_f(x.y, a, b), unary_f(x.z, a, b), unary_f(x.w, a, b));
}

@compute @workgroup_size(WG)
fn unary4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let n4 = vp.n / 4u;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i < n4) {
      vy[i] = unary_f4(vx[i], vp.alpha, vp.beta);
    }
  }
}

@group(0) @binding(0) var<storage, read> vbx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> vbdy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> vbdx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> vbp: UnaryParams;

@compute @workgroup_size(WG)
fn unary_backward4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let n4 = vbp.n / 4u;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i < n4) {
      let x = vbx[i];
      let a = vbp.alpha;
      let b = vbp.beta;
      vbdx[i] = vbdy[i] * vec4<f32>(unary_df(x.x, a, b), unary_df(x.y, a, b), unary_df(x.z, a, b), unary_df(x.w, a, b));
    }
  }
}

@group(0) @binding(0) var<storage, read> va: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> vb: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> vc: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> vpp: BinaryParams;

fn binary_f4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(binary_f(a.x, b.x), binary_f(a.y, b.y), binary_f(a.z, b.z), binary_f(a.w, b.w));
}

@compute @workgroup_size(WG)
fn binary4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  let n4 = vpp.n / 4u;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k * WG;
    if (i >= n4) { return; }
    if (BCAST == 0u) {
      vc[i] = binary_f4(va[i], vb[i]);
    } else if (BCAST == 1u) {
      vc[i] = binary_f4(va[i], vec4<f32>(vb[0].x));
    } else if (BCAST == 3u) {
      vc[i] = binary_f4(va[i], vb[i % (dim(vpp.shape, 1u) / 4u)]);
    } else {
      let s2 = dim(vpp.shape, 2u) / 4u;
      vc[i] = binary_f4(va[i], vb[(i / (dim(vpp.shape, 1u) * s2)) * s2 + i % s2]);
    }
  }
}
