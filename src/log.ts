/**
 * Logging with virtual-time stamps and a per-code rate limit, so a flood of bad frames costs a
 * counter increment, not a terminal full of lines. The sink is injected (the CLI passes stderr; tests
 * pass an array), which keeps the model free of I/O.
 */
import type { Ns } from './time/units.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LogRecord {
  timeNs: Ns;
  level: LogLevel;
  source: string;
  code?: string;
  message: string;
}

export type LogSink = (rec: LogRecord) => void;

export class Logger {
  /** Per (source, code): how many were logged; beyond `perCodeLimit` they are only counted. */
  private readonly seen = new Map<string, number>();
  suppressed = 0;
  readonly records: LogRecord[] = [];

  constructor(
    private readonly clock: () => Ns,
    private sink: LogSink | null = null,
    private level: LogLevel = 'warn',
    private readonly perCodeLimit = 5,
    /** Keep the last records in memory (for tests and the final report). */
    private readonly keep = 200,
  ) {}

  setSink(sink: LogSink | null, level?: LogLevel): void {
    this.sink = sink;
    if (level) this.level = level;
  }

  log(level: LogLevel, source: string, message: string, code?: string): void {
    if (code) {
      const key = `${source}\0${code}`;
      const n = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, n);
      if (n > this.perCodeLimit) {
        this.suppressed++;
        return;
      }
    }
    const rec: LogRecord = { timeNs: this.clock(), level, source, message, ...(code ? { code } : {}) };
    if (this.records.length >= this.keep) this.records.shift();
    this.records.push(rec);
    if (this.sink && LEVELS[level] <= LEVELS[this.level]) this.sink(rec);
  }

  error(source: string, message: string, code?: string): void {
    this.log('error', source, message, code);
  }
  warn(source: string, message: string, code?: string): void {
    this.log('warn', source, message, code);
  }
  info(source: string, message: string): void {
    this.log('info', source, message);
  }
  debug(source: string, message: string): void {
    if (LEVELS[this.level] >= LEVELS.debug) this.log('debug', source, message);
  }
}

export function formatLogRecord(r: LogRecord): string {
  const t = (r.timeNs / 1000).toFixed(3).padStart(12);
  return `[${t} µs] ${r.level.toUpperCase().padEnd(5)} ${r.source}: ${r.message}${r.code ? ` (${r.code})` : ''}`;
}
