import type { Host } from "../hosts/host.js";
import { QmpClient } from "../qemu/qmp.js";

/** Waits on a kept connection (a greeting, a query-status): the same bound as discovery's. */
const QMP_TIMEOUT_MS = 3000;
/** After a failed attach (no qmp2.sock: a VM launched by an older qfleet; or another process holds it). */
const RETRY_AFTER_MS = 5000;

interface Held {
  /** The QEMU process the connection was opened to. */
  pid: number;
  client: QmpClient | null;
  /** The run state read since the last event; null: read it again. */
  status: string | null;
  /** Bumped by every event: a query-status that saw one while in flight is not kept. */
  epoch: number;
  retryAt: number;
  /** Ends the attach while it still waits (dropped, or the process closes its caches). */
  attaching: AbortController;
}

/**
 * QMP connections a long-lived process keeps to each running VM's second monitor (qmp2.sock,
 * see qemu/argv.ts), so asking for a VM's run state costs nothing while nothing happened.
 * Contract: a kept run state is served only while (a) its connection is open (it closes when
 * QEMU exits) with no partial message in, (b) the connection was opened to the pid that /proc
 * shows serving the VM now (the caller passes it, read afresh), (c) QEMU sent no event since it
 * was read and (d) the caller does not ask for a fresh read (a process /proc shows waiting on
 * a disk may no longer answer). Every run-state change (stop, resume, shutdown, suspend,
 * panic, a snapshot's pause) comes with an event, and any event drops the kept state, so the
 * next ask reads it again over the kept connection. QEMU writes an event to every monitor before it answers the command that caused
 * it; settle() before a round of asks lets the event loop read what already arrived, so a
 * change made before a question was sent is never missed. QEMU serves one client per monitor:
 * while another process holds qmp2.sock, attaching is retried now and then and callers ask the
 * first monitor meanwhile (status null).
 */
export class HeldMonitors {
  private readonly held = new Map<string, Held>();

  constructor(private readonly host: Host) {}

  /**
   * The run state of QEMU `pid` behind `socket`, or null: no connection is held (yet), ask the
   * first monitor. Throws when the kept connection fails to answer (it is dropped).
   */
  async status(socket: string, pid: number, fresh = false): Promise<string | null> {
    let h = this.held.get(socket);
    if (h && h.pid !== pid) {
      this.drop(socket);
      h = undefined;
    }
    if (!h) {
      this.attach(socket, pid);
      return null;
    }
    if (!h.client) {
      if (Date.now() >= h.retryAt) this.attach(socket, pid);
      return null;
    }
    if (h.status !== null && !fresh && h.client.settled) return h.status;
    const epoch = h.epoch;
    try {
      const { status } = await h.client.execute<{ status: string }>("query-status");
      if (h.epoch === epoch) h.status = status;
      return status;
    } catch (e) {
      if (this.held.get(socket) === h) this.drop(socket);
      throw e;
    }
  }

  /** Resolves after the event loop's next poll: every event already received by a kept connection is read. */
  settle(): Promise<void> {
    return this.held.size ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve();
  }

  /** Closes every kept connection. */
  close(): void {
    for (const socket of [...this.held.keys()]) this.drop(socket);
  }

  /** Starts connecting in the background; the entry stays (client null) until it answers or fails. */
  private attach(socket: string, pid: number): void {
    const h: Held = { pid, client: null, status: null, epoch: 0, retryAt: Number.POSITIVE_INFINITY, attaching: new AbortController() };
    this.held.set(socket, h);
    QmpClient.connect(this.host, socket, QMP_TIMEOUT_MS, h.attaching.signal).then(
      (client) => {
        if (this.held.get(socket) !== h) return client.close();
        client.onEvent = () => {
          h.status = null;
          h.epoch++;
        };
        client.onClose = () => {
          if (this.held.get(socket) === h) this.held.delete(socket);
        };
        h.client = client;
      },
      () => {
        if (this.held.get(socket) === h) h.retryAt = Date.now() + RETRY_AFTER_MS;
      },
    );
  }

  private drop(socket: string): void {
    const h = this.held.get(socket);
    this.held.delete(socket);
    h?.attaching.abort();
    h?.client?.close();
  }
}
