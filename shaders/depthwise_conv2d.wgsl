// Depthwise 2-D convolution, NHWC input [N, H, W, C], filter [KH, KW, C, MULT], output [N, OH, OW, C*MULT]
// with output channel oc = c*MULT + m (TensorFlow order), so the filter viewed as [KH, KW, COUT] is indexed by oc.
//
// *_vec4 entry points (MULT == 1, C % 4 == 0) bind arrays of vec4 and work on 4 channels; the others bind
// scalars and work on 1 channel, any C and MULT. In both, `ch` is the channel (group) index of an invocation.
//
// depthwise_forward[_vec4]:          in: x, w, bias   out: y
//   one invocation: TP consecutive output pixels (n, oy, ow0..ow0+TP-1) of channel (group) ch, in TR rows
//   oy0..oy0+TR-1 (TR is 1 for the scalar entry point); per input row the window of (TP-1)*SW + (KW-1)*DW + 1
//   pixels is loaded once and reused by all KW taps of every output row it feeds.
//   Dispatch: grid(ceil(N*ceil(OH/TR)*ceil(OW/TP)*CH / WG)), CH = C/4 (vec4) or C*MULT.
// depthwise_backward_input[_vec4]:   in: dy, w        out: dx [N, H, W, C]
//   one invocation: TP consecutive input pixels of input channel (group) ch, summed over (ky, kx, m); with SW == 1
//   the dy window of TP + (KW-1)*DW pixels is loaded once per filter row.
//   Dispatch: grid(ceil(N*H*ceil(W/TP)*CH / WG)), CH = C/4 (vec4) or C.
// depthwise_backward_filter[_vec4]:  in: x, dy        out: partial [S, KH, KW, C*MULT]
//   one invocation: filter row ky, taps kx in [kb*8, kb*8 + 8) of channel (group) ch, summed over output pixels
//   m in chunk s. Dispatch: (ceil(KH*ceil(KW/8)*CH / WG), S, 1), CH = C/4 (vec4) or C*MULT.

override WG: u32 = 64u;
// NOTE: only what indexes the register window (and, for the vec4 forward, the row loop) is specialized; the rest
// are uniforms (fewer pipelines to compile).
override KW: u32 = 3u;
override SW: u32 = 1u;
override DW: u32 = 1u;
// Pixels per invocation (1..8), chosen by the host so that the window fits WIN.
override TP: u32 = 4u;
// depthwise_forward_vec4 only: output rows per invocation (TR*TP <= MAXACC) and the vertical geometry (constant
// row loop).
override TR: u32 = 1u;
override KH: u32 = 3u;
override SH: u32 = 1u;
override DH: u32 = 1u;

const WIN: u32 = 24u;
const MAXACC: u32 = 16u;
const KB: u32 = 8u;

struct DwParams {
  n: u32, h: u32, w: u32, c: u32,
  oh: u32, ow: u32, mult: u32, ch: u32,
  pt: u32, pl: u32, chunk: u32, lanes: u32,
  kh: u32, sh: u32, dh: u32, act: u32,
  has_bias: u32, _p0: u32, _p1: u32, _p2: u32,
}

//! include activation

fn lane_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// Pixel tile of an invocation: channel (group), batch, row and first column, for rows of `width` in tiles of TP.
struct Tile {
  ch: u32,
  n: u32,
  y: u32,
  x0: u32,
}

fn tile_of(lane: u32, chans: u32, width: u32, height: u32) -> Tile {
  let tiles = (width + TP - 1u) / TP;
  var r = lane / chans;
  let xt = r % tiles;
  r = r / tiles;
  return Tile(lane % chans, r / height, r % height, xt * TP);
}

// Window extent of the forward pass (and of the stride-1 input gradient).
fn win_len() -> u32 {
  return (TP - 1u) * SW + (KW - 1u) * DW + 1u;
}

// ---- forward, vec4 ----

@group(0) @binding(0) var<storage, read> fx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> fw4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> fb4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> fy4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> fp: DwParams;

