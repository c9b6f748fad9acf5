// The geometry and uniform block of the vec4 depthwise variants ('tiled' and the 'subgroup' filter gradient), filled
// by the same host function (tiledKernel's uniforms in src/ops/depthwise-kernels.ts). Included by
// shaders/depthwise_conv2d_tiled_body.wgsl and depthwise_conv2d_subgroup.wgsl.

override KW: u32 = 3u;
override KH: u32 = 3u;
override SW: u32 = 1u;
override SH: u32 = 1u;
override DW: u32 = 1u;
override DH: u32 = 1u;

struct TParams {
  n: u32, h: u32, w: u32, ch: u32,
  oh: u32, ow: u32, pt: u32, pl: u32,
  act: u32, has_bias: u32, groups: u32, _p0: u32,
}
