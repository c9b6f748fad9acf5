// Shared by the global-average-pooling reduction variants (shaders/pool_workgroup_body.wgsl, pool_subgroup_body.wgsl):
// the uniform block (GapParams, shaders/pool_params.wgsl) and the workgroup's (image, chunk, first lane).

//! include pool_params

// Workgroup g covers lanes (g % tiles) * width .. + width of chunk s of image n; uniform (workgroup id only).
struct GapTile {
  n: u32,
  s: u32,
  c0: u32,
  r0: u32,
  r1: u32,
}

fn gap_tile(wid: vec3<u32>, nwg: vec3<u32>, p: GapParams, width: u32) -> GapTile {
  let tiles = (p.c + width - 1u) / width;
  let g = wid.x + wid.y * nwg.x;
  let t = g / tiles;
  let s = t % p.s;
  let r0 = s * p.r;
  return GapTile(t / p.s, s, (g % tiles) * width, r0, min(r0 + p.r, p.hw));
}
