/**
 * `eop bench`: scripted throughput and latency sweeps in virtual time.
 *
 * Layering (imports only downward): scenario.ts (YAML → validated `Scenario`) → traffic.ts (one
 * point: build and boot a rack, run UDP / TCP / ping-pong generators on the EOP interfaces,
 * measure) → run.ts (every point of a scenario, with progress) → report.ts (table, JSON lines,
 * CSV, SVG). The generators use only public model APIs (Rack, EopNic as FramePort, Scheduler);
 * host-stack costs they add on top of the model are in stack-model.ts. No I/O here: src/cli/bench.ts
 * reads files, draws the progress bar and writes the outputs.
 */
export { formatMatrix, formatTable, toCsv, toJsonLines, toSvg } from './report.js';
export { pointsOf, runScenario, type BenchRun, type Progress } from './run.js';
export { loadScenario, parseScenario, parseScenarioText, type Scenario, type Variant } from './scenario.js';
export { DEFAULT_STACK, type StackModel } from './stack-model.js';
export { runPoint, type PointResult, type PointSpec } from './traffic.js';
