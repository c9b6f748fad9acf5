// Softmax, log-softmax and fused cross-entropy losses, forward and backward. One invocation owns one row.
// A row is the `len` elements along the softmax axis: row r starts at (r / inner) * len * inner + r % inner and
// steps by `inner` (inner = 1 for the last axis: contiguous rows). The losses always use the last axis.
//
// softmax_fwd:  in: x           out: y          OP 0: y = exp(x - max) / sum; OP 1: y = x - max - log(sum exp(x - max))
// softmax_bwd:  in: y, dy       out: dx         OP 0: dx = y * (dy - sum(dy * y)); OP 1: dx = dy - exp(y) * sum(dy)
// ce_fwd:       in: x, labels   out: loss[rows]
// ce_bwd:       in: x, labels, g[rows]   out: dx
//   FROM_LOGITS 1: x are logits, loss = sum_j l_j * (lse - x_j) with lse = max + log(sum exp(x - max)).
//   FROM_LOGITS 0: x are probabilities (Keras): q = x / sum(x), c = clamp(q, EPS, 1 - EPS), loss = -sum_j l_j log c_j.
//   SPARSE 1: labels are int32 class ids (l = one-hot); an id outside [0, len) makes that row's loss and gradient NaN.
// Dispatch: grid(ceil(rows / WG)) workgroups of WG; linear group = wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
override OP: u32 = 0u;
override FROM_LOGITS: u32 = 1u;
override SPARSE: u32 = 0u;
// Keras' backend epsilon (1e-7).
override EPS: f32 = 1e-7;

struct Params {
  rows: u32,
  len: u32,
  inner: u32,
  _pad: u32,
}

fn nan_f32() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

fn neg_inf() -> f32 {
  let bits = 0xff800000u;
  return bitcast<f32>(bits);
}

fn row_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

@group(0) @binding(0) var<storage, read> sx: array<f32>;
@group(0) @binding(1) var<storage, read_write> sy: array<f32>;
@group(0) @binding(2) var<uniform> sp: Params;

@compute @workgroup_size(WG)
fn softmax_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(lid, wid, nwg);
  if (r >= sp.rows) { return; }
  let base = (r / sp.inner) * sp.len * sp.inner + r % sp.inner;
  let st = sp.inner;
  var m = neg_inf();
  for (var j = 0u; j < sp.len; j++) { m = max(m, sx[base + j * st]); }
  var s = 0.0;
  for (var j = 0u; j < sp.len; j++) { s += exp(sx[base + j * st] - m); }
  if (OP == 0u) {
    let inv = 1.0 / s;
    for (var j = 0u; j < sp.len; j++) { sy[base + j * st] = exp(sx[base + j * st] - m) * inv; }
  } else {
    let lse = m + log(s);
    for (var j = 0u; j < sp.len; j++) { sy[base + j * st] = sx[base + j * st] - lse; }
  }
}

@group(0) @binding(0) var<storage, read> by: array<f32>;
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG)
fn softmax_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(lid, wid, nwg);
  if (r >= bp.rows) { return; }
  let base = (r / bp.inner) * bp.len * bp.inner + r % bp.inner;
  let st = bp.inner;
  var s = 0.0;
  if (OP == 0u) {
    for (var j = 0u; j < bp.len; j++) { s += bdy[base + j * st] * by[base + j * st]; }
    for (var j = 0u; j < bp.len; j++) {
      let i = base + j * st;
      bdx[i] = by[i] * (bdy[i] - s);
    }
  } else {
    for (var j = 0u; j < bp.len; j++) { s += bdy[base + j * st]; }
    for (var j = 0u; j < bp.len; j++) {
      let i = base + j * st;
      bdx[i] = bdy[i] - exp(by[i]) * s;
    }
  }
}

@group(0) @binding(0) var<storage, read> cx: array<f32>;
// NOTE: raw words: f32 probabilities when dense, i32 class ids when SPARSE.
@group(0) @binding(1) var<storage, read> clab: array<u32>;
@group(0) @binding(2) var<storage, read_write> closs: array<f32>;
@group(0) @binding(3) var<uniform> cp: Params;

// Dense label j of the row at `base`, or the one-hot value of the sparse id `k`.
fn label_at(base: u32, j: u32, k: i32) -> f32 {
  if (SPARSE == 1u) { return select(0.0, 1.0, i32(j) == k); }
  return bitcast<f32>(clab[base + j]);
}

