#!/usr/bin/env node
// Builds the TAP addon (native/tap → build/Release/eop_tap.node) at `npm ci` / `npm install`
// (the root package's "install" script) and on `npm run build:addon`.
//
// Only live mode (`eop up`, TAP devices) needs the addon; virtual time (`eop run`, `eop bench`,
// the unit tests) does not. So on a machine without a C++ toolchain the install still succeeds,
// with one line saying what is missing and how to build the addon later. With CI=true a failed
// build fails the install: CI must not silently skip live mode.
//
// node-gyp's own output (hundreds of lines when a compiler is missing) goes to
// build/addon-build.log, and is printed in full only when the build fails under CI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ci = process.env.CI === 'true';
const log = join(root, 'build', 'addon-build.log');
const HOW = 'install a C++ toolchain (Debian/Ubuntu: apt-get install g++ make python3), then run npm run build:addon';

function onPath(cmd) {
  if (cmd.includes('/')) return existsSync(cmd);
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

function fail(why, details = '') {
  if (ci) {
    if (details) process.stderr.write(details);
    process.stderr.write(`eop: the TAP addon did not build (${why}); CI=true, so the install fails.\n`);
    process.exit(1);
  }
  process.stderr.write(`eop: warning: TAP addon not built (${why}); virtual time works, live mode (eop up) needs it: ${HOW}.\n`);
  process.exit(0);
}

// Check the tools first: a clear "no make" beats node-gyp's wall of errors.
const cxx = process.env.CXX ? [process.env.CXX.split(' ')[0]] : ['g++', 'c++', 'clang++'];
const missing = [];
if (!cxx.some(onPath)) missing.push(process.env.CXX ? `CXX=${process.env.CXX}` : 'a C++ compiler (g++ or clang++)');
if (!onPath('make')) missing.push('make');
if (!['python3', 'python'].some(onPath) && !process.env.npm_config_python) missing.push('python3');
if (missing.length > 0) fail(`missing ${missing.join(', ')}`);

// Node's headers: the installed ones when present, so no download is needed.
const prefix = resolve(process.execPath, '..', '..');
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
// npm puts its bundled node-gyp on PATH for install scripts; elsewhere use npm's copy via npx.
const gyp = process.env.npm_config_node_gyp
  ? [process.execPath, [process.env.npm_config_node_gyp, 'rebuild', ...nodedir]]
  : ['npx', ['--no-install', 'node-gyp', 'rebuild', ...nodedir]];
const r = spawnSync(gyp[0], gyp[1], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
mkdirSync(dirname(log), { recursive: true });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
writeFileSync(log, out);
if (r.status !== 0 || !existsSync(join(root, 'build', 'Release', 'eop_tap.node'))) {
  fail(`node-gyp ${r.error ? `could not start: ${r.error.message}` : `exited ${r.status}`}; log in build/addon-build.log`, out);
}
process.stdout.write('eop: built the TAP addon: build/Release/eop_tap.node\n');
