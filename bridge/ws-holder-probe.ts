/**
 * Is the client holding a host still there? Asked when another connection claims a held host (a
 * client reconnecting after its network dropped, while the server still sees its old connection:
 * a half-open TCP connection looks healthy until the keepalive notices, up to 2 × keepalive later).
 *
 * The answer is a ping with a payload of its own and the matching pong within `waitMs`. A pong only
 * proves the peer is reading its socket now; a message from it would not (it may have been in
 * flight before the peer died). While the holder's socket is paused by back-pressure its pong is
 * not read, so `waitMs` must stay well above the port's 200 ms stall watchdog (ws-port.ts), which
 * always ends a pause.
 */
import type { WebSocket } from 'ws';

/** Fewest milliseconds a probe may wait (the stall watchdog's 200 ms plus a loaded machine's slack). */
export const MIN_PROBE_WAIT_MS = 500;

let probeSeq = 0;

/** Resolves true if `ws` answers a ping within `waitMs`, false otherwise (or if it closes first). */
export function answersPing(ws: WebSocket, waitMs: number): Promise<boolean> {
  const tag = Buffer.from(`eop-probe-${++probeSeq}`);
  return new Promise((resolve) => {
    const done = (alive: boolean): void => {
      clearTimeout(timer);
      ws.off('pong', onPong);
      ws.off('close', onClose);
      resolve(alive);
    };
    const onPong = (data: Buffer): void => {
      if (data.equals(tag)) done(true);
    };
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), waitMs);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    try {
      ws.ping(tag);
    } catch {
      done(false); // not open any more
    }
  });
}
