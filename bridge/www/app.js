// The rack page: polls /api/status twice a second, draws the rack and its counters, shows whether the
// emulator keeps up with the model, and runs an in-page guest (guest.js) on a free WebSocket host.
// Plain JS served as is: no build step, no CDN.
import { Guest, parseIp, ipToString, macToString } from './guest.js';

const token = new URLSearchParams(location.search).get('token');
const withToken = (path) => (token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path);
const $ = (id) => document.getElementById(id);
const POLL_MS = 500;
let last = null;

function fmt(g) {
  return g >= 10 ? g.toFixed(1) : g >= 0.01 ? g.toFixed(2) : g === 0 ? '0' : g.toFixed(4);
}

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(tag === 'tr' || tag === 'td' ? 'http://www.w3.org/1999/xhtml' : 'http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawRack(s) {
  const svg = $('rack');
  svg.replaceChildren();
  const n = s.hosts.length;
  const w = Math.max(760, n * 130);
  svg.setAttribute('width', w);
  const sw = { x: 40, y: 30, w: w - 80, h: 50 };
  svg.append(el('rect', { x: sw.x, y: sw.y, width: sw.w, height: sw.h, fill: '#eef', stroke: '#447' }));
  svg.append(el('text', { x: sw.x + 10, y: sw.y + 20 }, `PCIe switch (top of rack), Gen${s.link.gen} x${s.link.width}, MPS ${s.link.mpsBytes}`));
  s.hosts.forEach((h, i) => {
    const cx = 40 + ((i + 0.5) * (w - 80)) / n;
    // Its NTB link up and every queue pair it opened up (queue pairs open on first use: 0/0 is fine).
    const up = h.ntbUp && h.linksUp === h.links;
    svg.append(el('line', { x1: cx, y1: sw.y + sw.h, x2: cx, y2: 170, class: up ? 'up' : 'down', 'stroke-width': 3, 'data-host': h.name }));
    svg.append(el('text', { x: cx + 5, y: 135 }, `${h.linksUp}/${h.links} up`));
    const held = h.ws && h.ws.held;
    const fill = h.attach === 'tap' ? '#ffe9c6' : h.attach === 'websocket' ? (held ? '#c8e6c9' : '#e3f2fd') : h.attach === 'uplink' ? '#f3e5f5' : '#f5f5f5';
    svg.append(el('rect', { x: cx - 55, y: 170, width: 110, height: 90, rx: 6, fill, stroke: '#555', 'data-host': h.name }));
    svg.append(el('text', { x: cx - 48, y: 188, 'font-weight': 'bold' }, h.name));
    svg.append(el('text', { x: cx - 48, y: 204 }, h.attach + (h.attach === 'websocket' ? (held ? ' (held)' : ' (free)') : '')));
    svg.append(el('text', { x: cx - 48, y: 220 }, h.ipv4));
    svg.append(el('text', { x: cx - 48, y: 236 }, `tx ${fmt(h.txGbps)} Gb/s`));
    svg.append(el('text', { x: cx - 48, y: 252 }, `rx ${fmt(h.rxGbps)} Gb/s`));
  });
}

function fillTables(s) {
  const body = $('hosts').tBodies[0];
  body.replaceChildren();
  const qbody = $('qps').tBodies[0];
  qbody.replaceChildren();
  for (const h of s.hosts) {
    const drops = Object.entries(h.drops).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || '0';
    const tr = document.createElement('tr');
    tr.dataset.host = h.name;
    for (const v of [h.name, h.attach + (h.ws ? (h.ws.held ? ` held by ${h.ws.remote}` : '') : ''), h.txFrames, fmt(h.txGbps), h.rxFrames, fmt(h.rxGbps), `${h.linksUp}/${h.links}`, drops]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
    for (const q of h.queuePairs) {
      const r = document.createElement('tr');
      for (const v of [`${h.name} → ${q.peer}`, q.state, q.txFrames, fmt(q.txGbps), q.rxFrames, fmt(q.rxGbps), q.txRingFull, q.txQueueDrops]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        r.append(td);
      }
      qbody.append(r);
    }
  }
}

async function poll() {
  try {
    const r = await fetch(withToken('/api/status'), { cache: 'no-store' });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    const s = await r.json();
    last = s;
    $('rack-name').textContent = `"${s.rack}"`;
    $('uptime').textContent = `up ${s.uptimeS.toFixed(0)} s`;
    const b = $('behind');
    b.className = s.live.behindNow ? 'bad' : 'ok';
    b.dataset.behind = String(s.live.behindNow);
    b.textContent = s.live.behindNow
      ? `BEHIND: ${s.live.lateBatchesWindow} late event batches in the last ${s.live.windowS} s (max lag ${s.live.maxLagMs.toFixed(2)} ms)`
      : `keeping up with the model (${s.live.lateBatches} late batches since start)`;
    drawRack(s);
    fillTables(s);
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $('updated').textContent = `status unavailable: ${e.message}`;
  }
}

function log(line) {
  const l = $('log');
  l.textContent += line + '\n';
  l.scrollTop = l.scrollHeight;
}

let guest = null;

async function attach() {
  if (!last) await poll();
  const free = last.hosts.find((h) => h.attach === 'websocket' && h.ws && !h.ws.held);
  if (!free) {
    log('no free WebSocket host (every attach: websocket host is held)');
    return;
  }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}${withToken(`/hosts/${encodeURIComponent(free.name)}`)}`);
  const g = new Guest(ws);
  ws.addEventListener('close', (ev) => {
    $('attach-state').textContent = `detached (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;
    $('ping').disabled = true;
    $('attach').disabled = false;
    guest = null;
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('WebSocket failed')), { once: true });
  });
  $('attach').disabled = true;
  log(`attached to ${free.name} as ${macToString(g.mac)}; asking DHCP for an address…`);
  const lease = await g.dhcp();
  log(`DHCP: ${lease.ip}/${lease.prefix}, name server ${lease.dns}`);
  $('attach-state').textContent = `attached to ${free.name}: ${lease.ip}/${lease.prefix} (${macToString(g.mac)})`;
  $('attach-state').dataset.host = free.name;
  $('ping').disabled = false;
  guest = g;
}

async function ping() {
  if (!guest) return;
  const text = $('target').value.trim();
  let ip;
  try {
    ip = /^\d+\.\d+\.\d+\.\d+$/.test(text) ? parseIp(text) : await guest.lookup(text);
    if (!ip) throw new Error(`${text}: no such host`);
  } catch (e) {
    log(`ping: ${e.message}`);
    return;
  }
  for (let seq = 1; seq <= 5; seq++) {
    try {
      const ms = await guest.ping(ip, seq);
      log(`64 bytes from ${ipToString(ip)}: icmp_seq=${seq} time=${ms.toFixed(2)} ms`);
    } catch (e) {
      log(`icmp_seq=${seq}: ${e.message}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

$('attach').addEventListener('click', () => attach().catch((e) => log(`attach failed: ${e.message}`)));
$('ping').addEventListener('click', () => ping());
poll();
setInterval(poll, POLL_MS);
