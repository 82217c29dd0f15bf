// Progress of long commands on stderr: a bar redrawn in place on a terminal, a plain line every few
// seconds otherwise (logs, CI). stdout stays for the command's result.

export interface ProgressLine {
  label: string;
  done: number;
  /** Expected total; 0 when unknown. */
  total: number;
  /** Units done per second in this run. */
  rate: number;
  /** What is counted (default: rows). */
  unit?: string;
}

function eta(line: ProgressLine): string {
  if (line.total <= line.done || line.rate <= 0) return '';
  const seconds = Math.round((line.total - line.done) / line.rate);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return ` ETA ${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** One line of text for a progress state (pure). */
export function renderProgress(line: ProgressLine, width = 24): string {
  const counts = `${line.done.toLocaleString('en')}${line.total > 0 ? ` / ~${line.total.toLocaleString('en')}` : ''}`;
  const rate = `${Math.round(line.rate).toLocaleString('en')}/s`;
  const unit = line.unit ?? 'rows';
  if (line.total <= 0) return `${line.label} ${counts} ${unit}, ${rate}`;
  const share = Math.min(1, line.done / line.total);
  const filled = Math.round(share * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  return `${line.label} ${bar} ${(share * 100).toFixed(1)}% ${counts} ${unit}, ${rate}${eta(line)}`;
}

/** A progress state; without a rate, the rate since the Progress was made. */
export type ProgressUpdate = Omit<ProgressLine, 'rate'> & { rate?: number };

export class Progress {
  private readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private last = 0;
  private readonly everyMs: number;
  private readonly startedAt = Date.now();

  constructor(out: NodeJS.WriteStream = process.stderr, everyMs = 5000) {
    this.out = out;
    this.tty = out.isTTY === true;
    this.everyMs = everyMs;
  }

  update(line: ProgressUpdate): void {
    const now = Date.now();
    if (this.tty) this.out.write(`\r\x1b[2K${this.render(line)}`);
    else if (now - this.last >= this.everyMs) {
      this.last = now;
      this.out.write(`${this.render(line)}\n`);
    }
  }

  /** Ends the bar's line (a terminal) or writes the final state (otherwise). */
  done(line: ProgressUpdate): void {
    this.out.write(this.tty ? `\r\x1b[2K${this.render(line)}\n` : `${this.render(line)}\n`);
  }

  private render(line: ProgressUpdate): string {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return renderProgress({ ...line, rate: line.rate ?? (seconds > 0 ? line.done / seconds : 0) });
  }
}
