/**
 * One socket write per burst on the WebSocket edge. `ws` writes every message as it is sent (its
 * header and payload in one writev), so a burst of frames the fabric delivers in one event-loop turn
 * (a live-runner batch: up to hundreds of frames for a TCP window) cost one write system call per
 * frame. `TurnCork` corks the socket at the first send of a turn and uncorks it in a microtask,
 * after the turn's synchronous work: Node then hands every queued message to the kernel in one
 * writev. Nothing is held past the turn, so latency is unchanged.
 *
 * Messages are not merged: each `send` is still one WebSocket message carrying exactly one Ethernet
 * frame (the v86 convention); only the system calls are. `ws` corks and uncorks around each of its
 * own writes; Node counts corks, so its uncork leaves ours in place.
 *
 * The socket is the one under the WebSocket: on the server the upgrade's socket, on the client the
 * upgrade response's (`'upgrade'` event), both public API.
 */

/** The part of a socket (net.Socket, any stream.Writable) this needs. */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed?: boolean;
}

export class TurnCork {
  private corked = false;
  /** Turns that corked the socket (each ended in one uncork). */
  turns = 0;

  constructor(private readonly socket: Corkable) {}

  /** Call before each send: the first one of an event-loop turn corks until the turn ends. */
  enter(): void {
    if (this.corked || this.socket.destroyed) return;
    this.corked = true;
    this.turns++;
    this.socket.cork();
    queueMicrotask(this.release);
  }

  private readonly release = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
}
