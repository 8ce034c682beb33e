/**
 * The CLI's bad-input paths (issue 8 items 4, 5, 7): misuse exits 2 with a message, the limits can
 * be raised by the flags their errors name, and nothing user-controlled reaches the terminal raw.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { captureCliOutput } from './helpers/cli-output.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const io = captureCliOutput();

const eop = (...args: string[]): Promise<number> => main(['node', 'eop', ...args]);

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('CLI misuse exits 2', () => {
  it('eop up / eop serve --log-level with an unknown level exit 2 before anything is set up', async () => {
    for (const cmd of ['up', 'serve']) {
      expect(await eop(cmd, '--log-level', 'loud')).toBe(2);
      expect(io.err).toContain("argument 'loud' is invalid. Allowed choices are error, warn, info, debug");
      expect(io.out).toBe('');
      io.err = '';
    }
  });

  it('eop exec with a control character in the host name: exit 2, the name shown escaped', async () => {
    expect(await eop('exec', 'h\u001b[31m1', 'true')).toBe(2);
    expect(io.err).toContain('invalid namespace name');
    expect(io.err).not.toMatch(RAW_CONTROL);
  });

  it("eop run '' is an error, not the default rack", async () => {
    expect(await eop('run', '')).toBe(2);
    expect(io.err).toContain('the rack file path is empty');
    expect(io.out).toBe('');
  });

  it('eop run FILE --print-default is an error, not a silent print', async () => {
    expect(await eop('run', 'missing.yaml', '--print-default')).toBe(2);
    expect(io.err).toContain('--print-default prints the embedded rack and reads no file');
    expect(io.out).toBe('');
    expect(await eop('run', '--print-default')).toBe(0);
    expect(io.out).toContain('# EOP rack');
  });

  it('eop validate with an empty, missing or NUL path, and a bad limit flag, exit 2', async () => {
    expect(await eop('validate', '')).toBe(2);
    expect(await eop('validate', join(dir, 'nope.yaml'))).toBe(2);
    expect(io.err).toContain('ENOENT');
    expect(await eop('validate', 'a\0b')).toBe(2);
    expect(await eop('validate', '--max-memory-mib', 'lots', 'x.yaml')).toBe(2);
    expect(io.err).toContain('--max-memory-mib must be an integer from 1 to 1048576 (got "lots")');
    expect(await eop('run', '--capture-dir', 'cap\x01tures', '--no-captures')).toBe(2);
    expect(io.err).toContain('--capture-dir must be a directory path without control characters');
  });
});

describe('validate and run agree, and the limit flags raise the limits their errors name', () => {
  it('a file run would refuse is refused by validate too, with exit 2', async () => {
    const cases = [
      'hosts: [a, b]\ntraffic: [{kind: ping, from: a, to: b, count: 70000}]\n',
      'hosts: [a]\ncaptures: {maxFileMiB: 0.0000001}\n',
      'hosts: [a, {name: b, ipv4: 192.168.1.2/24}]\ntraffic: [{kind: udp, from: a, to: b}]\n',
      'hosts: [a]\ncaptures: {dir: "x\\0y"}\n',
      'hosts: [a, b]\ndurationMs: 1e12\n',
    ];
    for (const [i, text] of cases.entries()) {
      const f = write(`agree${i}.yaml`, text);
      expect(await eop('validate', f), text).toBe(2);
      expect(await eop('run', f, '--no-captures'), text).toBe(2);
    }
  });

  it('--max-duration-ms raises the duration limit; --duration-ms meets it', async () => {
    const f = write('long.yaml', 'hosts: [a, b]\ndurationMs: 70000\n');
    expect(await eop('validate', f)).toBe(2);
    expect(io.err).toContain('raise the limit with --max-duration-ms <ms>');
    expect(await eop('validate', f, '--max-duration-ms', '70000')).toBe(0);
    expect(await eop('run', '--duration-ms', '1e9', '--no-captures')).toBe(2);
    expect(io.err).toContain('1000000000 ms of virtual time is above the limit of 60000 ms');
  });

  it('--max-input-kib raises the file size limit', async () => {
    const f = write('padded.yaml', `${`#${'x'.repeat(1023)}\n`.repeat(1100)}hosts: [a]\n`);
    expect(await eop('validate', f)).toBe(2);
    expect(io.err).toContain('larger than the input limit of 1024 KiB (maxInputBytes); raise it with --max-input-kib <KiB>');
    expect(await eop('validate', f, '--max-input-kib', '2048')).toBe(0);
  });

  it('--help documents every limit', async () => {
    for (const cmd of ['run', 'validate', 'up']) {
      io.out = '';
      expect(await eop(cmd, '--help')).toBe(0);
      for (const flag of ['--max-input-kib', '--max-duration-ms', '--max-memory-mib']) expect(io.out, `${cmd} ${flag}`).toContain(flag);
    }
    io.out = '';
    expect(await eop('bench', '--help')).toBe(0);
    expect(io.out).toContain('--max-points <n>');
    expect(io.out).toContain('most points a scenario may expand to (default 1000)');
  });
});

describe('no terminal control character from the input reaches the terminal raw', () => {
  it('a rack name with escape sequences is refused, shown escaped', async () => {
    const f = write('ctl.yaml', 'name: "\\e[31mred\\a"\nhosts: [a]\n');
    expect(await eop('validate', f)).toBe(2);
    expect(io.err).not.toMatch(RAW_CONTROL);
    expect(io.err).toContain('\\u001b[31mred\\u0007');
  });

  it('a file name with escape sequences is printed escaped, in errors and in the report', async () => {
    const missing = join(dir, 'evil\x1b[2J\x07.yaml');
    expect(await eop('validate', missing)).toBe(2);
    expect(io.err).toContain('evil\\e[2J\\x07.yaml');
    expect(io.err.replace(/\n/g, '')).not.toMatch(RAW_CONTROL);
    const ok = write('ok\x1b]0;title\x07.yaml', 'hosts: [a, b]\n');
    expect(await eop('validate', ok)).toBe(0);
    expect(io.out.replace(/\n/g, '')).not.toMatch(RAW_CONTROL);
    expect(io.out).toContain('ok\\e]0;title\\x07.yaml: valid.');
  });

  it("commander's own errors escape what the user typed", async () => {
    expect(await eop('run', '--bogus\x1b[31m')).toBe(2);
    expect(io.err.replace(/\n/g, '')).not.toMatch(RAW_CONTROL);
    expect(io.err).toContain('\\e[31m');
  });
});
