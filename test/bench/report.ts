// Writes a benchmark's results into docs/benchmarks.md between its markers (the rest of the file is
// kept), so every benchmark script regenerates its own section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { repoRoot } from '../support/stack.ts';

const FILE = `${repoRoot}docs/benchmarks.md`;
const HEADER = `# Benchmarks

Each section is written by the script named in it (\`npm run bench:<name>\`); run the script again to
refresh it. Figures are from one run on the machine described in the section, with the local stack
(every server on the same machine) running beside Sluice.
`;

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
}

export function writeSection(name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  let text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : `${HEADER}\n`;
  const at = text.indexOf(start);
  const until = text.indexOf(end);
  text =
    at >= 0 && until > at
      ? `${text.slice(0, at)}${block}${text.slice(until + end.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, text);
}

/** Largest resident memory of a process while `during` runs, sampled every 250 ms (MiB). */
export async function peakRss<T>(
  pid: number,
  during: () => Promise<T>,
): Promise<{ value: T; peakMiB: number }> {
  let peak = 0;
  const sample = () => {
    try {
      // VmHWM: the kernel's own high-water mark of the resident set, so no peak falls between samples.
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) peak = Math.max(peak, Number(match[1]) / 1024);
    } catch {
      // the process ended
    }
  };
  const timer = setInterval(sample, 250);
  try {
    const value = await during();
    sample();
    return { value, peakMiB: peak };
  } finally {
    clearInterval(timer);
  }
}
