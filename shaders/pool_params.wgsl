// The uniform blocks of the pooling kernels, shared by every variant: global average pooling's (GapParams) and the
// windowed pooling's (PoolParams). Included by shaders/pool.wgsl, pool_reduce_common.wgsl and pool_tiled_body.wgsl.

struct GapParams {
  n: u32,
  hw: u32,
  c: u32,
  r: u32,
  s: u32,
  total: u32,
  scale: f32,
  _pad: u32,
}

struct PoolParams {
  n: u32,
  h: u32,
  w: u32,
  c: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  pt: u32,
  pl: u32,
  total: u32,
}
