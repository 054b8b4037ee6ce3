import { PassThrough } from "node:stream";
import type { ClientChannel } from "ssh2";
import type { HostChild } from "../host.js";
import { signalChannel, type ExecChannel } from "./exec.js";

/**
 * Host.spawn over SSH: a long-running command on an exec channel, its stdin a pipe from this
 * process. Contracts: closing stdin sends EOF to the command; kill() signals it (KILL) and
 * closes the channel; when this process or the connection dies, sshd closes the command's
 * stdin too, so a lock holder (`flock ... cat`) exits and the remote lock is released.
 * `exited` never rejects: the exit code, null on a signal, 255 when the channel could not be
 * opened at all (as ssh(1) reports its own failures).
 */
export function spawnOver(open: () => Promise<ExecChannel>): HostChild {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let ch: ClientChannel | null = null;
  let ec: ExecChannel;
  let killed = false;
  const stopChannel = (c: ClientChannel) => {
    signalChannel(c, "KILL");
    c.close();
  };
  const exited = (async (): Promise<number | null> => {
    try {
      ec = await open();
      ch = ec.ch;
    } catch {
      stdout.end();
      return 255;
    }
    const channel = ch;
    const code = new Promise<number | null>((resolve) => {
      channel.on("close", () => {
        stdout.end();
        resolve(ec.exit?.code ?? null);
      });
    });
    channel.stderr.resume();
    channel.pipe(stdout, { end: false });
    stdin.pipe(channel);
    if (killed) stopChannel(channel);
    return code;
  })();
  return {
    stdin,
    stdout,
    exited,
    kill: () => {
      killed = true;
      if (ch) stopChannel(ch);
    },
  };
}
