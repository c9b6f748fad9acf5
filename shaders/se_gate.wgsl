// Squeeze-excite gate: gate = act_e(act_r(mean_hw(x) · wr + br) · we + be), per image, in one pass (or two for
// large maps, where one workgroup per image would leave a GPU idle).
//
// se_gate:  in: x [N, HW, C], wr [C, R], br [R], we [R, C], be [C] (dummy bindings when has_br / has_be are 0)
//   out: gate [N, C]   uniform: Params
//   One workgroup of WG invocations handles one image: it sums C channels CW at a time over the HW rows (lane =
//   channel, WG / CW rows of lanes stride over HW, partial sums meet in workgroup memory) and divides by `count`,
//   then each invocation computes hidden units j = li, li + WG, ... (a dot over C) and finally gate channels
//   c = li, li + WG, ... (a dot over R). With partial sums from se_pool as x (HW = chunks), count is the true H*W.
// se_pool:  in: x [N, HW, C]   out: partial [N, chunks, C]   uniform: Params (hw, c, chunk, chunks)
//   One workgroup sums rows [j*chunk, (j+1)*chunk) of image n for CW channels.
// Dispatch: se_gate grid(N) workgroups of WG; se_pool grid(N * chunks * ceil(C / CW)) workgroups of WG.

//! include activation

override WG: u32 = 256u;
// Channels pooled per pass (WG % CW == 0).
override CW: u32 = 64u;
// Workgroup capacities: C <= MAXC, R <= MAXR (the host checks).
override MAXC: u32 = 1024u;
override MAXR: u32 = 64u;

struct Params {
  n: u32,
  hw: u32,
  c: u32,
  r: u32,
  act_r: u32,   // ACTIVATION codes in src/ops/activation.ts
  act_e: u32,
  has_br: u32,
  has_be: u32,
  count: u32,   // the divisor of the mean (H*W of the original map)
  chunk: u32,   // se_pool: rows per chunk
  chunks: u32,  // se_pool: chunks per image
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(0) var<storage, read> px: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<uniform> pp: Params;
@group(0) @binding(1) var<storage, read> wr: array<f32>;
@group(0) @binding(2) var<storage, read> br: array<f32>;
@group(0) @binding(3) var<storage, read> we: array<f32>;
@group(0) @binding(4) var<storage, read> be: array<f32>;
@group(0) @binding(5) var<storage, read_write> gate: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> pooled: array<f32, MAXC>;
var<workgroup> part: array<f32, WG>;
var<workgroup> hidden: array<f32, MAXR>;

@compute @workgroup_size(WG)
fn se_gate(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let img = wid.x + wid.y * nwg.x;
  // NOTE: a whole workgroup past N (grid() rounds up) leaves together, so barriers stay uniform.
  if (img >= p.n) { return; }
  let C = p.c;
  let HW = p.hw;
  let R = p.r;
  let base = img * HW * C;
  let lane = li % CW;
  let row = li / CW;
  let rows = WG / CW;
  for (var c0 = 0u; c0 < C; c0 += CW) {
    let ch = c0 + lane;
    var s = 0.0;
    if (ch < C) {
      for (var i = row; i < HW; i += rows) {
        s += x[base + i * C + ch];
      }
    }
    part[li] = s;
    workgroupBarrier();
    if (row == 0u && ch < C) {
      var t = 0.0;
      for (var g = 0u; g < rows; g++) {
        t += part[g * CW + lane];
      }
      pooled[ch] = t / f32(p.count);
    }
    workgroupBarrier();
  }
  for (var j = li; j < R; j += WG) {
    var s = select(0.0, br[j], p.has_br != 0u);
    for (var c = 0u; c < C; c++) {
      s += pooled[c] * wr[c * R + j];
    }
    hidden[j] = activate(s, p.act_r);
  }
  workgroupBarrier();
  for (var c = li; c < C; c += WG) {
    var s = select(0.0, be[c], p.has_be != 0u);
    for (var j = 0u; j < R; j++) {
      s += hidden[j] * we[j * C + c];
    }
    gate[img * C + c] = activate(s, p.act_e);
  }
}

@compute @workgroup_size(WG)
fn se_pool(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let blocks = (pp.c + CW - 1u) / CW;
  let cb = g % blocks;
  let j = (g / blocks) % pp.chunks;
  let img = g / blocks / pp.chunks;
  if (img >= pp.n) { return; }
  let lane = li % CW;
  let row = li / CW;
  let rows = WG / CW;
  let ch = cb * CW + lane;
  let end = min((j + 1u) * pp.chunk, pp.hw);
  var s = 0.0;
  if (ch < pp.c) {
    for (var i = j * pp.chunk + row; i < end; i += rows) {
      s += px[(img * pp.hw + i) * pp.c + ch];
    }
  }
  part[li] = s;
  workgroupBarrier();
  if (row == 0u && ch < pp.c) {
    var t = 0.0;
    for (var r = 0u; r < rows; r++) {
      t += part[r * CW + lane];
    }
    partial[(img * pp.chunks + j) * pp.c + ch] = t;
  }
}
