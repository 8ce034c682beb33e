/**
 * Assembling a rack from its file, in the ns-3 sense (a helper builds, the model never does):
 * `installCaptures` wraps each host's port in a capture, `installStacks` puts the built-in stack on
 * it, `installTraffic` starts the file's `traffic:` on those stacks. `eop run` (virtual time),
 * `eop up` (live) and the benchmarks assemble racks only through these, so a rack is put together
 * one way everywhere.
 *
 * Why here: topology is the builder layer; it may import the stack and captures (which the helpers
 * need) and sits below run/, bench/ and bridge/ (which all call them). In run/ the live rack and
 * the benchmarks could not share them without importing a runner.
 * - Port wrappers (captures) are installed through `HostPorts` before the endpoint takes the port;
 *   see host-ports.ts for the order. Faults (`installFaults`) act below the port, on the objects a
 *   fault really hits (NTB link, PCIe link direction, HRDMA engine, interrupt controller), so a
 *   faulted frame is seen by the capture as a host would see it: late, or never.
 * - No I/O but the capture files the rack file asks for; no wall clock (live mode passes its own
 *   timestamp function).
 */
export { installFaults, type InstalledFaults } from './install-faults.js';
export { FaultLog, type FaultEvent } from './fault-log.js';
export { installCaptures, type CaptureInstallOptions, type InstalledCaptures } from './install-captures.js';
export { HostPorts } from './host-ports.js';
export { installStacks } from './install-stacks.js';
export { installTraffic, trafficDone, type PingRun, type TrafficRuns, type UdpRun } from './install-traffic.js';
