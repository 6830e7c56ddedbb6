import fs from 'node:fs';
import path from 'node:path';
import { TestbedError } from '../core/index.js';

/** The lock file in the data folder; it holds the pid of the process that owns the folder. */
export const LOCK_FILE = 'testbed.lock';

export interface DataLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Safe to call more than once. */
  release(): void;
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it exists, but belongs to another user
  }
}

function locked(dir: string, file: string, pid: number | undefined): TestbedError {
  return new TestbedError(
    'TESTBED_DATA_DIR_LOCKED',
    `${dir} is in use by another testbed process (pid ${pid ?? 'unknown'}, lock file ${file}); ` + 'stop it first, or give this one its own TESTBED_DATA_DIR',
  );
}

/**
 * Takes the data folder for this process, so that two servers never share one
 * queue and one registry. The lock is a file created exclusively (O_EXCL) that
 * holds our pid; a lock whose pid is no longer running was left by a process
 * that died, and is taken over.
 */
export function lockDataDir(dir: string): DataLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return ownLock(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = holderOf(file);
    if (holder === undefined || holder === process.pid || isAlive(holder)) {
      // An unreadable or empty file may be a lock being written right now: treat it as held.
      throw locked(dir, file, holder);
    }
    takeOverStale(dir, file, holder);
  }
  throw locked(dir, file, holderOf(file));
}

/**
 * Moves a stale lock aside. Renaming is atomic, so when two processes take over
 * the same stale lock at once only one moves it; should it have moved a lock
 * that a third process took meanwhile, it puts that one back.
 */
function takeOverStale(dir: string, file: string, stalePid: number): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it: try again
    throw err;
  }
  const moved = holderOf(aside);
  if (moved !== stalePid) {
    try {
      fs.linkSync(aside, file);
    } finally {
      fs.rmSync(aside, { force: true });
    }
    throw locked(dir, file, moved);
  }
  fs.rmSync(aside, { force: true });
}

function ownLock(file: string): DataLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (holderOf(file) === process.pid) fs.rmSync(file, { force: true });
  };
  // A process that exits without stopping (a second Ctrl-C, a fatal error) still leaves the folder free.
  process.on('exit', release);
  return { file, release };
}
