/**
 * Packet captures: classic pcap and pcapng writers (formats in their own files, no dependencies),
 * the buffered, size-capped, rotating `CaptureFile` the emulator writes to, and `CaptureSet`, which
 * owns the files of a run and closes them on exit/SIGINT/SIGTERM.
 */
export * from './pcap-format.js';
export * from './pcapng-format.js';
export * from './capture-file.js';
export * from './capture-set.js';
