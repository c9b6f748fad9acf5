// ModelCheckpoint file names: Python str.format with format specs, e.g. 'ckpt-{epoch:02d}-{val_loss:.2f}.safetensors'.

import { pyExponential, pyFixed, pythonFloatRepr } from './py-number.js';

/** Values a template may use: epoch (1-based, as Keras passes it), batch, and any log key. */
export type FormatValues = Record<string, number | string | undefined>;

interface Spec {
  fill: string;
  align: '<' | '>' | '=' | '^' | '';
  sign: '+' | '-' | ' ';
  alt: boolean;
  zero: boolean;
  width: number;
  grouping: ',' | '_' | '';
  precision: number | null;
  type: string;
}

const SPEC_RE = /^(?:(.)?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

class FormatError extends Error {}

function parseSpec(s: string): Spec {
  const m = SPEC_RE.exec(s);
  if (!m) throw new FormatError(`invalid format spec ':${s}'`);
  return {
    fill: m[1] ?? (m[5] && !m[2] ? '0' : ' '),
    align: (m[2] as Spec['align'] | undefined) ?? (m[5] ? '=' : ''),
    sign: (m[3] as Spec['sign'] | undefined) ?? '-',
    alt: m[4] !== undefined,
    zero: m[5] !== undefined,
    width: m[6] ? Number(m[6]) : 0,
    grouping: (m[7] as Spec['grouping'] | undefined) ?? '',
    precision: m[8] !== undefined ? Number(m[8]) : null,
    type: m[9] ?? '',
  };
}

function exponential(x: number, p: number, upper: boolean): string {
  const s = pyExponential(x, p);
  return upper ? s.toUpperCase() : s;
}

/**
 * Python's 'g': p significant digits, scientific when the exponent is < -4 or >= p (>= p - 1 for the float
 * default format, `sciShift` 1), trailing zeros removed unless `alt`.
 */
function general(x: number, p: number, alt: boolean, upper: boolean, sciShift = 0): string {
  const prec = p === 0 ? 1 : p;
  if (x === 0) return alt ? `0.${'0'.repeat(prec - 1)}` : '0';
  const exp = Number(Math.abs(x).toExponential(prec - 1).split('e')[1]);
  const s = exp >= -4 && exp < prec - sciShift ? pyFixed(x, prec - 1 - exp) : exponential(x, prec - 1, upper);
  if (alt) return s;
  const [, mant, rest] = /^([^eE]*)(.*)$/s.exec(s)!;
  return (mant!.includes('.') ? mant!.replace(/0+$/, '').replace(/\.$/, '') : mant!) + rest!;
}

function nonFinite(x: number, upper: boolean): string {
  const s = Number.isNaN(x) ? 'nan' : 'inf';
  return upper ? s.toUpperCase() : s;
}

/** Formats the magnitude of a number (no sign) for a spec type. */
function magnitude(key: string, x: number, spec: Spec): string {
  const a = Math.abs(x);
  const t = spec.type;
  const upper = t === 'E' || t === 'F' || t === 'G' || t === 'X';
  if (!Number.isFinite(a) && 'eEfFgG%'.includes(t || 'g')) return nonFinite(a, upper) + (t === '%' ? '%' : '');
  switch (t) {
    case 'd':
    case 'n':
    case 'b':
    case 'o':
    case 'x':
    case 'X':
    case 'c': {
      if (!Number.isInteger(x)) throw new FormatError(`format code '${t}' needs an integer, but '${key}' is ${x}`);
      if (spec.precision !== null) throw new FormatError(`precision is not allowed with integer format code '${t}'`);
      if (t === 'c') return String.fromCodePoint(a);
      const base = t === 'b' ? 2 : t === 'o' ? 8 : t === 'x' || t === 'X' ? 16 : 10;
      const prefix = spec.alt && base !== 10 ? `0${t === 'X' ? 'X' : t}` : '';
      const s = a.toString(base);
      return prefix + (upper ? s.toUpperCase() : s);
    }
    case 'e':
    case 'E':
      return exponential(a, spec.precision ?? 6, upper);
    case 'f':
    case 'F':
      return pyFixed(a, spec.precision ?? 6);
    case 'g':
    case 'G':
      return general(a, spec.precision ?? 6, spec.alt, upper);
    case '%':
      return `${pyFixed(a * 100, spec.precision ?? 6)}%`;
    case '':
      // NOTE: JavaScript cannot tell 3 from 3.0: integral values print as Python ints, others as Python's float repr.
      if (spec.precision !== null) {
        // NOTE: Python's float default: 'g', but fixed-point keeps one digit after the point.
        const g = general(a, spec.precision, spec.alt, false, 1);
        return /[.e]/.test(g) ? g : `${g}.0`;
      }
      return Number.isInteger(a) && a < 1e16 ? String(a) : pythonFloatRepr(a);
    default:
      throw new FormatError(`format code '${t}' cannot format the number '${key}'`);
  }
}

function group(s: string, sep: string): string {
  const m = /^(\d+)(.*)$/s.exec(s);
  if (!m) return s;
  return m[1]!.replace(/\B(?=(\d{3})+(?!\d))/g, sep) + m[2]!;
}

function pad(body: string, sign: string, spec: Spec, numeric: boolean): string {
  const len = sign.length + body.length;
  if (spec.width <= len) return sign + body;
  const fill = spec.fill.repeat(spec.width - len);
  const align = spec.align || (numeric ? '>' : '<');
  if (align === '<') return sign + body + fill;
  if (align === '>') return fill + sign + body;
  if (align === '=') return sign + fill + body;
  const left = Math.floor((spec.width - len) / 2);
  return spec.fill.repeat(left) + sign + body + spec.fill.repeat(spec.width - len - left);
}

function formatValue(key: string, v: number | string, specText: string): string {
  const spec = parseSpec(specText);
  if (typeof v === 'string') {
    if (spec.type !== '' && spec.type !== 's') throw new FormatError(`format code '${spec.type}' cannot format the string '${key}'`);
    const s = spec.precision !== null ? v.slice(0, spec.precision) : v;
    return pad(s, '', spec, false);
  }
  if (spec.type === 's') throw new FormatError(`format code 's' cannot format the number '${key}'`);
  let body = magnitude(key, v, spec);
  if (spec.grouping) body = group(body, spec.grouping);
  const negative = v < 0 || Object.is(v, -0);
  const sign = negative ? '-' : spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
  return pad(body, Number.isNaN(v) ? (spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '') : sign, spec, true);
}

/**
 * Python str.format for ModelCheckpoint paths: `{epoch:02d}`, `{val_loss:.2f}`, `{loss:.4e}`, `{epoch}`, `{{`/`}}`.
 * Throws naming the key and the template when a key is missing or a spec does not fit its value.
 */
export function formatFilepath(template: string, values: FormatValues): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c === '}') {
      if (template[i + 1] !== '}') throw new Error(`Graft formatFilepath: single '}' at position ${i} in template '${template}'`);
      out += '}';
      i += 2;
      continue;
    }
    if (c !== '{') {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === '{') {
      out += '{';
      i += 2;
      continue;
    }
    const close = template.indexOf('}', i);
    if (close < 0) throw new Error(`Graft formatFilepath: unclosed '{' at position ${i} in template '${template}'`);
    const field = template.slice(i + 1, close);
    const colon = field.indexOf(':');
    const key = colon < 0 ? field : field.slice(0, colon);
    const specText = colon < 0 ? '' : field.slice(colon + 1);
    if (!/^[A-Za-z_][\w]*$/.test(key)) {
      throw new Error(`Graft formatFilepath: unsupported field '{${field}}' in template '${template}' (use a plain key such as {epoch})`);
    }
    const v = values[key];
    if (v === undefined) {
      const known = Object.keys(values).filter((k) => values[k] !== undefined);
      throw new Error(`Graft formatFilepath: key '${key}' used by template '${template}' is not available (have: ${known.join(', ') || 'none'})`);
    }
    try {
      out += formatValue(key, v, specText);
    } catch (e) {
      if (e instanceof FormatError) throw new Error(`Graft formatFilepath: {${field}} in template '${template}': ${e.message}`);
      throw e;
    }
    i = close + 1;
  }
  return out;
}
