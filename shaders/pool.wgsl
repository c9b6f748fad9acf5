// Pooling over NHWC tensors: global average pooling and 2-D max/average pooling, forward and backward.
// Windows start at (oh*sh - pt, ow*sw - pl); elements outside the input are skipped (never counted, never the max).
//
// gap_partial:        in: x [N,HW,C]        out: part [N,S,C]   one invocation: (n, s, c), the sum of rows
//                     s*R .. s*R+R-1 of image n times `scale` (1/HW when S = 1, so part is already the output).
//                     Dispatch: grid(ceil(N*S*C / WG)).
// gap_finalize:       in: part [N,S,C]      out: y [N,C]        one invocation: (n, c), scale * sum over s.
//                     Dispatch: grid(ceil(N*C / WG)).
// gap_backward:       in: dy [N,C]          out: dx [N,HW,C]    one invocation: channel c of GAP_RB rows of image n,
//                     dx = dy[n,c] * scale. Dispatch: grid(ceil(N*ceil(HW/GAP_RB)*C / WG)).
// gap_partial_v4, gap_backward_v4: the same with C4 = C / 4 lanes of 4 channels (C % 4 == 0).
// pool2d:             in: x                 out: y [N,OH,OW,C]  one invocation: one output element;
//                     OP 0: max over the valid window, OP 1: mean over the valid window (padding excluded).
//                     Dispatch: grid(ceil(N*OH*OW*C / WG)).
// max_pool_argmax:    in: x                 out: y, idx (u32)   as pool2d OP 0, also writing the winner's position
//                     in its window (dy*kw + dx). Ties: the first in row-major window scan order wins.
// max_pool_backward:  in: dy, idx           out: dx [N,H,W,C]   one invocation: one input element, the sum of dy
//                     over the windows whose recorded winner is this element (a gather: no atomics, deterministic).
// avg_pool_backward:  in: dy                out: dx             one invocation: one input element, the sum of
//                     dy / count over the windows that contain it. Dispatch for both: grid(ceil(N*H*W*C / WG)).
// pool2d_v4, max_pool_argmax_v4, max_pool_backward_v4, avg_pool_backward_v4: the same with 4 channels per invocation
// (C % 4 == 0), at the end of the file.
// Linear group index everywhere: wid.x + wid.y * nwg.x.
// These are the 'register' variant of the 'pool' family; gap_partial's 'workgroup' and 'subgroup' forms are in
// shaders/pool_workgroup_body.wgsl and pool_subgroup_body.wgsl, the tiled pool2d / max_pool_argmax in pool_tiled_body.wgsl.

override WG: u32 = 64u;
override OP: u32 = 0u;

//! include pool_params

fn gid(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// ---- global average pooling ----

@group(0) @binding(0) var<storage, read> gx: array<f32>;
@group(0) @binding(1) var<storage, read_write> gpart: array<f32>;
@group(0) @binding(2) var<uniform> gp: GapParams;

@compute @workgroup_size(WG)
fn gap_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= gp.total) { return; }
  let c = i % gp.c;
  let t = i / gp.c;
  let s = t % gp.s;
  let n = t / gp.s;
  let r0 = s * gp.r;
  let r1 = min(r0 + gp.r, gp.hw);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc += gx[(n * gp.hw + r) * gp.c + c];
  }
  gpart[i] = acc * gp.scale;
}

@group(0) @binding(0) var<storage, read> fpart: array<f32>;
@group(0) @binding(1) var<storage, read_write> fy: array<f32>;
@group(0) @binding(2) var<uniform> fp: GapParams;

@compute @workgroup_size(WG)
fn gap_finalize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= fp.total) { return; }
  let c = i % fp.c;
  let n = i / fp.c;
  var acc = 0.0;
  for (var s = 0u; s < fp.s; s++) {
    acc += fpart[(n * fp.s + s) * fp.c + c];
  }
  fy[i] = acc * fp.scale;
}

// NOTE: one invocation writes a block of GAP_RB rows of one channel: dy loads once, no index division per element.
const GAP_RB: u32 = 32u;

