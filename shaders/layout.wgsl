// Layout kernels: strided copies that implement transpose, slice, pad, concat, stack and broadcastTo, and one-hot.
// Values are moved as raw 32-bit words, so float32 and int32 tensors share these kernels.
//
// gather:   in: x   out: y
//   one invocation: 4 consecutive elements of a box of shape `shape` (rank <= 8). Box coordinate c maps to the
//   input coordinate c[d] + lo[d] along each dim; inside [0, ishape[d]) the word is x[sum((c[d] + lo[d]) * istr[d])],
//   outside it is `fill` (pad). The destination is y[obase + sum(c[d] * ostr[d])], or y[i] when DENSE_OUT = 1
//   (the box is the whole output). transpose: istr permuted; slice: lo = begin; pad: lo = -before;
//   broadcastTo: istr 0 on broadcast dims; concat/stack: one dispatch per input into a strided region of y.
// gather_rows: the same copy, 8x8 invocations per workgroup: 8 rows (innermost dim), 8 lanes striding along each.
//   The outer coordinates are decoded once per row (integer division is scalarized on CPU backends).
//   Dispatch: grid(ceil(rows / 8)).
// one_hot:  in: indices (i32 bits)   out: y [n * depth]
//   one invocation: 4 consecutive outputs; y[i] = on if indices[i / depth] == i % depth else off.
// Dispatch: grid(ceil(n / (4 * WG))) workgroups of WG; linear group = wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
// 1 when the box is the whole output, written contiguously (every op but concat).
override DENSE_OUT: u32 = 1u;
// 1 when some box coordinates can fall outside the input (pad): check bounds and write `fill` there.
override CHECK_BOUNDS: u32 = 0u;

struct GatherParams {
  n: u32,
  rank: u32,
  obase: u32,
  fill: u32,
  shape: array<vec4<u32>, 2>,
  istr: array<vec4<u32>, 2>,
  ostr: array<vec4<u32>, 2>,
  lo: array<vec4<u32>, 2>,
  ishape: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> gx: array<u32>;
@group(0) @binding(1) var<storage, read_write> gy: array<u32>;
@group(0) @binding(2) var<uniform> gp: GatherParams;

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}

fn linear_base(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
}

@compute @workgroup_size(WG)
fn gather(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i >= gp.n) { return; }
    var rem = i;
    var src = 0u;
    var dst = gp.obase;
    var inside = true;
    for (var d = i32(gp.rank) - 1; d >= 0; d--) {
      let e = at(gp.shape, u32(d));
      let c = rem % e;
      rem = rem / e;
      // NOTE: lo holds i32 bits; the wrapping u32 add is the signed add, and a negative result wraps above ishape.
      let ic = c + at(gp.lo, u32(d));
      if (CHECK_BOUNDS == 1u && ic >= at(gp.ishape, u32(d))) { inside = false; }
      src += ic * at(gp.istr, u32(d));
      dst += c * at(gp.ostr, u32(d));
    }
    var v = gp.fill;
    if (inside) { v = gx[src]; }
    if (DENSE_OUT == 1u) {
      gy[i] = v;
    } else {
      gy[dst] = v;
    }
  }
}

// NOTE: 8 lanes walk one row together (consecutive words: vector loads on CPU backends), 8 rows per workgroup.
@compute @workgroup_size(8, 8)
fn gather_rows(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let last = gp.rank - 1u;
  let inner = at(gp.shape, last);
  let row = (wid.x + wid.y * nwg.x) * 8u + lid.y;
  if (row >= gp.n / inner) { return; }
  var rem = row;
  var src = 0u;
  var dst = gp.obase;
  var inside = true;
  for (var d = i32(last) - 1; d >= 0; d--) {
    let e = at(gp.shape, u32(d));
    let c = rem % e;
    rem = rem / e;
    let ic = c + at(gp.lo, u32(d));
    if (CHECK_BOUNDS == 1u && ic >= at(gp.ishape, u32(d))) { inside = false; }
    src += ic * at(gp.istr, u32(d));
    dst += c * at(gp.ostr, u32(d));
  }
  let lo = at(gp.lo, last);
  let istr = at(gp.istr, last);
  let ostr = at(gp.ostr, last);
  let ish = at(gp.ishape, last);
  for (var c = lid.x; c < inner; c += 8u) {
    let ic = c + lo;
    var v = gp.fill;
    if (inside && (CHECK_BOUNDS == 0u || ic < ish)) { v = gx[src + ic * istr]; }
    gy[dst + c * ostr] = v;
  }
}

struct OneHotParams {
  n: u32,
  depth: u32,
  on: f32,
  off: f32,
}

@group(0) @binding(0) var<storage, read> oh_idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> oh_y: array<f32>;
@group(0) @binding(2) var<uniform> ohp: OneHotParams;

@compute @workgroup_size(WG)
fn one_hot(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = linear_base(lid, wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i >= ohp.n) { return; }
    // NOTE: an out-of-range or negative index matches no column, so its row is all `off` (TensorFlow's rule).
    let hit = oh_idx[i / ohp.depth] == i32(i % ohp.depth);
    oh_y[i] = select(ohp.off, ohp.on, hit);
  }
}