@compute @workgroup_size(WG)
fn depthwise_forward_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                          @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = fp;
  let lane = lane_index(lid, wid, nwg);
  if (lane >= p.lanes) { return; }
  let tl = tile_of(lane, p.ch, p.ow, (p.oh + TR - 1u) / TR);
  let oy0 = tl.y * TR;
  var init = vec4<f32>(0.0);
  if (p.has_bias == 1u) { init = fb4[tl.ch]; }
  var acc: array<vec4<f32>, MAXACC>;
  for (var i = 0u; i < TR * TP; i++) { acc[i] = init; }
  let iwb = i32(tl.x0 * SW) - i32(p.pl);
  let ihb = i32(oy0 * SH) - i32(p.pt);
  // NOTE: input row j feeds output row r through filter row ky = (j - r*SH) / DH: each loaded window serves the
  // TR output rows of the tile.
  for (var j = 0u; j < (TR - 1u) * SH + (KH - 1u) * DH + 1u; j++) {
    let ih = ihb + i32(j);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    let rowb = (tl.n * p.h + u32(ih)) * p.w;
    var xw: array<vec4<f32>, WIN>;
    for (var i = 0u; i < win_len(); i++) {
      let iw = iwb + i32(i);
      let ok = iw >= 0 && iw < i32(p.w);
      xw[i] = select(vec4<f32>(0.0), fx4[select(0u, (rowb + u32(iw)) * p.ch + tl.ch, ok)], ok);
    }
    for (var r = 0u; r < TR; r++) {
      let d = i32(j) - i32(r * SH);
      let ky = d / i32(DH);
      if (d < 0 || ky * i32(DH) != d || ky >= i32(KH)) { continue; }
      for (var kx = 0u; kx < KW; kx++) {
        let wv = fw4[(u32(ky) * KW + kx) * p.ch + tl.ch];
        for (var t = 0u; t < TP; t++) { acc[r * TP + t] = fma(xw[t * SW + kx * DW], wv, acc[r * TP + t]); }
      }
    }
  }
  for (var r = 0u; r < TR; r++) {
    let oy = oy0 + r;
    if (oy >= p.oh) { break; }
    let ob = (tl.n * p.oh + oy) * p.ow;
    for (var t = 0u; t < TP; t++) {
      if (tl.x0 + t < p.ow) { fy4[(ob + tl.x0 + t) * p.ch + tl.ch] = activate4(acc[r * TP + t], p.act); }
    }
  }
}

// ---- forward, scalar ----

@group(0) @binding(0) var<storage, read> sx: array<f32>;
@group(0) @binding(1) var<storage, read> sw: array<f32>;
@group(0) @binding(2) var<storage, read> sb: array<f32>;
@group(0) @binding(3) var<storage, read_write> sy: array<f32>;
@group(0) @binding(4) var<uniform> sp: DwParams;

@compute @workgroup_size(WG)
fn depthwise_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = sp;
  let lane = lane_index(lid, wid, nwg);
  if (lane >= p.lanes) { return; }
  let tl = tile_of(lane, p.ch, p.ow, p.oh);
  let ci = tl.ch / p.mult;
  var init = 0.0;
  if (p.has_bias == 1u) { init = sb[tl.ch]; }
  var acc: array<f32, 8>;
  for (var t = 0u; t < TP; t++) { acc[t] = init; }
  let iwb = i32(tl.x0 * SW) - i32(p.pl);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ih = i32(tl.y * p.sh + ky * p.dh) - i32(p.pt);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    let rowb = (tl.n * p.h + u32(ih)) * p.w;
    var xw: array<f32, WIN>;
    for (var j = 0u; j < win_len(); j++) {
      let iw = iwb + i32(j);
      let ok = iw >= 0 && iw < i32(p.w);
      xw[j] = select(0.0, sx[select(0u, (rowb + u32(iw)) * p.c + ci, ok)], ok);
    }
    for (var kx = 0u; kx < KW; kx++) {
      let wv = sw[(ky * KW + kx) * p.ch + tl.ch];
      for (var t = 0u; t < TP; t++) { acc[t] = fma(xw[t * SW + kx * DW], wv, acc[t]); }
    }
  }
  let ob = (tl.n * p.oh + tl.y) * p.ow;
  for (var t = 0u; t < TP; t++) {
    if (tl.x0 + t < p.ow) { sy[(ob + tl.x0 + t) * p.ch + tl.ch] = activate(acc[t], p.act); }
  }
}

// ---- backward w.r.t. the input, vec4 ----

@group(0) @binding(0) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gw4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> gdx4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> gp: DwParams;

// Output row for input row `ih` and filter row `ky`, or -1 when none (stride or range).
fn out_row(ih: u32, ky: u32, p: DwParams) -> i32 {
  let a = i32(ih + p.pt) - i32(ky * p.dh);
  let oy = a / i32(p.sh);
  if (a < 0 || oy * i32(p.sh) != a || oy >= i32(p.oh)) { return -1; }
  return oy;
}

