import { toQfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { renderSeed } from "../guest/cloud-config.js";
import { makeFatImage } from "../guest/fat-image.js";
import type { DesiredVm, LaunchProblem } from "../plan/types.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { readFleetPublicKey } from "./fleet-key.js";

/**
 * A VM's cloud-init seed, made on this machine (never with tools on the VM's host): the
 * fleet's public key plus the spec's keys for the spec's user, hostname = VM name, and the
 * user_data file merged in. Returns the VM with its seed's instance-id (what plans compare:
 * a new id means a new seed and a restart) and the image maker; or the problem that stops it
 * (an unreadable user_data, a bad key), for the plan to refuse. The fleet key may not exist
 * yet: reconcile makes it before it applies, and resolves again.
 */
export async function withSeed(dir: string, vm: ResolvedVm): Promise<{ vm: ResolvedVm; seed?: DesiredVm["seed"]; problem?: LaunchProblem }> {
  if (!vm.cloudInit) return { vm };
  try {
    const fleetKey = await readFleetPublicKey(dir);
    const userData = vm.cloudInit.userData === undefined ? undefined : await LOCAL.readFile(vm.cloudInit.userData);
    const rendered = renderSeed({
      hostname: vm.name,
      user: vm.cloudInit.user,
      sshAuthorizedKeys: [...(fleetKey ? [fleetKey] : []), ...vm.cloudInit.keys],
      userData,
    });
    return {
      vm: { ...vm, cloudInit: { ...vm.cloudInit, instanceId: rendered.instanceId } },
      seed: { instanceId: rendered.instanceId, withFleetKey: fleetKey !== null, image: () => makeFatImage("cidata", rendered.files) },
    };
  } catch (e) {
    return { vm, problem: { field: "cloud_init", message: `cloud_init: ${toQfleetError(e).message}` } };
  }
}
