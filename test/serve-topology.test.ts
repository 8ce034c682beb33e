/**
 * `eop serve`'s rack (topologyForServe): the default rack has h4 on a WebSocket; `--uplink` adds an
 * uplink host "up" unless the rack declares one, and picks another name if "up" is taken.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topologyForServe } from '../src/cli/serve-command.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-serve-topo-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const hosts = (path: string | undefined, uplink: boolean): string[] => topologyForServe(path, uplink).hosts.map((h) => `${h.name}:${h.attach}`);

describe('topologyForServe', () => {
  it('default rack: h4 on a WebSocket, h1..h3 built-in; --uplink adds "up"', () => {
    expect(hosts(undefined, false)).toEqual(['h1:builtin', 'h2:builtin', 'h3:builtin', 'h4:websocket']);
    expect(hosts(undefined, true)).toEqual(['h1:builtin', 'h2:builtin', 'h3:builtin', 'h4:websocket', 'up:uplink']);
  });

  it('--uplink keeps a declared uplink host, and names the added one "up2" when "up" is a host already', () => {
    expect(hosts(file('a.yaml', 'hosts: [h1, {name: link1, attach: uplink}]\n'), true)).toEqual(['h1:builtin', 'link1:uplink']);
    expect(hosts(file('b.yaml', 'hosts: [h1, {name: up, attach: websocket}]\n'), true)).toEqual(['h1:builtin', 'up:websocket', 'up2:uplink']);
  });
});
