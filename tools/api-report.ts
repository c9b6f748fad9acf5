// The API report: every name the public entry (src/index.ts) exports, through namespaces, with its kind and
// signature; classes and interfaces with their public members. Committed as api/graft.api.md, so that a change to
// the public API shows in review; test/api-report.test.ts fails when the committed file is stale.
// Usage: npm run api (writes api/graft.api.md); tsx tools/api-report.ts --check (exit 1 when it differs).

import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { isMain } from './is-main.js';

/** The repository root (this file is in tools/). */
const ROOT = resolve(import.meta.dirname, '..');
/** Where the report is committed. */
export const API_REPORT_PATH = join(ROOT, 'api', 'graft.api.md');

const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

/** The report's text for the entry file `entry` (default src/index.ts), built with the project's tsconfig.json. */
export function apiReport(entry = join(ROOT, 'src', 'index.ts')): string {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('api-report: cannot read tsconfig.json');
  const program = ts.createProgram([entry], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`api-report: ${entry} is not a module`);

  // NOTE: types from node_modules print with their absolute import() path otherwise; the report must not depend on it.
  const clean = (s: string): string => s.replaceAll(`${ROOT}/`, '').replace(/import\("(?:[^"]*\/)?node_modules\/([^"]+)"\)/g, 'import("$1")');
  const typeOf = (sym: ts.Symbol, at: ts.Node): string => clean(checker.typeToString(checker.getTypeOfSymbolAtLocation(sym, at), at, FORMAT));
  const lines: string[] = [];

  const members = (sym: ts.Symbol, decl: ts.Node, isClass: boolean): string[] => {
    const out: string[] = [];
    const add = (m: ts.Symbol, prefix: string): void => {
      const d = m.valueDeclaration ?? m.declarations?.[0];
      if (!d) return;
      const mods = ts.canHaveModifiers(d) ? ts.getModifiers(d) ?? [] : [];
      if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) return;
      if (m.name.startsWith('#') || m.name.startsWith('__')) return;
      const ro = mods.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '';
      const opt = m.flags & ts.SymbolFlags.Optional ? '?' : '';
      out.push(`  ${prefix}${ro}${m.name}${opt}: ${typeOf(m, decl)}`);
    };
    if (isClass) {
      const ctorType = checker.getTypeOfSymbolAtLocation(sym, decl);
      for (const sig of ctorType.getConstructSignatures()) {
        out.push(`  constructor${clean(checker.signatureToString(sig, decl, FORMAT))}`);
      }
      for (const m of checker.getPropertiesOfType(ctorType)) if (m.name !== 'prototype') add(m, 'static ');
    }
    const instance = checker.getDeclaredTypeOfSymbol(sym);
    for (const m of checker.getPropertiesOfType(instance)) add(m, '');
    return out.sort();
  };

  const visit = (prefix: string, mod: ts.Symbol): void => {
    const exports = checker.getExportsOfModule(mod).sort((a, b) => a.name.localeCompare(b.name));
    for (const exp of exports) {
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      const decl = sym.valueDeclaration ?? sym.declarations?.[0];
      const name = `${prefix}${exp.name}`;
      if (!decl) {
        lines.push(`- ${name}: (no declaration)`);
        continue;
      }
      const f = sym.flags;
      if (f & ts.SymbolFlags.Module && (ts.isSourceFile(decl) || ts.isModuleDeclaration(decl))) {
        lines.push(`- namespace ${name}`);
        visit(`${name}.`, sym);
      } else if (f & ts.SymbolFlags.Class) {
        lines.push(`- class ${name}`, ...members(sym, decl, true));
      } else if (f & ts.SymbolFlags.Interface) {
        lines.push(`- interface ${name}`, ...members(sym, decl, false));
      } else if (f & ts.SymbolFlags.TypeAlias) {
        lines.push(`- type ${name} = ${clean(checker.typeToString(checker.getDeclaredTypeOfSymbol(sym), decl, FORMAT | ts.TypeFormatFlags.InTypeAlias))}`);
      } else if (f & ts.SymbolFlags.Function) {
        const sigs = checker.getTypeOfSymbolAtLocation(sym, decl).getCallSignatures();
        for (const sig of sigs) lines.push(`- function ${name}${clean(checker.signatureToString(sig, decl, FORMAT))}`);
      } else if (f & ts.SymbolFlags.Enum) {
        lines.push(`- enum ${name}`);
      } else if (f & ts.SymbolFlags.Variable) {
        const isConst = ts.isVariableDeclaration(decl) && (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0;
        lines.push(`- ${isConst ? 'const' : 'let'} ${name}: ${typeOf(sym, decl)}`);
      } else {
        lines.push(`- ${name}: (kind ${f})`);
      }
    }
  };
  visit('', moduleSymbol);
  return [
    '# API report: graft',
    '',
    '<!-- Generated by tools/api-report.ts (npm run api) from src/index.ts; do not edit. A change here is a change to the public API. -->',
    '',
    ...lines,
    '',
  ].join('\n');
}

/** The committed report, or '' when there is none. */
export function committedReport(): string {
  try {
    return readFileSync(API_REPORT_PATH, 'utf8');
  } catch {
    return '';
  }
}

if (isMain(import.meta.url)) {
  const fresh = apiReport();
  if (process.argv.includes('--check')) {
    const same = fresh === committedReport();
    console.log(same ? 'api/graft.api.md is up to date' : 'api/graft.api.md is stale: run npm run api');
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(API_REPORT_PATH, fresh);
    console.log(`wrote ${API_REPORT_PATH} (${fresh.split('\n').length} lines)`);
  }
}
