// Reductions over any set of axes: sum, mean, max, min, argmax, argmin.
//
// reduce:  in: x   out: y (argmax/argmin write i32 bit patterns)
//   one invocation: output element o = inv % nout, over reduced elements [c * chunk, min(r, (c + 1) * chunk))
//   with c = inv / nout (split = 1: the whole reduction); it writes y[inv], i.e. partials laid out [split, nout]. The input offset of output o is
//   sum(coord_k(o) * kstr[k]) over kept dims; reduced element r adds sum(coord_j(r) * rstr[j]) over reduced dims.
//   Large reductions with few outputs run twice: split partials per output, then a reduce of [split, nout] over its first axis.
// Dispatch: grid(ceil(nout * split / WG)) workgroups of WG; linear group = wid.x + wid.y * nwg.x.

override WG: u32 = 64u;
override OP: u32 = 0u;

struct Params {
  nout: u32,
  r: u32,
  krank: u32,
  rrank: u32,
  kshape: array<vec4<u32>, 2>,
  kstr: array<vec4<u32>, 2>,
  rshape: array<vec4<u32>, 2>,
  rstr: array<vec4<u32>, 2>,
  scale: f32,
  split: u32,
  chunk: u32,
  // Always 1.0: an opaque factor that keeps the compiler from folding Kahan's compensation to zero.
  one: f32,
}

const R_SUM: u32 = 0u;
const R_MEAN: u32 = 1u;
const R_MAX: u32 = 2u;
const R_MIN: u32 = 3u;
const R_ARGMAX: u32 = 4u;
const R_ARGMIN: u32 = 5u;

// NOTE: a NaN literal is a const-expression error in WGSL; a let keeps it a runtime value.
fn nan_f32() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// NOTE: bit test, because fast-math compilers (lavapipe's) fold `v != v` to false.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}

@compute @workgroup_size(WG)
fn reduce(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let inv = (wid.x + wid.y * nwg.x) * WG + lid;
  if (inv >= p.nout * p.split) { return; }
  // NOTE: neighbouring invocations take neighbouring outputs (same chunk), so their reads stay close in memory.
  let o = inv % p.nout;
  let r0 = (inv / p.nout) * p.chunk;
  let r1 = min(p.r, r0 + p.chunk);
  var rem = o;
  var base = 0u;
  for (var d = i32(p.krank) - 1; d >= 0; d--) {
    let e = at(p.kshape, u32(d));
    base += (rem % e) * at(p.kstr, u32(d));
    rem = rem / e;
  }
  // NOTE: the innermost reduced dim is walked with a running offset; only carries recompute the rest.
  let inner = select(1u, at(p.rshape, p.rrank - 1u), p.rrank > 0u);
  let istr = select(0u, at(p.rstr, p.rrank - 1u), p.rrank > 0u);
  let neg_inf_bits = 0xff800000u;
  var acc: f32 = 0.0;
  var comp: f32 = 0.0;
  if (OP == R_MAX || OP == R_ARGMAX) { acc = bitcast<f32>(neg_inf_bits); }
  if (OP == R_MIN || OP == R_ARGMIN) { acc = bitcast<f32>(neg_inf_bits ^ 0x80000000u); }
  var best = 0u;
  var seen_nan = false;
  var r = r0;
  loop {
    if (r >= r1) { break; }
    let j0 = r % inner;
    let j1 = min(inner, j0 + (r1 - r));
    var q = r / inner;
    var off = base;
    for (var d = i32(p.rrank) - 2; d >= 0; d--) {
      let e = at(p.rshape, u32(d));
      off += (q % e) * at(p.rstr, u32(d));
      q = q / e;
    }
    let first = r - j0;
    for (var j = j0; j < j1; j++) {
      let v = x[off + j * istr];
      switch OP {
        case R_SUM, R_MEAN: {
          // Kahan summation keeps large reductions close to the float64 reference.
          let yk = v - comp;
          let t = acc + yk;
          comp = (t * p.one - acc) - yk;
          acc = t;
        }
        case R_MAX: { if (is_nan(v)) { seen_nan = true; } acc = max(acc, v); }
        case R_MIN: { if (is_nan(v)) { seen_nan = true; } acc = min(acc, v); }
        case R_ARGMAX: { if (v > acc) { acc = v; best = first + j; } }
        case R_ARGMIN: { if (v < acc) { acc = v; best = first + j; } }
        default: {}
      }
    }
    r += j1 - j0;
  }
  if (OP == R_ARGMAX || OP == R_ARGMIN) {
    y[inv] = bitcast<f32>(i32(best));
  } else if (seen_nan) {
    y[inv] = nan_f32();
  } else if (OP == R_MEAN) {
    y[inv] = acc * p.scale;
  } else {
    y[inv] = acc;
  }
}
