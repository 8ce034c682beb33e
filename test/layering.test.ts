/**
 * The layer rule of the README ("imports only go downward") and of each folder's header, checked
 * on the source: every relative import of a file in src/ or bridge/ must point to the same folder
 * or a lower layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Bottom to top. src/errors.ts and src/signals.ts (the list of terminating signals) sit below
 * everything; src/log.ts uses time's units, so sits on time.
 */
const LAYERS = ['src/errors.ts', 'src/wire', 'src/time', 'src/mem', 'src/pcie', 'src/host', 'src/eop', 'src/stack', 'src/capture', 'src/topology', 'src/run', 'src/bench', 'bridge', 'src/cli'];

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function layerOf(file: string): number {
  const f = file.replace(/\.js$/, '.ts');
  if (f === 'src/errors.ts' || f === 'src/signals.ts') return 0;
  if (f === 'src/log.ts') return LAYERS.indexOf('src/time');
  // The page (plain JS served as is) and its type declarations belong to the bridge.
  if (dirname(f) === 'bridge/www') return LAYERS.indexOf('bridge');
  return LAYERS.indexOf(dirname(f));
}

describe('layering', () => {
  const files = [...tsFiles('src'), ...tsFiles('bridge')];

  it('knows the layer of every folder of src/ and bridge/', () => {
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('has every relative import pointing to the same folder or a lower layer', () => {
    const upward: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
        const target = relative(ROOT, resolve(ROOT, dirname(f), m[1]!));
        const to = layerOf(target);
        if (to > layerOf(f)) upward.push(`${f} imports ${target} (${LAYERS[to]} is above ${LAYERS[layerOf(f)]})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
