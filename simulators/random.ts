/**
 * Seeded randomness for the simulators. Everything a virtual device invents
 * comes from here, so one seed reproduces a whole run.
 */

/** A deterministic pseudo-random source. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal: mean 0, standard deviation 1. */
  gaussian(): number;
}

/**
 * mulberry32: 32 bits of state, a full period of 2^32 and good enough
 * statistics for plausible sensor signals (not for anything secret).
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  let spare: number | undefined;

  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  return {
    next,
    // Box-Muller: two uniforms give two independent normals; keep the second.
    gaussian() {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      const radius = Math.sqrt(-2 * Math.log(1 - next())); // 1 - u is in (0, 1], so the log is finite
      const angle = 2 * Math.PI * next();
      spare = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
  };
}

/** splitmix32-style finaliser: every input bit affects every output bit. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * A seed for a named sub-stream of `seed` (a device, a measurement), so that
 * adding a device or a measurement does not shift every other sequence.
 * FNV-1a over the label, combined with the mixed seed.
 */
export function deriveSeed(seed: number, label: string | number): number {
  let h = 0x811c9dc5;
  for (const ch of String(label)) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return mix32((mix32(seed) + h) | 0);
}

/** A fresh random seed for runs that were not given one (printed so they can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/**
 * One step of an Ornstein-Uhlenbeck process: a random walk pulled back towards
 * `mean`, i.e. an AR(1) whose coefficient follows from the time step, so the
 * statistics are the same whether a device reports every second or every hour.
 * `sd` is the stationary standard deviation, `tauMs` the correlation time.
 */
export function ouStep(value: number, mean: number, sd: number, tauMs: number, dtMs: number, random: Random): number {
  const phi = Math.exp(-Math.max(0, dtMs) / tauMs);
  return mean + (value - mean) * phi + sd * Math.sqrt(1 - phi * phi) * random.gaussian();
}

/** A Poisson-distributed count with mean `lambda`: things that arrive independently (vehicles, people). */
export function poisson(random: Random, lambda: number): number {
  if (!(lambda > 0)) return 0;
  // A normal approximation for large means keeps this O(1).
  if (lambda > 60) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * random.gaussian()));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random.next();
  while (p > limit) {
    k++;
    p *= random.next();
  }
  return k;
}
