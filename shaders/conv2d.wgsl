// 2-D convolution, NHWC activations, HWIO filters [KH, KW, CIN, COUT]: implicit GEMM with register tiles.
//
// conv2d_forward:          in: x, w, bias    out: y [N, OH, OW, COUT]
//   one invocation: TP consecutive output pixels m (m = (n*OH + oh)*OW + ow) x 4*NC4 consecutive output channels,
//   accumulated in registers over (kh, kw, ci); the epilogue adds the bias (has_bias) and applies act.
//   Dispatch: (ceil(N*OH*OW / (WG*TP)), ceil(COUT / (4*NC4)), 1).
// conv2d_forward_vec4:     the same with vec4 loads and stores (CIN % 4 == 0, COUT % 4 == 0).
// conv2d_backward_input:   in: dy, w         out: dx [N, H, W, CIN]   (the transposed convolution)
//   one invocation: TP consecutive input pixels x 4*NC4 consecutive input channels, summed over (kh, kw, co)
//   where oh = (ih + padTop - kh*DH) / SH is whole and in range (likewise ow).
//   Dispatch: (ceil(N*H*W / (WG*TP)), ceil(CIN / (4*NC4)), 1).
// conv2d_backward_filter:  in: x, dy         out: partial [S, KH*KW*CIN, COUT]
//   one invocation: TP consecutive filter rows r = (kh*KW + kw)*CIN + ci x 4*NC4 output channels, summed over
//   output pixels m in chunk s = [s*CHUNK, (s+1)*CHUNK). Dispatch: (ceil(KH*KW*CIN / (WG*TP)), ceil(COUT / (4*NC4)), S).
// conv2d_bias_grad:        in: dy            out: partial [S, COUT]
//   one invocation: one channel summed over the rows of chunk s. Dispatch: (ceil(COUT / WG), S, 1).
//
// NOTE: the channel tile comes from workgroup_id.y and loops have uniform bounds, so filter (forward, backward
// input) and dy (backward filter) loads are uniform across the workgroup (broadcasts); only the pixel-indexed
// operand differs per invocation, and each value of it feeds 4*NC4 FMAs.

override WG: u32 = 64u;
// Number of vec4 channel groups per invocation (1..4).
override NC4: u32 = 2u;
// Filter gradient: 1 when CIN % TP == 0, so that an invocation's TP filter rows share (kh, kw).
override SHARED_K: u32 = 0u;

// Pixels (or filter rows) per invocation (1..16).
override TP: u32 = 4u;
const MAXTP: u32 = 16u;
const MAXC4: u32 = 4u;

struct ConvParams {
  n: u32, h: u32, w: u32, cin: u32,
  oh: u32, ow: u32, cout: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, dh: u32,
  dw: u32, pt: u32, pl: u32, chunk: u32,
  act: u32, has_bias: u32, _p0: u32, _p1: u32,
}

//! include activation

// ---- forward ----

@group(0) @binding(0) var<storage, read> fx: array<f32>;
@group(0) @binding(1) var<storage, read> fw: array<f32>;
@group(0) @binding(2) var<storage, read> fb: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
@group(0) @binding(4) var<uniform> fp: ConvParams;

fn fw4(o: u32) -> vec4<f32> {
  return vec4<f32>(fw[o], fw[o + 1u], fw[o + 2u], fw[o + 3u]);
}

