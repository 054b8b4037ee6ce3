/**
 * The guest NICs of a VM and the netdev behind each, from HMP `info network` (QMP has no
 * command that names a netdev's type). Pure. The text looks like:
 *
 *   nic0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56
 *    \ net0: index=0,type=user,net=10.0.2.0,restrict=off
 *   filters:
 *     - f0: type=filter-dump,...
 *
 * Only NICs with a user-mode or tap backend (with a known ifname) can be measured; others
 * are returned with `type: "other"` so callers can say so.
 */
export interface NicInfo {
  nic: string;
  netdev: string;
  type: "user" | "tap" | "other";
  /** The host interface of a tap backend. */
  ifname?: string;
}

export function parseInfoNetwork(text: string): NicInfo[] {
  const nics: NicInfo[] = [];
  let current: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    const top = /^(\S+): index=\d+,type=(\w+)/.exec(line);
    if (top) {
      current = top[2] === "nic" ? top[1] : null;
      continue;
    }
    const backend = /^ \\ (\S+): index=\d+,type=(\w+)(.*)$/.exec(line);
    if (backend && current) {
      const ifname = /(?:^|,)ifname=([^,]+)/.exec(backend[3])?.[1];
      const kind = backend[2];
      const type = kind === "user" ? "user" : kind === "tap" && ifname ? "tap" : "other";
      nics.push({ nic: current, netdev: backend[1], type, ...(ifname && { ifname }) });
      current = null;
    }
  }
  return nics;
}

/** Filter-dump object ids in `info network` (a check that the monitor left none behind). */
export function filterDumpIds(text: string): string[] {
  return [...text.matchAll(/^\s+- (\S+): type=filter-dump/gm)].map((m) => m[1]);
}
