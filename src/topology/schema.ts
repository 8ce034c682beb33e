/**
 * The rack description's public face: what the rest of the tree imports about rack files. The
 * parts live in one file per job:
 * - `types.ts`     DEFAULTS, LIMITS and the normalized types (`Topology`, `HostConfig`, …)
 * - `problems.ts`  field paths, problem messages, "did you mean"
 * - `source.ts`    YAML/JSON text to a value plus line:col positions (shared with bench scenarios)
 * - `checks.ts`    leaf checks ("must be an integer from 68 to 65510")
 * - `addresses.ts` MAC/IPv4/IPv6 as the file writes them, on top of `src/wire`'s parsers
 * - `shapes.ts`    the zod schema (leaves, unknown keys, defaults)
 * - `validate.ts`  cross-field checks and normalization into a `Topology`
 * - `load.ts`      files to a `Topology`, with every problem located
 */
export * from './types.js';
export { didYouMean, editDistance, formatPath, showValue, type ConfigPath, type ConfigProblem } from './problems.js';
export {
  checkIpv4,
  checkIpv6,
  checkMac,
  defaultIpv4,
  defaultIpv6,
  defaultMac,
  macAddress,
  parseIpv4Cidr,
  parseIpv6Cidr,
  parseMacAddress,
} from './addresses.js';
export { checkHostName, HOST_NAME_RE } from './checks.js';
export { TopologySchema, type TopologyFile } from './shapes.js';
export { validateTopology, type ValidationResult } from './validate.js';
