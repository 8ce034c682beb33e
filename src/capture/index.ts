/**
 * Packet captures: classic pcap and pcapng writers (formats in their own files, no dependencies),
 * the buffered, size-capped, rotating `CaptureFile` the emulator writes to, and `CaptureSet`, which
 * owns the files of a run and closes them on exit/SIGINT/SIGTERM, and the capture guardian, a
 * process that cuts the files back to their last whole record when the emulator dies (SIGKILL).
 *
 * Layer 7 of 0–12. May import `src/time`, `src/wire`, errors.ts, log.ts: it stores bytes and
 * timestamps it is given and knows nothing of the model. Files are written synchronously, so a
 * flush works inside `process.on('exit')`.
 */
export * from './pcap-format.js';
export * from './pcapng-format.js';
export * from './capture-file.js';
export * from './capture-set.js';
