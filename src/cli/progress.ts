/**
 * Progress bar with rate and ETA on stderr. Drawn only when stderr is a terminal and the user did
 * not ask for --quiet or --json, so pipes and CI logs stay clean.
 */
export interface ProgressSink {
  update(label: string, done: number, total: number): void;
  done(): void;
}

export const silentProgress: ProgressSink = { update() {}, done() {} };

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s >= 90 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  let label = '';
  let started = 0;
  let startDone = 0;
  let lastDraw = 0;
  let drawn = false;
  return {
    update(newLabel, done, total) {
      const now = Date.now();
      if (newLabel !== label) {
        // The rate counts from the first update: work before it has no start time.
        label = newLabel;
        started = now;
        startDone = done;
      }
      // At most 10 redraws a second, but always the final state.
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? (done - startDone) / elapsed : 0;
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : 0;
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const line = `${label.padEnd(9)} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}  ${rate.toFixed(1)} img/s  ETA ${seconds(eta)}`;
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
