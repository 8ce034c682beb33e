/**
 * Creating capture files without being turned against the machine: a root `eop run`/`eop up` writes
 * into a directory that someone else may be able to touch.
 *
 * Rules, and why:
 * - The capture directory is created if missing, then refused (ERR_CAPTURE_UNSAFE) when it is
 *   writable by group or others, unless it is sticky and owned by the effective user: whoever can
 *   write there could plant a symlink or swap a file between two of our calls. (The directory itself
 *   is checked where it really is: a symlinked directory named by the user is followed.)
 * - A capture file is never opened for writing by its name. A fresh file is created under a random
 *   name in the same directory with O_CREAT|O_EXCL|O_NOFOLLOW (which fails rather than follow or
 *   reuse anything planted), its header written, then renamed onto the final name. rename() replaces
 *   the directory entry: it never writes through a symlink and never truncates another file.
 * - What sits at the final name (and at the rotated names `name.N`) is looked at first with lstat: a
 *   symlink, anything that is not a regular file, or a regular file owned by another user is refused
 *   with a message naming it. The check is advisory (the rename above is what makes a race harmless);
 *   it turns a planted link into a clear error instead of a silent replacement.
 * - One run's files never mix with another's: a new capture replaces the previous run's file of the
 *   same name and removes that run's rotated siblings (`name.1`, `name.2`, …; only regular files of
 *   ours, by unlink, which never follows). To keep a run's captures, point the next run elsewhere
 *   (`--capture-dir`).
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { EopError, ErrorCode } from '../errors.js';

/** Mode of new capture files: readable by others (Wireshark as a user), written only by us. */
const FILE_MODE = 0o644;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const S_ISVTX = 0o1000;

function euid(): number | null {
  return typeof process.geteuid === 'function' ? process.geteuid() : null;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function unsafe(msg: string): EopError {
  return new EopError(ErrorCode.CAPTURE_UNSAFE, msg);
}

/** Creates `dir` if needed and refuses it when others could plant files in it. */
export function prepareCaptureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new EopError(ErrorCode.CAPTURE_IO, `cannot create capture directory ${dir}: ${errMessage(e)}`);
  }
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new EopError(ErrorCode.CAPTURE_IO, `cannot read capture directory ${dir}: ${errMessage(e)}`);
  }
  if (!st.isDirectory()) throw new EopError(ErrorCode.CAPTURE_IO, `capture directory ${dir} is not a directory`);
  const me = euid();
  if ((st.mode & 0o022) !== 0 && !((st.mode & S_ISVTX) !== 0 && (me === null || st.uid === me))) {
    const who = (st.mode & 0o002) !== 0 ? 'every user' : 'its group';
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw unsafe(
      `capture directory ${dir} is writable by ${who} (mode ${mode})${(st.mode & S_ISVTX) !== 0 ? ' and owned by another user' : ' without the sticky bit'}: ` +
        `anyone there could plant a symlink that a capture would follow. Use a directory only you can write (chmod go-w ${dir}) or another --capture-dir.`,
    );
  }
}

/**
 * Refuses `path` unless it is missing or a regular file of ours (which a new capture may replace).
 * Returns true if it exists.
 */
export function checkReplaceable(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new EopError(ErrorCode.CAPTURE_IO, `cannot inspect ${path}: ${errMessage(e)}`);
  }
  if (st.isSymbolicLink()) {
    throw unsafe(`${path} is a symbolic link; a capture never writes through links: remove it or choose another --capture-dir`);
  }
  if (!st.isFile()) {
    throw unsafe(`${path} exists and is not a regular file; a capture only replaces its own files: remove it or choose another --capture-dir`);
  }
  const me = euid();
  if (me !== null && st.uid !== me) {
    throw unsafe(`${path} belongs to another user (uid ${st.uid}); a capture only replaces its own files: remove it or choose another --capture-dir`);
  }
  return true;
}

/** Names of the rotated siblings of `path` (`path.N`) present now, lowest N first. */
export function rotatedSiblings(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { n: number; p: string }[] = [];
  for (const name of names) {
    if (name.length <= base.length + 1 || !name.startsWith(base + '.')) continue;
    const suffix = name.slice(base.length + 1);
    if (/^\d{1,6}$/.test(suffix)) out.push({ n: Number(suffix), p: join(dir, name) });
  }
  return out.sort((a, b) => a.n - b.n).map((x) => x.p);
}

/**
 * Makes room for a new run's capture at `path`: checks the file and its rotated siblings, then
 * removes the siblings (the file itself is replaced atomically by `createCaptureFile`). Returns how
 * many files of an earlier run it removed.
 */
export function clearEarlierRun(path: string): number {
  const siblings = rotatedSiblings(path);
  checkReplaceable(path);
  for (const s of siblings) checkReplaceable(s);
  for (const s of siblings) {
    try {
      unlinkSync(s);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new EopError(ErrorCode.CAPTURE_IO, `cannot remove ${s} (a capture of an earlier run): ${errMessage(e)}`);
      }
    }
  }
  return siblings.length;
}

/** Writes all of b[off, off+len), looping over short writes. Throws on I/O errors. */
export function writeAll(fd: number, b: Uint8Array, off: number, len: number): void {
  while (len > 0) {
    const n = writeSync(fd, b, off, len);
    off += n;
    len -= n;
  }
}

/**
 * A fresh name beside `path` that only this process uses (`.name.<pid>.<hex>.tmp`): the capture
 * guardian removes such files if the process dies before it does.
 */
export function tmpNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Creates a new file at `path` holding `header`, without following or reusing anything at that name:
 * O_EXCL|O_NOFOLLOW under a random name in the same directory, then rename onto `path`. Returns the
 * open fd (positioned after the header). Throws the fs error (callers wrap it).
 */
export function createCaptureFile(path: string, header: Uint8Array): number {
  let fd = -1;
  let tmp = '';
  for (let attempt = 0; fd < 0; attempt++) {
    tmp = tmpNameFor(path);
    try {
      fd = openSync(tmp, CREATE_FLAGS, FILE_MODE);
    } catch (e) {
      // A planted name: try another (O_EXCL guarantees we never opened it).
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 4) throw e;
    }
  }
  try {
    writeAll(fd, header, 0, header.length);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // the error below is the one that matters
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  return fd;
}