// Output column for input column `iw` and tap `kx`, or -1 when none.
fn out_col(iw: u32, kx: u32, pl: u32, ow: u32) -> i32 {
  let b = i32(iw + pl) - i32(kx * DW);
  let ox = b / i32(SW);
  if (b < 0 || ox * i32(SW) != b || ox >= i32(ow)) { return -1; }
  return ox;
}

@compute @workgroup_size(WG)
fn depthwise_backward_input_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                                 @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gp;
  let lane = lane_index(lid, wid, nwg);
  if (lane >= p.lanes) { return; }
  let tl = tile_of(lane, p.ch, p.w, p.h);
  var acc: array<vec4<f32>, 8>;
  for (var t = 0u; t < TP; t++) { acc[t] = vec4<f32>(0.0); }
  for (var ky = 0u; ky < p.kh; ky++) {
    let oy = out_row(tl.y, ky, p);
    if (oy < 0) { continue; }
    let rowb = (tl.n * p.oh + u32(oy)) * p.ow;
    if (SW == 1u) {
      // Window: dy column base + j for j in [0, TP + (KW-1)*DW); tap kx at pixel t reads j = t + (KW-1-kx)*DW.
      let base = i32(tl.x0 + p.pl) - i32((KW - 1u) * DW);
      var gw: array<vec4<f32>, WIN>;
      for (var j = 0u; j < win_len(); j++) {
        let ox = base + i32(j);
        let ok = ox >= 0 && ox < i32(p.ow);
        gw[j] = select(vec4<f32>(0.0), gdy4[select(0u, (rowb + u32(ox)) * p.ch + tl.ch, ok)], ok);
      }
      for (var kx = 0u; kx < KW; kx++) {
        let wv = gw4[(ky * KW + kx) * p.ch + tl.ch];
        for (var t = 0u; t < TP; t++) { acc[t] = fma(gw[t + (KW - 1u - kx) * DW], wv, acc[t]); }
      }
    } else {
      for (var kx = 0u; kx < KW; kx++) {
        let wv = gw4[(ky * KW + kx) * p.ch + tl.ch];
        for (var t = 0u; t < TP; t++) {
          let ox = out_col(tl.x0 + t, kx, p.pl, p.ow);
          let ok = ox >= 0;
          let g = select(vec4<f32>(0.0), gdy4[select(0u, (rowb + u32(ox)) * p.ch + tl.ch, ok)], ok);
          acc[t] = fma(g, wv, acc[t]);
        }
      }
    }
  }
  let ob = (tl.n * p.h + tl.y) * p.w;
  for (var t = 0u; t < TP; t++) {
    if (tl.x0 + t < p.w) { gdx4[(ob + tl.x0 + t) * p.ch + tl.ch] = acc[t]; }
  }
}

// ---- backward w.r.t. the input, scalar (sums over the multiplier) ----

@group(0) @binding(0) var<storage, read> hdy: array<f32>;
@group(0) @binding(1) var<storage, read> hw: array<f32>;
@group(0) @binding(2) var<storage, read_write> hdx: array<f32>;
@group(0) @binding(3) var<uniform> hp: DwParams;

@compute @workgroup_size(WG)
fn depthwise_backward_input(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                            @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = hp;
  let lane = lane_index(lid, wid, nwg);
  if (lane >= p.lanes) { return; }
  // Here ch counts input channels; output channels are c*mult + m.
  let tl = tile_of(lane, p.ch, p.w, p.h);
  let cout = p.c * p.mult;
  var acc: array<f32, 8>;
  for (var t = 0u; t < TP; t++) { acc[t] = 0.0; }
  for (var ky = 0u; ky < p.kh; ky++) {
    let oy = out_row(tl.y, ky, p);
    if (oy < 0) { continue; }
    let rowb = (tl.n * p.oh + u32(oy)) * p.ow;
    for (var m = 0u; m < p.mult; m++) {
      let oc = tl.ch * p.mult + m;
      for (var kx = 0u; kx < KW; kx++) {
        let wv = hw[(ky * KW + kx) * cout + oc];
        for (var t = 0u; t < TP; t++) {
          let ox = out_col(tl.x0 + t, kx, p.pl, p.ow);
          let ok = ox >= 0;
          acc[t] = fma(select(0.0, hdy[select(0u, (rowb + u32(ox)) * cout + oc, ok)], ok), wv, acc[t]);
        }
      }
    }
  }
  let ob = (tl.n * p.h + tl.y) * p.w;
  for (var t = 0u; t < TP; t++) {
    if (tl.x0 + t < p.w) { hdx[(ob + tl.x0 + t) * p.c + tl.ch] = acc[t]; }
  }
}

