// MD5 (RFC 1321) in plain TypeScript, for checking downloads where no native md5 exists (WebCrypto has none).

// NOTE: per-round shift amounts and the sine-derived constants K[i] = floor(|sin(i + 1)| * 2^32).
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));

/** Hex md5 digest of `bytes`. */
export function md5Hex(bytes: Uint8Array): string {
  const n = bytes.length;
  const padded = new Uint8Array((((n + 8) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[n] = 0x80;
  const view = new DataView(padded.buffer);
  // NOTE: the message length in bits as a 64-bit little-endian number (two 32-bit halves: n may exceed 2^29).
  view.setUint32(padded.length - 8, (n * 8) >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(n / 2 ** 29), true);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  // NOTE: read the words through a Uint32Array on little-endian hosts (all browsers): DataView calls are much slower.
  const le = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
  const words = le ? new Uint32Array(padded.buffer) : null;
  const m = new Uint32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    if (words) m.set(words.subarray(off >> 2, (off >> 2) + 16));
    else for (let j = 0; j < 16; j++) m[j] = view.getUint32(off + j * 4, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) (f = (b & c) | (~b & d)), (g = i);
      else if (i < 32) (f = (d & b) | (~d & c)), (g = (5 * i + 1) & 15);
      else if (i < 48) (f = b ^ c ^ d), (g = (3 * i + 5) & 15);
      else (f = c ^ (b | ~d)), (g = (7 * i) & 15);
      const t = d;
      d = c;
      c = b;
      const x = (a + f + K[i]! + m[g]!) >>> 0;
      const s = S[((i >> 4) << 2) | (i & 3)]!;
      b = (b + ((x << s) | (x >>> (32 - s)))) >>> 0;
      a = t;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(16));
  [a0, b0, c0, d0].forEach((w, i) => out.setUint32(i * 4, w, true));
  return [...new Uint8Array(out.buffer)].map((x) => x.toString(16).padStart(2, '0')).join('');
}
