/**
 * Pixel-level metrics over a whole test set: pixel AUROC, and AUPRO (the per-region overlap
 * curve of MVTec AD, Bergmann et al. 2021) integrated up to a false-positive rate of 0.3 and
 * divided by 0.3 so that 1 is perfect.
 *
 * Heatmaps and masks are added one image at a time (streaming: only the scores are kept, 4 bytes
 * per normal pixel plus 12 per defect pixel), so the caller never holds every heatmap.
 * Masks are binary (non-zero = defect); good images pass mask `null` (all normal).
 */
import { invalidInput } from '../errors.js';
import { expectNumber } from '../validate.js';
import { checkBothClasses, f1MaxSorted, rocAucSorted, type F1Result } from './roc.js';

export interface PixelMetrics {
  pixelAuroc: number;
  aupro: number;
  /** The FPR limit AUPRO was integrated to. */
  aproFprLimit: number;
  pixelF1: F1Result;
  normalPixels: number;
  defectPixels: number;
  regions: number;
}

/**
 * Labels 8-connected components of a binary mask (scipy.ndimage.label with a 3x3 structure, the
 * MVTec AD evaluation's choice). Returns per-pixel labels (0 = background, 1..count) and count.
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
): { labels: Int32Array; count: number } {
  const labels = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    count++;
    let top = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top];
      const y = (p / width) | 0;
      const x = p - y * width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] && !labels[q]) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
  }
  return { labels, count };
}

/** Growable typed array: pixel counts are not known in advance. */
class Growable<T extends Float32Array | Float64Array> {
  data: T;
  constructor(make: (n: number) => T) {
    this.make = make;
    this.data = make(1024);
  }
  private readonly make: (n: number) => T;
  length = 0;
  push(values: ArrayLike<number>, pick?: (i: number) => boolean): void {
    for (let i = 0; i < values.length; i++) {
      if (pick && !pick(i)) continue;
      if (this.length === this.data.length) {
        const bigger = this.make(this.data.length * 2);
        bigger.set(this.data);
        this.data = bigger;
      }
      this.data[this.length++] = values[i];
    }
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

export class PixelMetricsAccumulator {
  // Heatmaps are float32: keeping pixel scores as float32 halves the memory and loses nothing.
  private readonly normal = new Growable((n) => new Float32Array(n));
  private readonly defect = new Growable((n) => new Float32Array(n));
  /** For each defect pixel (same order as `defect`): the size of its region. */
  private readonly regionSize = new Growable((n) => new Float64Array(n));
  private regions = 0;
  private images = 0;

  /**
   * Adds one image: `heatmap` (anomaly scores, higher = more anomalous) and `mask` of the same
   * size (non-zero = defect) or null for a defect-free image.
   */
  add(
    heatmap: ArrayLike<number>,
    mask: Uint8Array | null,
    width: number,
    height: number,
    name = `image ${this.images}`,
  ): void {
    if (heatmap.length !== width * height) {
      throw invalidInput(
        name,
        `Heatmap of ${name} has ${heatmap.length} values, expected width * height = ${width} * ${height}`,
      );
    }
    if (mask && mask.length !== width * height) {
      throw invalidInput(
        name,
        `Mask of ${name} has ${mask.length} pixels but its heatmap has ${width} x ${height}; masks must have the image's size`,
      );
    }
    for (let i = 0; i < heatmap.length; i++) {
      if (!Number.isFinite(heatmap[i])) {
        throw invalidInput(name, `Heatmap of ${name} holds ${heatmap[i]} at pixel ${i}`);
      }
    }
    this.images++;
    if (!mask) {
      this.normal.push(heatmap);
      return;
    }
    const { labels, count } = labelComponents(mask, width, height);
    const sizes = new Float64Array(count + 1);
    for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
    this.regions += count;
    this.normal.push(heatmap, (i) => labels[i] === 0);
    this.defect.push(heatmap, (i) => labels[i] !== 0);
    const regionSizes: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) regionSizes.push(sizes[labels[i]]);
    this.regionSize.push(regionSizes);
  }

  compute(fprLimit = 0.3): PixelMetrics {
    expectNumber('fprLimit', fprLimit, { min: 0, max: 1, exclusiveMin: true });
    const negative = this.normal.view().slice().sort();
    const defect = this.defect.view();
    const split = checkBothClasses('pixel metrics', { positive: defect.slice().sort(), negative });
    // AUPRO: defect pixels sorted by score, each carrying its PRO increment 1 / (regions * regionSize).
    const order = new Uint32Array(defect.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => defect[a] - defect[b]);
    const sizes = this.regionSize.view();
    // Points (fpr, pro) after each group of tied scores, from (0, 0); trapezoids up to fprLimit.
    let area = 0;
    let fpr = 0;
    let pro = 0;
    let lastPro = 0;
    let d = order.length - 1;
    let n = negative.length - 1;
    while (d >= 0 || n >= 0) {
      const v = Math.max(d >= 0 ? defect[order[d]] : -Infinity, n >= 0 ? negative[n] : -Infinity);
      while (d >= 0 && defect[order[d]] === v) {
        pro += 1 / (this.regions * sizes[order[d]]);
        d--;
      }
      while (n >= 0 && negative[n] === v) n--;
      const nextFpr = (negative.length - 1 - n) / negative.length;
      if (nextFpr > fprLimit) {
        // Interpolate the curve at the limit, as MVTec AD's trapezoid(x_max=0.3) does.
        const proAtLimit = lastPro + ((fprLimit - fpr) / (nextFpr - fpr)) * (pro - lastPro);
        area += ((fprLimit - fpr) * (lastPro + proAtLimit)) / 2;
        break;
      }
      area += ((nextFpr - fpr) * (lastPro + pro)) / 2;
      fpr = nextFpr;
      lastPro = pro;
    }
    return {
      pixelAuroc: rocAucSorted(split),
      aupro: area / fprLimit,
      aproFprLimit: fprLimit,
      pixelF1: f1MaxSorted(split),
      normalPixels: negative.length,
      defectPixels: defect.length,
      regions: this.regions,
    };
  }
}
