import net from "node:net";

/**
 * Independent of the product's QMP client on purpose: tests check QEMU's real state through
 * a raw socket, so a bug in src/qemu/qmp.ts cannot hide itself.
 */
export function qmpQuery<T = unknown>(socket: string, command: string, args?: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path: socket });
    let buf = "";
    let step = 0;
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`QMP ${command}: timeout`))), 5000);
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
    s.on("data", (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.event) continue;
        if (step === 0) s.write(JSON.stringify({ execute: "qmp_capabilities" }) + "\n");
        else if (step === 1) s.write(JSON.stringify({ execute: command, ...(args && { arguments: args }) }) + "\n");
        else {
          clearTimeout(timer);
          s.destroy();
          if (msg.error) reject(new Error(`QMP ${command}: ${msg.error.desc}`));
          else resolve(msg.return as T);
        }
        step++;
      }
    });
  });
}

/** Whether a QMP socket greets a new client within `ms`: false while another client holds it (QEMU serves one per monitor). */
export function greetsWithin(socket: string, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path: socket });
    const done = (v: boolean) => (clearTimeout(timer), s.destroy(), resolve(v));
    const timer = setTimeout(() => done(false), ms);
    s.once("data", (d) => done(d.toString().includes('"QMP"')));
    s.once("error", (e) => (clearTimeout(timer), reject(e)));
  });
}