@group(0) @binding(0) var<storage, read> bdy: array<f32>;
@group(0) @binding(1) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(2) var<uniform> bp: GapParams;

@compute @workgroup_size(WG)
fn gap_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= bp.total) { return; }
  let c = i % bp.c;
  let t = i / bp.c;
  let blocks = (bp.hw + GAP_RB - 1u) / GAP_RB;
  let n = t / blocks;
  let r0 = (t % blocks) * GAP_RB;
  let r1 = min(r0 + GAP_RB, bp.hw);
  let v = bdy[n * bp.c + c] * bp.scale;
  for (var r = r0; r < r1; r++) {
    bdx[(n * bp.hw + r) * bp.c + c] = v;
  }
}

// ---- windowed pooling ----

struct OutPos {
  n: u32,
  c: u32,
  h0: i32,
  w0: i32,
}

fn out_pos(i: u32, p: PoolParams) -> OutPos {
  let c = i % p.c;
  var t = i / p.c;
  let ow = t % p.ow;
  t = t / p.ow;
  let oh = t % p.oh;
  let n = t / p.oh;
  return OutPos(n, c, i32(oh * p.sh) - i32(p.pt), i32(ow * p.sw) - i32(p.pl));
}

struct Pooled {
  value: f32,
  arg: u32,
}

// NOTE: the first valid element seeds the max and later ones must be strictly greater, so ties go to the first.
fn pool_window(p: PoolParams, o: OutPos) -> Pooled {
  var best = 0.0;
  var arg = 0xffffffffu;
  var sum = 0.0;
  var count = 0u;
  for (var dy = 0u; dy < p.kh; dy++) {
    let ih = o.h0 + i32(dy);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    for (var dx = 0u; dx < p.kw; dx++) {
      let iw = o.w0 + i32(dx);
      if (iw < 0 || iw >= i32(p.w)) { continue; }
      let v = px[((o.n * p.h + u32(ih)) * p.w + u32(iw)) * p.c + o.c];
      if (OP == 0u) {
        if (arg == 0xffffffffu || v > best) {
          best = v;
          arg = dy * p.kw + dx;
        }
      } else {
        sum += v;
        count += 1u;
      }
    }
  }
  if (OP == 0u) { return Pooled(best, arg); }
  return Pooled(sum / f32(max(count, 1u)), 0u);
}

@group(0) @binding(0) var<storage, read> px: array<f32>;
@group(0) @binding(1) var<storage, read_write> py: array<f32>;
@group(0) @binding(2) var<uniform> pp: PoolParams;

@compute @workgroup_size(WG)
fn pool2d(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= pp.total) { return; }
  py[i] = pool_window(pp, out_pos(i, pp)).value;
}

@group(0) @binding(1) var<storage, read_write> ay: array<f32>;
@group(0) @binding(2) var<storage, read_write> aidx: array<u32>;
@group(0) @binding(3) var<uniform> ap: PoolParams;

@compute @workgroup_size(WG)
fn max_pool_argmax(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= ap.total) { return; }
  let r = pool_window(ap, out_pos(i, ap));
  ay[i] = r.value;
  aidx[i] = r.arg;
}

// Output rows (or columns) whose window covers input coordinate `ic`: [lo, hi] (empty when lo > hi).
fn covering(ic: u32, pad: u32, k: u32, s: u32, outn: u32) -> vec2<i32> {
  let num = i32(ic + pad) - i32(k) + 1;
  let lo = select(0, (num + i32(s) - 1) / i32(s), num > 0);
  let hi = min(i32((ic + pad) / s), i32(outn) - 1);
  return vec2<i32>(lo, hi);
}

