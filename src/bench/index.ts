/**
 * `eop bench`: scripted throughput and latency sweeps in virtual time.
 *
 * Layer 10 of 0–12. May import every layer below (`src/run`, `src/topology`, `src/stack`, `src/eop`,
 * `src/host`, `src/pcie`, `src/time`), errors.ts, log.ts; nothing above.
 *
 * Files, bottom up: scenario.ts (YAML → validated `Scenario`); variant-rack.ts (the rack of a
 * variant); frames.ts (the bench header inside real Ethernet frames); recorder.ts (a core's
 * timeline, what flows record); stream-flow.ts (`udp` and `tcp` traffic) and ping-pong.ts
 * (`pingpong`); measure.ts (throughput window, percentiles, PCIe limit); point.ts (one point:
 * build and boot a rack, run the generators, measure); run.ts (every point of a scenario, with
 * progress); report.ts (table, JSON lines, CSV, SVG). The generators use only public model APIs (Rack, EopNic as FramePort, Scheduler);
 * host-stack costs they add on top of the model are in stack-model.ts. No I/O here: src/cli/bench.ts
 * reads files, draws the progress bar and writes the outputs.
 */
export { formatMatrix, formatTable, toCsv, toJsonLines, toSvg } from './report.js';
export { pointsOf, runScenario, type BenchRun, type Progress } from './run.js';
export { loadScenario, parseScenario, parseScenarioText, type Scenario, type Variant } from './scenario.js';
export { DEFAULT_STACK, type StackModel } from './stack-model.js';
export { runPoint, type PointResult, type PointSpec } from './point.js';
