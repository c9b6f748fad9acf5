// What to tell a user whose browser gives no WebGPU: which browsers have it and which flags turn it on.

/** The sentence shown when `navigator.gpu` is missing or no adapter comes back. */
export function noWebGpuMessage(detail: 'no-webgpu' | 'no-adapter', extra = ''): string {
  const what = detail === 'no-webgpu'
    ? 'This browser has no WebGPU (navigator.gpu is missing), so Graft cannot run here.'
    : 'WebGPU is present but gave no adapter (requestAdapter() returned null), so Graft cannot run here.';
  const secure = typeof isSecureContext !== 'undefined' && !isSecureContext
    ? '\nWebGPU needs a secure context: open the page as http://127.0.0.1 or http://localhost (or https).'
    : '';
  return `${what}${extra ? ` (${extra})` : ''}${secure}
Use Chrome/Chromium 113+ or Edge 113+ (Safari 26 and Firefox 141 on Windows also have WebGPU).
On Linux start Chromium with --enable-unsafe-webgpu --enable-features=Vulkan; without a GPU add
--use-angle=vulkan --use-vulkan=swiftshader --use-webgpu-adapter=swiftshader (a software GPU: slow but works).
Check chrome://gpu: "WebGPU: Hardware accelerated" (or "Software only") must be listed.`;
}