@group(0) @binding(0) var<storage, read> mdy: array<f32>;
@group(0) @binding(1) var<storage, read> midx: array<u32>;
@group(0) @binding(2) var<storage, read_write> mdx: array<f32>;
@group(0) @binding(3) var<uniform> mp: PoolParams;

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= mp.total) { return; }
  let c = i % mp.c;
  var t = i / mp.c;
  let iw = t % mp.w;
  t = t / mp.w;
  let ih = t % mp.h;
  let n = t / mp.h;
  let rows = covering(ih, mp.pt, mp.kh, mp.sh, mp.oh);
  let cols = covering(iw, mp.pl, mp.kw, mp.sw, mp.ow);
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    let dy = ih + mp.pt - u32(oh) * mp.sh;
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let dx = iw + mp.pl - u32(ow) * mp.sw;
      let o = ((n * mp.oh + u32(oh)) * mp.ow + u32(ow)) * mp.c + c;
      if (midx[o] == dy * mp.kw + dx) { acc += mdy[o]; }
    }
  }
  mdx[i] = acc;
}

@group(0) @binding(0) var<storage, read> vdy: array<f32>;
@group(0) @binding(1) var<storage, read_write> vdx: array<f32>;
@group(0) @binding(2) var<uniform> vp: PoolParams;

// Valid elements along one axis of the window starting at `start`.
fn valid_extent(start: i32, k: u32, size: u32) -> u32 {
  return u32(min(start + i32(k), i32(size)) - max(start, 0));
}

@compute @workgroup_size(WG)
fn avg_pool_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= vp.total) { return; }
  let c = i % vp.c;
  var t = i / vp.c;
  let iw = t % vp.w;
  t = t / vp.w;
  let ih = t % vp.h;
  let n = t / vp.h;
  let rows = covering(ih, vp.pt, vp.kh, vp.sh, vp.oh);
  let cols = covering(iw, vp.pl, vp.kw, vp.sw, vp.ow);
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    let nh = valid_extent(oh * i32(vp.sh) - i32(vp.pt), vp.kh, vp.h);
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let nw = valid_extent(ow * i32(vp.sw) - i32(vp.pl), vp.kw, vp.w);
      let o = ((n * vp.oh + u32(oh)) * vp.ow + u32(ow)) * vp.c + c;
      acc += vdy[o] / f32(nh * nw);
    }
  }
  vdx[i] = acc;
}

// ---- vec4 forms, used when C % 4 == 0 ----
// Same as pool2d, max_pool_argmax, max_pool_backward and avg_pool_backward with p.c = C4 = C / 4: one invocation
// handles 4 consecutive channels with vec4 loads. Dispatch: grid(ceil(N*OH*OW*C4 / WG)) forward,
// grid(ceil(N*H*W*C4 / WG)) backward.

struct Pooled4 {
  value: vec4<f32>,
  arg: vec4<u32>,
}

fn pool_window4(p: PoolParams, o: OutPos) -> Pooled4 {
  let none = vec4<u32>(0xffffffffu);
  var best = vec4<f32>(0.0);
  var arg = none;
  var sum = vec4<f32>(0.0);
  var count = 0u;
  for (var dy = 0u; dy < p.kh; dy++) {
    let ih = o.h0 + i32(dy);
    if (ih < 0 || ih >= i32(p.h)) { continue; }
    for (var dx = 0u; dx < p.kw; dx++) {
      let iw = o.w0 + i32(dx);
      if (iw < 0 || iw >= i32(p.w)) { continue; }
      let v = qx[((o.n * p.h + u32(ih)) * p.w + u32(iw)) * p.c + o.c];
      if (OP == 0u) {
        let take = (arg == none) | (v > best);
        best = select(best, v, take);
        arg = select(arg, vec4<u32>(dy * p.kw + dx), take);
      } else {
        sum += v;
        count += 1u;
      }
    }
  }
  if (OP == 0u) { return Pooled4(best, arg); }
  return Pooled4(sum / f32(max(count, 1u)), vec4<u32>(0u));
}

@group(0) @binding(0) var<storage, read> qx: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> qy: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> qp: PoolParams;

@compute @workgroup_size(WG)
fn pool2d_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= qp.total) { return; }
  qy[i] = pool_window4(qp, out_pos(i, qp)).value;
}

