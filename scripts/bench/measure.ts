import { readFile } from 'node:fs/promises';

/**
 * CPU seconds used so far, resident memory and its peak, and read and write system calls so far
 * (`syscr`, `syscw`: `read`, `write` and their vector forms, on sockets too, not `recv` or
 * `send`) of a process, from /proc (Linux).
 */
export async function processStats(pid: number): Promise<{
  cpuSeconds: number;
  rssMb: number;
  peakRssMb: number;
  readCalls: number;
  writeCalls: number;
}> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s on Linux.
  const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const calls = (field: string) => Number(new RegExp(`${field}: (\\d+)`).exec(io)?.[1] ?? 0);
  return {
    cpuSeconds,
    rssMb: kb('VmRSS') / 1024,
    peakRssMb: kb('VmHWM') / 1024,
    readCalls: calls('syscr'),
    writeCalls: calls('syscw'),
  };
}

/** The p-th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}
