import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { VERSION } from "../version.js";
import { registerResources } from "./resources.js";
import { registerTools, type AnyTool, type ToolContext } from "./tool.js";
import { qemuCreateOverlay, qemuImageConvert, qemuImageInfo, qemuImageResize } from "./tools/image-tools.js";
import { listVmsTool } from "./tools/list-vms.js";
import { manageVm } from "./tools/manage-vm.js";
import { monitorVmStatusTool } from "./tools/monitor-vm-status.js";
import { qemuBootVm } from "./tools/qemu-boot-vm.js";
import { qemuListVms } from "./tools/qemu-list-vms.js";
import { qemuStopVm } from "./tools/qemu-stop-vm.js";
import { qemuVmStatus } from "./tools/qemu-vm-status.js";
import { planTool, reconcileTool } from "./tools/reconcile-tools.js";
import { applyVmSpec, getVmSpec, listVmSpecs } from "./tools/spec-tools.js";
import { vmCopyFrom, vmCopyTo, vmExec } from "./tools/guest-tools.js";
import { vmConsoleRead, vmConsoleSend, vmConsoleWait } from "./tools/console-tools.js";
import { vmReset } from "./tools/reset-tool.js";
import { vmScreenshot, vmSendKeys, vmTypeText } from "./tools/screen-tools.js";
import { vmSnapshot } from "./tools/snapshot-tool.js";

const version = VERSION;

/** Every tool, in the order a client lists them: both references' tools, then the declarative ones. */
export const TOOLS: AnyTool[] = [
  qemuImageInfo,
  qemuImageConvert,
  qemuCreateOverlay,
  qemuImageResize,
  qemuBootVm,
  qemuListVms,
  qemuStopVm,
  qemuVmStatus,
  manageVm,
  listVmsTool,
  monitorVmStatusTool,
  getVmSpec,
  listVmSpecs,
  applyVmSpec,
  planTool,
  reconcileTool,
  vmExec,
  vmCopyTo,
  vmCopyFrom,
  vmConsoleRead,
  vmConsoleSend,
  vmConsoleWait,
  vmScreenshot,
  vmSendKeys,
  vmTypeText,
  vmSnapshot,
  vmReset,
];

/** A fresh MCP server for one client connection. */
export function createMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer(
    { name: "qemu-fleet", version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        "qemu-fleet manages QEMU VMs declared as YAML files in vms/. Prefer the declarative tools (apply_vm_spec, manage_vm, " +
        "qemu_boot_vm): they write the spec (the truth in git) and reconcile. Use plan before reconcile to see what changes.",
    },
  );
  registerTools(server, TOOLS, ctx);
  registerResources(server, ctx);
  return server;
}
