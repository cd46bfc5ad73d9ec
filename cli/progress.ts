import { rawStderrWrite } from './terminal.js';

/** Stage names and a spinner on stderr while long work runs; silent when stderr is not a TTY or under --json. */
const FRAMES = ['|', '/', '-', '\\'];

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private stage = '';
  private readonly started = Date.now();

  constructor(private readonly enabled: boolean) {}

  static for(opts: { json?: boolean }): Progress {
    return new Progress(!opts.json && !!process.stderr.isTTY && !process.env.CI);
  }

  set(stage: string): void {
    if (!this.enabled) return;
    this.stage = stage;
    this.draw();
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 120);
      this.timer.unref();
    }
  }

  private draw(): void {
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    rawStderrWrite(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${this.stage} (${secs}s)`);
  }

  done(): void {
    if (!this.enabled) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    rawStderrWrite('\r\x1b[2K');
  }
}