@compute @workgroup_size(WG)
fn conv2d_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = fp;
  let mtotal = p.n * p.oh * p.ow;
  let m0 = (wid.x * WG + lid) * TP;
  let co0 = wid.y * 4u * NC4;
  var ih0: array<i32, MAXTP>;
  var iw0: array<i32, MAXTP>;
  var nb: array<u32, MAXTP>;
  for (var t = 0u; t < TP; t++) {
    let m = min(m0 + t, mtotal - 1u);
    let ow = m % p.ow;
    let r = m / p.ow;
    ih0[t] = i32((r % p.oh) * p.sh) - i32(p.pt);
    iw0[t] = i32(ow * p.sw) - i32(p.pl);
    nb[t] = (r / p.oh) * p.h;
  }
  var acc: array<vec4<f32>, MAXTP * MAXC4>;
  for (var i = 0u; i < TP * MAXC4; i++) { acc[i] = vec4<f32>(0.0); }
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      var xo: array<u32, MAXTP>;
      var ok: array<bool, MAXTP>;
      for (var t = 0u; t < TP; t++) {
        let ih = ih0[t] + i32(ky * p.dh);
        let iw = iw0[t] + i32(kx * p.dw);
        ok[t] = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
        xo[t] = select(0u, ((nb[t] + u32(ih)) * p.w + u32(iw)) * p.cin, ok[t]);
      }
      var wo = (ky * p.kw + kx) * p.cin * p.cout + co0;
      for (var ci = 0u; ci < p.cin; ci++) {
        var wv: array<vec4<f32>, MAXC4>;
        for (var c = 0u; c < NC4; c++) { wv[c] = fw4(wo + 4u * c); }
        for (var t = 0u; t < TP; t++) {
          let xv = select(0.0, fx[xo[t] + ci], ok[t]);
          for (var c = 0u; c < NC4; c++) { acc[t * MAXC4 + c] = fma(vec4<f32>(xv), wv[c], acc[t * MAXC4 + c]); }
        }
        wo += p.cout;
      }
    }
  }
  for (var t = 0u; t < TP; t++) {
    let m = m0 + t;
    if (m >= mtotal) { break; }
    for (var c = 0u; c < NC4; c++) {
      let v = acc[t * MAXC4 + c];
      for (var j = 0u; j < 4u; j++) {
        let co = co0 + 4u * c + j;
        if (co < p.cout) {
          var s = v[j];
          if (p.has_bias == 1u) { s += fb[co]; }
          fy[m * p.cout + co] = activate(s, p.act);
        }
      }
    }
  }
}

// ---- forward, vec4 over channels (CIN % 4 == 0 and COUT % 4 == 0) ----

@group(0) @binding(0) var<storage, read> vx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> vw: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> vb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vy: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> vp: ConvParams;

@compute @workgroup_size(WG)
fn conv2d_forward_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = vp;
  let mtotal = p.n * p.oh * p.ow;
  let m0 = (wid.x * WG + lid) * TP;
  let cin4 = p.cin / 4u;
  let cout4 = p.cout / 4u;
  let c40 = wid.y * NC4;
  var ih0: array<i32, MAXTP>;
  var iw0: array<i32, MAXTP>;
  var nb: array<u32, MAXTP>;
  for (var t = 0u; t < TP; t++) {
    let m = min(m0 + t, mtotal - 1u);
    let ow = m % p.ow;
    let r = m / p.ow;
    ih0[t] = i32((r % p.oh) * p.sh) - i32(p.pt);
    iw0[t] = i32(ow * p.sw) - i32(p.pl);
    nb[t] = (r / p.oh) * p.h;
  }
  var acc: array<vec4<f32>, MAXTP * MAXC4>;
  for (var i = 0u; i < TP * MAXC4; i++) { acc[i] = vec4<f32>(0.0); }
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      var xo: array<u32, MAXTP>;
      var ok: array<bool, MAXTP>;
      for (var t = 0u; t < TP; t++) {
        let ih = ih0[t] + i32(ky * p.dh);
        let iw = iw0[t] + i32(kx * p.dw);
        ok[t] = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
        xo[t] = select(0u, ((nb[t] + u32(ih)) * p.w + u32(iw)) * cin4, ok[t]);
      }
      // w[ky, kx, ci, 4*(c40 + c) .. +3] sits at vec4 wo + ci*cout4 + c.
      var wo = (ky * p.kw + kx) * p.cin * cout4 + c40;
      for (var ci4 = 0u; ci4 < cin4; ci4++) {
        var xv: array<vec4<f32>, MAXTP>;
        for (var t = 0u; t < TP; t++) { xv[t] = select(vec4<f32>(0.0), vx[xo[t] + ci4], ok[t]); }
        for (var j = 0u; j < 4u; j++) {
          for (var c = 0u; c < NC4; c++) {
            let wv = vw[wo + c];
            for (var t = 0u; t < TP; t++) { acc[t * MAXC4 + c] = fma(vec4<f32>(xv[t][j]), wv, acc[t * MAXC4 + c]); }
          }
          wo += cout4;
        }
      }
    }
  }
  for (var t = 0u; t < TP; t++) {
    let m = m0 + t;
    if (m >= mtotal) { break; }
    for (var c = 0u; c < NC4; c++) {
      let co4 = c40 + c;
      if (co4 < cout4) {
        var s = acc[t * MAXC4 + c];
        if (p.has_bias == 1u) { s += vb[co4]; }
        vy[m * cout4 + co4] = activate4(s, p.act);
      }
    }
  }
}

