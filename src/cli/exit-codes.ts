/**
 * Exit codes of the `oneclass` CLI. Stable: scripts may rely on them (documented in docs/cli.md).
 */
export const EXIT = {
  OK: 0,
  /** An unexpected failure (a bug, or an error without a known code). */
  INTERNAL: 1,
  /** Bad command line: unknown command or option, missing or malformed value. */
  USAGE: 2,
  /** Bad input data: missing folder, empty training set, unreadable or wrong-size image, bad option value. */
  INPUT: 3,
  /** Model file (or encoder model) missing, corrupted, truncated or from a newer version. */
  MODEL_FORMAT: 4,
  /** A requested backend (CUDA) is not usable, or a CUDA error. */
  BACKEND: 5,
  /** Numerical failure or out of memory. */
  NUMERICAL: 6,
  /** Interrupted (Ctrl-C / SIGINT); no partial output files are left behind. */
  INTERRUPTED: 130,
} as const;

/** Maps an error's stable code to an exit code. */
export function exitCodeFor(error: unknown): number {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case 'ERR_USAGE':
      return EXIT.USAGE;
    case 'ERR_INVALID_ARGUMENT':
    case 'ERR_IMAGE_DECODE':
    case 'ERR_NOT_FITTED':
      return EXIT.INPUT;
    case 'ERR_MODEL_FORMAT':
      return EXIT.MODEL_FORMAT;
    case 'ERR_BACKEND_UNAVAILABLE':
    case 'ERR_CUDA':
      return EXIT.BACKEND;
    case 'ERR_NUMERICAL':
    case 'ERR_OUT_OF_MEMORY':
      return EXIT.NUMERICAL;
    case 'ERR_ABORTED':
      return EXIT.INTERRUPTED;
    default:
      return EXIT.INTERNAL;
  }
}