// ---- backward w.r.t. the filter, vec4 ----

@group(0) @binding(0) var<storage, read> kx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> kdy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kdw4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> kp: DwParams;

fn taps_per_block() -> u32 {
  return min(KW, KB);
}

@compute @workgroup_size(WG)
fn depthwise_backward_filter_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = kp;
  let lane = wid.x * WG + lid;
  if (lane >= p.lanes) { return; }
  let ch = lane % p.ch;
  let blocks = (KW + KB - 1u) / KB;
  let kb = (lane / p.ch) % blocks;
  let ky = lane / (p.ch * blocks);
  let mtotal = p.n * p.oh * p.ow;
  let mbeg = wid.y * p.chunk;
  let mend = min(mbeg + p.chunk, mtotal);
  var acc: array<vec4<f32>, KB>;
  for (var j = 0u; j < taps_per_block(); j++) { acc[j] = vec4<f32>(0.0); }
  let offw = i32(kb * KB * DW) - i32(p.pl);
  for (var m = mbeg; m < mend; m++) {
    let ow = m % p.ow;
    let r = m / p.ow;
    let ih = i32((r % p.oh) * p.sh + ky * p.dh) - i32(p.pt);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    let rowb = ((r / p.oh) * p.h + u32(ih)) * p.w;
    let g = kdy4[m * p.ch + ch];
    let iwb = i32(ow * SW) + offw;
    for (var j = 0u; j < taps_per_block(); j++) {
      let iw = iwb + i32(j * DW);
      let ok = iw >= 0 && iw < i32(p.w) && kb * KB + j < KW;
      acc[j] = fma(select(vec4<f32>(0.0), kx4[select(0u, (rowb + u32(iw)) * p.ch + ch, ok)], ok), g, acc[j]);
    }
  }
  let base = wid.y * p.kh * KW * p.ch;
  for (var j = 0u; j < taps_per_block(); j++) {
    let kx = kb * KB + j;
    if (kx < KW) { kdw4[base + (ky * KW + kx) * p.ch + ch] = acc[j]; }
  }
}

// ---- backward w.r.t. the filter, scalar ----

@group(0) @binding(0) var<storage, read> lx: array<f32>;
@group(0) @binding(1) var<storage, read> ldy: array<f32>;
@group(0) @binding(2) var<storage, read_write> ldw: array<f32>;
@group(0) @binding(3) var<uniform> lp: DwParams;

@compute @workgroup_size(WG)
fn depthwise_backward_filter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = lp;
  let lane = wid.x * WG + lid;
  if (lane >= p.lanes) { return; }
  // Here ch counts output channels oc; the input channel is oc / mult.
  let oc = lane % p.ch;
  let ci = oc / p.mult;
  let blocks = (KW + KB - 1u) / KB;
  let kb = (lane / p.ch) % blocks;
  let ky = lane / (p.ch * blocks);
  let mtotal = p.n * p.oh * p.ow;
  let mbeg = wid.y * p.chunk;
  let mend = min(mbeg + p.chunk, mtotal);
  var acc: array<f32, KB>;
  for (var j = 0u; j < taps_per_block(); j++) { acc[j] = 0.0; }
  let offw = i32(kb * KB * DW) - i32(p.pl);
  for (var m = mbeg; m < mend; m++) {
    let ow = m % p.ow;
    let r = m / p.ow;
    let ih = i32((r % p.oh) * p.sh + ky * p.dh) - i32(p.pt);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    let rowb = ((r / p.oh) * p.h + u32(ih)) * p.w;
    let g = ldy[m * p.ch + oc];
    let iwb = i32(ow * SW) + offw;
    for (var j = 0u; j < taps_per_block(); j++) {
      let iw = iwb + i32(j * DW);
      let ok = iw >= 0 && iw < i32(p.w) && kb * KB + j < KW;
      acc[j] = fma(select(0.0, lx[select(0u, (rowb + u32(iw)) * p.c + ci, ok)], ok), g, acc[j]);
    }
  }
  let base = wid.y * p.kh * KW * p.ch;
  for (var j = 0u; j < taps_per_block(); j++) {
    let kx = kb * KB + j;
    if (kx < KW) { ldw[base + (ky * KW + kx) * p.ch + oc] = acc[j]; }
  }
}
