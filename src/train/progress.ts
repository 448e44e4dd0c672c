/** Progress of a long run: a redrawn bar on a terminal, plain lines every `printFreq` steps otherwise. */

export interface ProgressState {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  samplesPerSecond: number;
  loss: number;
  etaSeconds: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  const mmss = `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(0);
}

export class Progress {
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream, private readonly printFreq: number) {}

  get interactive(): boolean {
    return Boolean(this.out.isTTY);
  }

  update(s: ProgressState): void {
    const text =
      `epoch ${s.epoch + 1}/${s.epochs} step ${s.step}/${s.totalSteps} ` +
      `${formatRate(s.samplesPerSecond)} samples/s loss ${s.loss.toFixed(4)} ETA ${clock(s.etaSeconds)}`;
    if (this.interactive) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && s.step < s.totalSteps) return;
      this.lastDraw = now;
      const width = 24, filled = Math.round((width * s.step) / Math.max(1, s.totalSteps));
      this.out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`);
    } else if (this.printFreq > 0 && (s.step % this.printFreq === 0 || s.step === s.totalSteps)) {
      this.out.write(`${text}\n`);
    }
  }

  /** A line of its own (evaluation results), keeping the bar intact below it. */
  line(text: string): void {
    this.out.write(this.interactive ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  finish(): void {
    if (this.interactive) this.out.write('\n');
  }
}
