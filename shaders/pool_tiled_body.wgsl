// The 'workgroup' variant of max and average pooling's forward, written once over `lane_t` / `idx_t` (f32 / u32 in
// pool_tiled.wgsl, vec4 in pool_tiled_v4.wgsl with C4 = C / 4 lanes in place of C): windows read a tile of the input
// staged in workgroup memory instead of global memory (overlapping windows share their loads).
//
// A workgroup is WGX channel lanes x WGY output columns of one output row oh of image n. It stages the kh input rows
// and SPAN = (WGY - 1)*sw + kw input columns its windows cover (TILE = kh * SPAN positions per lane; positions
// outside the input are never read by a window), then each invocation scans its window as pool2d does.
// pool2d_tiled:          in: x   out: y [N,OH,OW,C]        OP 0: max, OP 1: mean over the valid window.
// max_pool_argmax_tiled: in: x   out: y, idx               OP 0, with the winner's window position (ties: the first).
// Dispatch: grid(N * OH * ceil(OW / WGY) * ceil(C / WGX)) workgroups of WGX x WGY.

override WGX: u32 = 8u;
override WGY: u32 = 16u;
override TILE: u32 = 1u;
override OP: u32 = 0u;

//! include pool_params

var<workgroup> tile: array<lane_t, WGX * TILE>;

// The workgroup's image, output row, first output column and first lane (uniform: from the workgroup id alone).
struct TilePos {
  n: u32,
  oh: u32,
  ow0: u32,
  c0: u32,
  h0: i32,
  w0: i32,
  span: u32,
}

fn tile_pos(wid: vec3<u32>, nwg: vec3<u32>, p: PoolParams) -> TilePos {
  let lanes = (p.c + WGX - 1u) / WGX;
  let cols = (p.ow + WGY - 1u) / WGY;
  let g = wid.x + wid.y * nwg.x;
  var t = g / lanes;
  let ow0 = (t % cols) * WGY;
  t = t / cols;
  let oh = t % p.oh;
  return TilePos(t / p.oh, oh, ow0, (g % lanes) * WGX, i32(oh * p.sh) - i32(p.pt), i32(ow0 * p.sw) - i32(p.pl),
                 (WGY - 1u) * p.sw + p.kw);
}

// Stages the tile: invocation (x, y) loads positions y, y + WGY, ... of lane x (0 outside the input).
fn stage(x: u32, y: u32, t: TilePos, p: PoolParams) {
  let c = t.c0 + x;
  for (var e = y; e < p.kh * t.span; e += WGY) {
    let ih = t.h0 + i32(e / t.span);
    let iw = t.w0 + i32(e % t.span);
    var v = lane_t(0.0);
    if (c < p.c && ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w)) {
      v = tx[((t.n * p.h + u32(ih)) * p.w + u32(iw)) * p.c + c];
    }
    tile[e * WGX + x] = v;
  }
}

struct TiledPooled {
  value: lane_t,
  arg: idx_t,
}

// The window of output column ow0 + y, scanned in pool2d's order (padded positions skipped, ties to the first).
fn tiled_window(x: u32, y: u32, t: TilePos, p: PoolParams) -> TiledPooled {
  let none = idx_t(0xffffffffu);
  var best = lane_t(0.0);
  var arg = none;
  var sum = lane_t(0.0);
  var count = 0u;
  for (var dy = 0u; dy < p.kh; dy++) {
    let ih = t.h0 + i32(dy);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    for (var dx = 0u; dx < p.kw; dx++) {
      let col = y * p.sw + dx;
      let iw = t.w0 + i32(col);
      if (iw < 0 || iw >= i32(p.w)) { continue; }
      let v = tile[(dy * t.span + col) * WGX + x];
      if (OP == 0u) {
        let take = (arg == none) | (v > best);
        best = select(best, v, take);
        arg = select(arg, idx_t(dy * p.kw + dx), take);
      } else {
        sum += v;
        count += 1u;
      }
    }
  }
  if (OP == 0u) { return TiledPooled(best, arg); }
  return TiledPooled(sum / f32(max(count, 1u)), idx_t(0u));
}

@group(0) @binding(0) var<storage, read> tx: array<lane_t>;
@group(0) @binding(1) var<storage, read_write> ty: array<lane_t>;
@group(0) @binding(2) var<uniform> tp: PoolParams;

@compute @workgroup_size(WGX, WGY)
fn pool2d_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = tile_pos(wid, nwg, tp);
  // NOTE: the surplus groups of a 2-D grid leave as a whole workgroup, so the barrier below stays uniform.
  if (t.n >= tp.n) { return; }
  stage(lid.x, lid.y, t, tp);
  workgroupBarrier();
  let c = t.c0 + lid.x;
  let ow = t.ow0 + lid.y;
  if (c >= tp.c || ow >= tp.ow) { return; }
  ty[((t.n * tp.oh + t.oh) * tp.ow + ow) * tp.c + c] = tiled_window(lid.x, lid.y, t, tp).value;
}

@group(0) @binding(1) var<storage, read_write> ay: array<lane_t>;
@group(0) @binding(2) var<storage, read_write> aidx: array<idx_t>;
@group(0) @binding(3) var<uniform> ap: PoolParams;

@compute @workgroup_size(WGX, WGY)
fn max_pool_argmax_tiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = tile_pos(wid, nwg, ap);
  if (t.n >= ap.n) { return; }
  stage(lid.x, lid.y, t, ap);
  workgroupBarrier();
  let c = t.c0 + lid.x;
  let ow = t.ow0 + lid.y;
  if (c >= ap.c || ow >= ap.ow) { return; }
  let o = ((t.n * ap.oh + t.oh) * ap.ow + ow) * ap.c + c;
  let r = tiled_window(lid.x, lid.y, t, ap);
  ay[o] = r.value;
  aidx[o] = r.arg;
}
