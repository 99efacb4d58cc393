/**
 * The open-files limit (RLIMIT_NOFILE) against what the station will hold open: every
 * terminal session, push connection, HTTP client and database file is a descriptor, and a
 * station past its limit fails to connect (EMFILE) one terminal at a time, which reads like
 * a field problem. Node already raises the soft limit to the hard one at start, so the hard
 * limit is the one to set (systemd LimitNOFILE=, docker --ulimit nofile=); the station
 * logs it once at start and warns, with the numbers, when what it is configured for does
 * not fit. `gridhead_process_max_fds` and `gridhead_process_open_fds` in /metrics show it live.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from './logger.js';

export interface OpenFilesLimit {
  /** The limit in force (Infinity: unlimited). */
  readonly soft: number;
  readonly hard: number;
}

/** Descriptors beside the sessions: HTTP clients, MQTT, database and log files, listeners, DNS. */
export const OTHER_DESCRIPTORS = 256;

export interface DescriptorNeed {
  readonly what: string;
  readonly count: number;
}

/** The "Max open files" line of /proc/<pid>/limits; undefined when absent or unreadable. */
export function parseOpenFilesLimit(limits: string): OpenFilesLimit | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (m === null) return undefined;
  const value = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: value(m[1]), hard: value(m[2]) };
}

/** This process's limit; undefined where /proc is not there (not Linux). */
export function readOpenFilesLimit(file = '/proc/self/limits'): OpenFilesLimit | undefined {
  try {
    return parseOpenFilesLimit(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Logs the limit and what the station needs; warns once when the needs plus
 * OTHER_DESCRIPTORS exceed the soft limit. Returns whether they fit (true when unknown).
 */
export function checkOpenFiles(limit: OpenFilesLimit | undefined, needs: readonly DescriptorNeed[], logger: Logger): boolean {
  const needed = needs.reduce((sum, n) => sum + n.count, OTHER_DESCRIPTORS);
  const detail = Object.fromEntries(needs.map((n) => [n.what, n.count]));
  if (limit === undefined) {
    logger.info({ needed, ...detail }, 'open-files limit unknown on this platform');
    return true;
  }
  const fields = { soft: limit.soft, hard: limit.hard, needed, ...detail, other: OTHER_DESCRIPTORS };
  if (needed <= limit.soft) {
    logger.info(fields, 'open-files limit');
    return true;
  }
  logger.warn(fields, `open-files limit ${limit.soft} is below the ${needed} descriptors the configuration may hold open: raise it (systemd LimitNOFILE=, docker --ulimit nofile=) or lower collect.concurrency or collect.keepSessions.max`);
  return false;
}
