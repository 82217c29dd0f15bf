// Preloaded into a measured process (NODE_OPTIONS=--import <this file>; JavaScript, so that it adds
// no TypeScript loader to a process that runs compiled code): when the process exits it
// writes its peak resident set (getrusage's maxRSS, in KiB) to the file SLUICE_BENCH_PEAK_FILE names.
// The kernel keeps that peak, so no short spike between two samples is missed.
import { writeFileSync } from 'node:fs';

const file = process.env.SLUICE_BENCH_PEAK_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
