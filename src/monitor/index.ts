/** The monitoring API: what the CLI and the MCP tool `monitor_vm_status` use. */
export {
  MONITOR_DEFAULT_COUNT,
  MONITOR_DEFAULT_INTERVAL_S,
  MONITOR_MAX_COUNT,
  MONITOR_MAX_INTERVAL_S,
  MONITOR_MIN_INTERVAL_S,
  parseMetrics,
  validateMonitorArgs,
  type MonitorArgs,
} from "./args.js";
export { monitorVm, monitorVms, type MonitorOptions, type MultiOptions, type MultiResult } from "./monitor.js";
export { toReferenceResult, type MetricsData, type ReferenceResult } from "./reference.js";
export { METRICS, type Metric, type MonitorTarget, type VmSample } from "./types.js";