// ---- backward w.r.t. the input ----

@group(0) @binding(0) var<storage, read> gdy: array<f32>;
@group(0) @binding(1) var<storage, read> gw: array<f32>;
@group(0) @binding(2) var<storage, read_write> gdx: array<f32>;
@group(0) @binding(3) var<uniform> gp: ConvParams;

@compute @workgroup_size(WG)
fn conv2d_backward_input(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = gp;
  let qtotal = p.n * p.h * p.w;
  let q0 = (wid.x * WG + lid) * TP;
  let ci0 = wid.y * 4u * NC4;
  var ah: array<i32, MAXTP>;
  var aw: array<i32, MAXTP>;
  var nb: array<u32, MAXTP>;
  for (var t = 0u; t < TP; t++) {
    let q = min(q0 + t, qtotal - 1u);
    let iw = q % p.w;
    let r = q / p.w;
    ah[t] = i32(r % p.h) + i32(p.pt);
    aw[t] = i32(iw) + i32(p.pl);
    nb[t] = (r / p.h) * p.oh;
  }
  var acc: array<vec4<f32>, MAXTP * MAXC4>;
  for (var i = 0u; i < TP * MAXC4; i++) { acc[i] = vec4<f32>(0.0); }
  let cs = p.cout;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      var go: array<u32, MAXTP>;
      var ok: array<bool, MAXTP>;
      for (var t = 0u; t < TP; t++) {
        let a = ah[t] - i32(ky * p.dh);
        let b = aw[t] - i32(kx * p.dw);
        let oy = a / i32(p.sh);
        let ox = b / i32(p.sw);
        ok[t] = a >= 0 && b >= 0 && oy * i32(p.sh) == a && ox * i32(p.sw) == b && oy < i32(p.oh) && ox < i32(p.ow);
        go[t] = select(0u, ((nb[t] + u32(oy)) * p.ow + u32(ox)) * p.cout, ok[t]);
      }
      // w[ky, kx, ci0 + j, co] sits at wo + j*cout + co.
      let wo = ((ky * p.kw + kx) * p.cin + ci0) * p.cout;
      for (var co = 0u; co < p.cout; co++) {
        var wv: array<vec4<f32>, MAXC4>;
        for (var c = 0u; c < NC4; c++) {
          let o = wo + 4u * c * cs + co;
          wv[c] = vec4<f32>(gw[o], gw[o + cs], gw[o + 2u * cs], gw[o + 3u * cs]);
        }
        for (var t = 0u; t < TP; t++) {
          let g = select(0.0, gdy[go[t] + co], ok[t]);
          for (var c = 0u; c < NC4; c++) { acc[t * MAXC4 + c] = fma(vec4<f32>(g), wv[c], acc[t * MAXC4 + c]); }
        }
      }
    }
  }
  for (var t = 0u; t < TP; t++) {
    let q = q0 + t;
    if (q >= qtotal) { break; }
    for (var c = 0u; c < NC4; c++) {
      let v = acc[t * MAXC4 + c];
      for (var j = 0u; j < 4u; j++) {
        let ci = ci0 + 4u * c + j;
        if (ci < p.cin) { gdx[q * p.cin + ci] = v[j]; }
      }
    }
  }
}

// ---- backward w.r.t. the filter ----

@group(0) @binding(0) var<storage, read> hx: array<f32>;
@group(0) @binding(1) var<storage, read> hdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> hdw: array<f32>;
@group(0) @binding(3) var<uniform> hp: ConvParams;

