// ModelCheckpoint filepath templates: Python format specs, checked against values printed by CPython's str.format.

import { describe, expect, it } from 'vitest';
import { formatFilepath } from '../src/train/format-filepath.js';
import { pyFixed, pythonFloatRepr } from '../src/train/py-number.js';

// [template, value, what CPython 3 prints for template.format(v=value)]
const PYTHON_CASES: [string, number, string][] = [
  ['{v:.3}', 1.0, '1.0'],
  ['{v:.3}', 100.0, '1e+02'],
  ['{v:.2}', 1234.0, '1.2e+03'],
  ['{v:g}', 1e-5, '1e-05'],
  ['{v:g}', 123456789.0, '1.23457e+08'],
  ['{v:.3g}', 9.9999, '10'],
  ['{v:#.3g}', 1.0, '1.00'],
  ['{v:g}', 0.0001, '0.0001'],
  ['{v:g}', 1e16, '1e+16'],
  ['{v:+08.2f}', -3.14159, '-0003.14'],
  ['{v:>8.2e}', 12345.678, '1.23e+04'],
  ['{v:,d}', 1234567, '1,234,567'],
  ['{v:_.2f}', 1234567.891, '1_234_567.89'],
  ['{v:^9d}', 42, '   42    '],
  ['{v:*<6d}', 7, '7*****'],
  ['{v:x}', 255, 'ff'],
  ['{v:#X}', 255, '0XFF'],
  ['{v:.1%}', 0.1234, '12.3%'],
  ['{v:03d}', 5, '005'],
  ['{v}', 0.1, '0.1'],
  ['{v}', 1e-5, '1e-05'],
  ['{v}', 1.5e16, '1.5e+16'],
  ['{v}', 123456.789, '123456.789'],
  ['{v:.4e}', 0, '0.0000e+00'],
  ['{v: .3f}', 2.0, ' 2.000'],
  ['{v:e}', Infinity, 'inf'],
  ['{v:08.3f}', NaN, '00000nan'],
  ['{v:=+8d}', 5, '+      5'],
  ['{v:.0f}', 2.5, '2'],
  ['{v:.2f}', 0.125, '0.12'],
  ['{v:.2f}', 0.375, '0.38'],
  ['{v:.0e}', 12345.0, '1e+04'],
];

describe('formatFilepath', () => {
  it('formats the ModelCheckpoint templates', () => {
    const logs = { epoch: 3, batch: 120, loss: 0.72621, val_loss: 0.51234, accuracy: 0.7655 };
    expect(formatFilepath('weights.{epoch:02d}-{val_loss:.2f}.safetensors', logs)).toBe('weights.03-0.51.safetensors');
    expect(formatFilepath('ckpt/{epoch}/{batch:05d}-{loss:.4e}', logs)).toBe('ckpt/3/00120-7.2621e-01');
    expect(formatFilepath('best-acc{accuracy:.3f}.st', logs)).toBe('best-acc0.765.st') // 0.7655 is just below the tie in binary, as CPython prints;
    expect(formatFilepath('no-fields.st', logs)).toBe('no-fields.st');
    expect(formatFilepath('{{literal}}-{epoch}', logs)).toBe('{literal}-3');
  });

  for (const [template, v, want] of PYTHON_CASES) {
    it(`matches CPython: ${template} of ${v} -> '${want}'`, () => {
      expect(formatFilepath(template, { v })).toBe(want);
    });
  }

  it('names the missing key and the template', () => {
    expect(() => formatFilepath('m-{epoch:02d}-{val_acc:.2f}', { epoch: 1, loss: 0.3 })).toThrow(
      "Graft formatFilepath: key 'val_acc' used by template 'm-{epoch:02d}-{val_acc:.2f}' is not available (have: epoch, loss)",
    );
  });

  it('rejects specs that do not fit the value, like Python', () => {
    expect(() => formatFilepath('{loss:d}', { loss: 0.5 })).toThrow(/\{loss:d\} in template '\{loss:d\}': format code 'd' needs an integer/);
    expect(() => formatFilepath('{loss:.2q}', { loss: 0.5 })).toThrow(/invalid format spec ':.2q'/);
    expect(() => formatFilepath('{loss', { loss: 0.5 })).toThrow(/unclosed '\{'/);
    expect(() => formatFilepath('a}b', {})).toThrow(/single '\}'/);
    expect(() => formatFilepath('{0}', {})).toThrow(/unsupported field '\{0\}'/);
  });

  it('formats string values', () => {
    expect(formatFilepath('{name}-{name:>6}', { name: 'run' })).toBe('run-   run');
  });
});

describe('Python number helpers', () => {
  it('pythonFloatRepr follows repr()', () => {
    expect([0.5, 1, -2.25, 1e-4, 1.25e-7, 1e22, 0].map(pythonFloatRepr)).toEqual(['0.5', '1.0', '-2.25', '0.0001', '1.25e-07', '1e+22', '0.0']);
  });

  it('pyFixed rounds exact ties to even and everything else to nearest', () => {
    expect(pyFixed(0.5, 0)).toBe('0');
    expect(pyFixed(1.5, 0)).toBe('2');
    expect(pyFixed(0.03125, 4)).toBe('0.0312');
    expect(pyFixed(1.005, 2)).toBe('1.00'); // 1.005 is 1.00499999... in binary
    expect(pyFixed(-0.125, 2)).toBe('-0.12');
    expect(pyFixed(2.675, 2)).toBe('2.67');
  });
});