// The sparse id of a row (or -1 when dense); `valid` is false for an id outside [0, len).
fn sparse_id(row: u32, len: u32) -> vec2<i32> {
  if (SPARSE == 0u) { return vec2<i32>(-1, 1); }
  let k = bitcast<i32>(clab[row]);
  return vec2<i32>(k, select(0, 1, k >= 0 && k < i32(len)));
}

// Log-sum-exp of the row (logits) or the row sum (probabilities).
fn row_stat(base: u32, len: u32) -> f32 {
  if (FROM_LOGITS == 1u) {
    var m = neg_inf();
    for (var j = 0u; j < len; j++) { m = max(m, cx[base + j]); }
    var s = 0.0;
    for (var j = 0u; j < len; j++) { s += exp(cx[base + j] - m); }
    return m + log(s);
  }
  var s = 0.0;
  for (var j = 0u; j < len; j++) { s += cx[base + j]; }
  return s;
}

@compute @workgroup_size(WG)
fn ce_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(lid, wid, nwg);
  if (r >= cp.rows) { return; }
  let base = r * cp.len;
  let id = sparse_id(r, cp.len);
  if (id.y == 0) {
    closs[r] = nan_f32();
    return;
  }
  let stat = row_stat(base, cp.len);
  var loss = 0.0;
  if (SPARSE == 1u) {
    let xk = cx[base + u32(id.x)];
    if (FROM_LOGITS == 1u) { loss = stat - xk; } else { loss = -log(clamp(xk / stat, EPS, 1.0 - EPS)); }
  } else {
    for (var j = 0u; j < cp.len; j++) {
      let l = label_at(base, j, id.x);
      if (FROM_LOGITS == 1u) {
        loss += l * (stat - cx[base + j]);
      } else {
        loss -= l * log(clamp(cx[base + j] / stat, EPS, 1.0 - EPS));
      }
    }
  }
  closs[r] = loss;
}

@group(0) @binding(0) var<storage, read> gx: array<f32>;
@group(0) @binding(1) var<storage, read> glab: array<u32>;
@group(0) @binding(2) var<storage, read> gg: array<f32>;
@group(0) @binding(3) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(4) var<uniform> gp: Params;

fn glabel_at(base: u32, j: u32, k: i32) -> f32 {
  if (SPARSE == 1u) { return select(0.0, 1.0, i32(j) == k); }
  return bitcast<f32>(glab[base + j]);
}

@compute @workgroup_size(WG)
fn ce_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = row_of(lid, wid, nwg);
  if (r >= gp.rows) { return; }
  let base = r * gp.len;
  let g = gg[r];
  var k = -1;
  if (SPARSE == 1u) {
    k = bitcast<i32>(glab[r]);
    if (k < 0 || k >= i32(gp.len)) {
      for (var j = 0u; j < gp.len; j++) { gdx[base + j] = nan_f32(); }
      return;
    }
  }
  if (FROM_LOGITS == 1u) {
    // d/dx_j sum_i l_i (lse - x_i) = sum(l) * softmax_j - l_j
    var m = neg_inf();
    for (var j = 0u; j < gp.len; j++) { m = max(m, gx[base + j]); }
    var s = 0.0;
    var lsum = 0.0;
    for (var j = 0u; j < gp.len; j++) {
      s += exp(gx[base + j] - m);
      lsum += glabel_at(base, j, k);
    }
    let inv = 1.0 / s;
    for (var j = 0u; j < gp.len; j++) {
      let p = exp(gx[base + j] - m) * inv;
      gdx[base + j] = g * (lsum * p - glabel_at(base, j, k));
    }
  } else {
    // t_j = dloss/dq_j = -l_j / c_j where the clamp passes q_j through; dq_j/dx_i = (delta_ij - q_j) / S.
    var s = 0.0;
    for (var j = 0u; j < gp.len; j++) { s += gx[base + j]; }
    var tq = 0.0;
    for (var j = 0u; j < gp.len; j++) {
      let q = gx[base + j] / s;
      let inside = q >= EPS && q <= 1.0 - EPS;
      let t = select(0.0, -glabel_at(base, j, k) / q, inside);
      tq += t * q;
    }
    for (var j = 0u; j < gp.len; j++) {
      let q = gx[base + j] / s;
      let inside = q >= EPS && q <= 1.0 - EPS;
      let t = select(0.0, -glabel_at(base, j, k) / q, inside);
      gdx[base + j] = g * (t - tq) / s;
    }
  }
}