fn hdy4(o: u32) -> vec4<f32> {
  return vec4<f32>(hdy[o], hdy[o + 1u], hdy[o + 2u], hdy[o + 3u]);
}

@compute @workgroup_size(WG)
fn conv2d_backward_filter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = hp;
  let rows = p.kh * p.kw * p.cin;
  let r0 = (wid.x * WG + lid) * TP;
  let co0 = wid.y * 4u * NC4;
  let mtotal = p.n * p.oh * p.ow;
  let mbeg = wid.z * p.chunk;
  let mend = min(mbeg + p.chunk, mtotal);
  var offh: array<i32, MAXTP>;
  var offw: array<i32, MAXTP>;
  var cis: array<u32, MAXTP>;
  for (var t = 0u; t < TP; t++) {
    let r = min(r0 + t, rows - 1u);
    cis[t] = r % p.cin;
    let k = r / p.cin;
    offh[t] = i32((k / p.kw) * p.dh) - i32(p.pt);
    offw[t] = i32((k % p.kw) * p.dw) - i32(p.pl);
  }
  var acc: array<vec4<f32>, MAXTP * MAXC4>;
  for (var i = 0u; i < TP * MAXC4; i++) { acc[i] = vec4<f32>(0.0); }
  for (var m = mbeg; m < mend; m++) {
    let ow = m % p.ow;
    let r = m / p.ow;
    let oy = i32((r % p.oh) * p.sh);
    let ox = i32(ow * p.sw);
    let nb = (r / p.oh) * p.h;
    var gv: array<vec4<f32>, MAXC4>;
    for (var c = 0u; c < NC4; c++) { gv[c] = hdy4(m * p.cout + co0 + 4u * c); }
    if (SHARED_K == 1u) {
      // The TP rows of this invocation are consecutive channels of one tap: one bounds check, consecutive loads.
      let ih = oy + offh[0];
      let iw = ox + offw[0];
      let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
      let xo = select(0u, ((nb + u32(ih)) * p.w + u32(iw)) * p.cin + cis[0], ok);
      for (var t = 0u; t < TP; t++) {
        let xv = select(0.0, hx[xo + t], ok);
        for (var c = 0u; c < NC4; c++) { acc[t * MAXC4 + c] = fma(vec4<f32>(xv), gv[c], acc[t * MAXC4 + c]); }
      }
    } else {
      for (var t = 0u; t < TP; t++) {
        let ih = oy + offh[t];
        let iw = ox + offw[t];
        let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
        let xv = select(0.0, hx[select(0u, ((nb + u32(ih)) * p.w + u32(iw)) * p.cin + cis[t], ok)], ok);
        for (var c = 0u; c < NC4; c++) { acc[t * MAXC4 + c] = fma(vec4<f32>(xv), gv[c], acc[t * MAXC4 + c]); }
      }
    }
  }
  let base = wid.z * rows * p.cout;
  for (var t = 0u; t < TP; t++) {
    let r = r0 + t;
    if (r >= rows) { break; }
    for (var c = 0u; c < NC4; c++) {
      let v = acc[t * MAXC4 + c];
      for (var j = 0u; j < 4u; j++) {
        let co = co0 + 4u * c + j;
        if (co < p.cout) { hdw[base + r * p.cout + co] = v[j]; }
      }
    }
  }
}

// ---- bias gradient (column sums of dy viewed as [rows, cols]) ----

struct BiasParams {
  rows: u32,
  cols: u32,
  chunk: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> bdy: array<f32>;
@group(0) @binding(1) var<storage, read_write> bdb: array<f32>;
@group(0) @binding(2) var<uniform> bp: BiasParams;

@compute @workgroup_size(WG)
fn conv2d_bias_grad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = wid.x * WG + lid;
  if (col >= bp.cols) { return; }
  let beg = wid.y * bp.chunk;
  let end = min(beg + bp.chunk, bp.rows);
  var s = 0.0;
  for (var r = beg; r < end; r++) { s += bdy[r * bp.cols + col]; }
  bdb[wid.y * bp.cols + col] = s;
}