@group(0) @binding(1) var<storage, read_write> ry: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> ridx: array<vec4<u32>>;
@group(0) @binding(3) var<uniform> rp: PoolParams;

@compute @workgroup_size(WG)
fn max_pool_argmax_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                      @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= rp.total) { return; }
  let r = pool_window4(rp, out_pos(i, rp));
  ry[i] = r.value;
  ridx[i] = r.arg;
}

@group(0) @binding(0) var<storage, read> sdy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> sidx: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sdx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> sp: PoolParams;

@compute @workgroup_size(WG)
fn max_pool_backward_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= sp.total) { return; }
  let c = i % sp.c;
  var t = i / sp.c;
  let iw = t % sp.w;
  t = t / sp.w;
  let ih = t % sp.h;
  let n = t / sp.h;
  let rows = covering(ih, sp.pt, sp.kh, sp.sh, sp.oh);
  let cols = covering(iw, sp.pl, sp.kw, sp.sw, sp.ow);
  var acc = vec4<f32>(0.0);
  for (var oh = rows.x; oh <= rows.y; oh++) {
    let dy = ih + sp.pt - u32(oh) * sp.sh;
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let dx = iw + sp.pl - u32(ow) * sp.sw;
      let o = ((n * sp.oh + u32(oh)) * sp.ow + u32(ow)) * sp.c + c;
      acc += select(vec4<f32>(0.0), sdy[o], sidx[o] == vec4<u32>(dy * sp.kw + dx));
    }
  }
  sdx[i] = acc;
}

@group(0) @binding(0) var<storage, read> wdy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> wdx: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> wp: PoolParams;

@compute @workgroup_size(WG)
fn avg_pool_backward_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= wp.total) { return; }
  let c = i % wp.c;
  var t = i / wp.c;
  let iw = t % wp.w;
  t = t / wp.w;
  let ih = t % wp.h;
  let n = t / wp.h;
  let rows = covering(ih, wp.pt, wp.kh, wp.sh, wp.oh);
  let cols = covering(iw, wp.pl, wp.kw, wp.sw, wp.ow);
  var acc = vec4<f32>(0.0);
  for (var oh = rows.x; oh <= rows.y; oh++) {
    let nh = valid_extent(oh * i32(wp.sh) - i32(wp.pt), wp.kh, wp.h);
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let nw = valid_extent(ow * i32(wp.sw) - i32(wp.pl), wp.kw, wp.w);
      let o = ((n * wp.oh + u32(oh)) * wp.ow + u32(ow)) * wp.c + c;
      acc += wdy[o] / f32(nh * nw);
    }
  }
  wdx[i] = acc;
}

@group(0) @binding(0) var<storage, read> gx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> gpart4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> gp4: GapParams;

@compute @workgroup_size(WG)
fn gap_partial_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= gp4.total) { return; }
  let c = i % gp4.c;
  let t = i / gp4.c;
  let s = t % gp4.s;
  let n = t / gp4.s;
  let r0 = s * gp4.r;
  let r1 = min(r0 + gp4.r, gp4.hw);
  var acc = vec4<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    acc += gx4[(n * gp4.hw + r) * gp4.c + c];
  }
  gpart4[i] = acc * gp4.scale;
}

@group(0) @binding(0) var<storage, read> bdy4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> bdx4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> bp4: GapParams;

@compute @workgroup_size(WG)
fn gap_backward_v4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid(lid, wid, nwg);
  if (i >= bp4.total) { return; }
  let c = i % bp4.c;
  let t = i / bp4.c;
  let blocks = (bp4.hw + GAP_RB - 1u) / GAP_RB;
  let n = t / blocks;
  let r0 = (t % blocks) * GAP_RB;
  let r1 = min(r0 + GAP_RB, bp4.hw);
  let v = bdy4[n * bp4.c + c] * bp4.scale;
  for (var r = r0; r < r1; r++) {
    bdx4[(n * bp4.hw + r) * bp4.c + c] = v;
  }
}
