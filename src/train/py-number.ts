// Python's number formatting where it differs from JavaScript's: round-half-even ties, two-digit exponents, float repr.

/**
 * Python's '%.{p}f' / '{:.{p}f}': like toFixed, but exact ties (e.g. 0.125 to 2 places) round to even,
 * where JavaScript rounds them up.
 */
export function pyFixed(x: number, p: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  // NOTE: toFixed prints the exact binary value, so a tie shows as a 5 followed only by zeros.
  const extra = Math.min(100, p + 40);
  const exact = a.toFixed(extra);
  const tail = exact.slice(exact.length - (extra - p));
  if (!/^50*$/.test(tail) || a >= 1e21) return sign + a.toFixed(p);
  const truncated = exact.slice(0, exact.length - (extra - p)).replace(/\.$/, '');
  // NOTE: an odd last digit rounds up, which toFixed already does for ties.
  return sign + (Number(truncated[truncated.length - 1]) % 2 === 0 ? truncated : a.toFixed(p));
}

/** Python's '%.{p}e': the exponent has a sign and at least two digits. */
export function pyExponential(x: number, p: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const [mant, exp] = x.toExponential(p).split('e') as [string, string];
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mant}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** Python's repr of a float: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const e = Number(expStr);
  const sign = x < 0 ? '-' : '';
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const int = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${int}.${frac || '0'}`;
}
