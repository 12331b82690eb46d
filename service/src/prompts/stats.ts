/**
 * The statistics of an experiment, as pure functions of per-variant sums (n, Σx, Σx²), so that every instance and the
 * admin view compute the same numbers from the shared tallies — and a test can check them against a hand computation.
 *
 * The comparison that decides is sequential and valid under continuous monitoring: the mixture sequential probability
 * ratio test (mSPRT) of Johari, Pekelis and Walsh ("Always Valid Inference", 2017; Robbins 1970) with a normal
 * mixing distribution N(0, τ²) over the difference of means. For the difference estimate Δ with variance
 * V = s²_t/n_t + s²_c/n_c,
 *
 *   Λ = √(V / (V + τ²)) · exp(τ² Δ² / (2 V (V + τ²)))
 *
 * is a nonnegative martingale under "no difference", so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α: the always-valid
 * p-value min(1, 1/Λ) may be read at any time, as often as one likes, and acted on (the stop rule) without inflating
 * false positives — unlike a t-test re-run at every look. Inverting it gives the always-valid confidence sequence
 *
 *   Δ ± √( V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)) ).
 *
 * τ is the metric's minimum detectable effect (`mde`): the test is most powerful for differences of about that size.
 * Variances are plug-in estimates (normal approximation), as in the paper's practical version.
 *
 * "Samples still needed": the per-variant count n at which a true difference of `mde` would be detected with 80%
 * power at a single look, i.e. mde ≥ b(V(n)) + z₀.₈ √V(n) with V(n) = (s²_t + s²_c)/n and b the half-width above;
 * looking more often only raises the power, so it is a conservative estimate.
 *
 * For boolean metrics a Bayesian reading is shown beside it: P(p_t > p_c) under independent Beta(1 + successes,
 * 1 + failures) posteriors, by Evan Miller's closed form ("Formulas for Bayesian A/B Testing"). It does not drive the
 * stop rule: a posterior probability read at every look has no error guarantee.
 */

/** n, mean and (sample) variance of one arm. */
export interface ArmSummary {
  n: number;
  mean: number;
  variance: number;
}

export function summarize(n: number, sum: number, sumSquares: number): ArmSummary {
  if (n <= 0) return { n: 0, mean: 0, variance: 0 };
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1)) : 0;
  return { n, mean, variance };
}

export interface SequentialTest {
  /** treatment mean − control mean */
  difference: number;
  /** V, the variance of the difference estimate. */
  variance: number;
  tau: number;
  /** Λ, the mixture likelihood ratio. */
  likelihoodRatio: number;
  /** Always-valid p-value, min(1, 1/Λ). */
  pValue: number;
  /** Always-valid (1 − α) confidence sequence for the difference. */
  interval: [number, number];
  significant: boolean;
  /** Per variant, for 80% power at a difference of `tau`; null when no variance has been observed yet. */
  samplesPerVariant: number | null;
}

/** Variances below this are treated as this (a metric that has not varied yet still gets a finite test). */
const RIDGE = 1e-12;
/** z for 80% power. */
const Z_POWER = 0.8416212335729143;

export function mixtureSprt(control: ArmSummary, treatment: ArmSummary, tau: number, alpha: number): SequentialTest {
  const difference = treatment.mean - control.mean;
  if (control.n < 2 || treatment.n < 2) {
    return {
      difference,
      variance: Number.POSITIVE_INFINITY,
      tau,
      likelihoodRatio: 1,
      pValue: 1,
      interval: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
      significant: false,
      samplesPerVariant: null,
    };
  }
  const vc = Math.max(control.variance, RIDGE);
  const vt = Math.max(treatment.variance, RIDGE);
  const V = vt / treatment.n + vc / control.n;
  const t2 = tau * tau;
  const logLambda = 0.5 * Math.log(V / (V + t2)) + (t2 * difference * difference) / (2 * V * (V + t2));
  const likelihoodRatio = Math.exp(logLambda);
  const pValue = Math.min(1, Math.exp(-logLambda));
  const half = halfWidth(V, t2, alpha);
  const observed = control.variance > 0 || treatment.variance > 0;
  return {
    difference,
    variance: V,
    tau,
    likelihoodRatio,
    pValue,
    interval: [difference - half, difference + half],
    significant: pValue <= alpha,
    samplesPerVariant: observed ? samplesFor(vc + vt, tau, alpha) : null,
  };
}

function halfWidth(V: number, t2: number, alpha: number): number {
  return Math.sqrt(((V * (V + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((V + t2) / V)));
}

/** The smallest per-variant n with tau ≥ b(V(n)) + z √V(n), V(n) = varianceSum / n; null past 10⁹. */
export function samplesFor(varianceSum: number, tau: number, alpha: number): number | null {
  const t2 = tau * tau;
  const enough = (n: number) => {
    const V = varianceSum / n;
    return tau >= halfWidth(V, t2, alpha) + Z_POWER * Math.sqrt(V);
  };
  let hi = 2;
  while (!enough(hi)) {
    hi *= 2;
    if (hi > 1e9) return null;
  }
  let lo = Math.max(1, hi / 2);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * P(p_t > p_c) for independent Beta(1 + s, 1 + f) posteriors (uniform priors). Evan Miller's closed form, a sum of
 * s_t + 1 terms; past 100,000 successes a normal approximation of the two posteriors.
 */
export function probabilityBetter(
  control: { successes: number; n: number },
  treatment: { successes: number; n: number },
): number {
  const aC = 1 + control.successes;
  const bC = 1 + control.n - control.successes;
  const aT = 1 + treatment.successes;
  const bT = 1 + treatment.n - treatment.successes;
  if (aT - 1 > 100_000) {
    const mean = (a: number, b: number) => a / (a + b);
    const variance = (a: number, b: number) => (a * b) / ((a + b) ** 2 * (a + b + 1));
    return normalCdf((mean(aT, bT) - mean(aC, bC)) / Math.sqrt(variance(aT, bT) + variance(aC, bC)));
  }
  let total = 0;
  const base = -logBeta(aC, bC);
  for (let i = 0; i < aT; i++) {
    total += Math.exp(base + logBeta(aC + i, bC + bT) - Math.log(bT + i) - logBeta(1 + i, bT));
  }
  return Math.min(1, Math.max(0, total));
}

export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

// Lanczos approximation (g = 7, n = 9): about 15 significant digits for positive arguments.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Standard normal CDF, through the complementary error function. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfcc (Chebyshev fit), fractional error below 1.2e-7 everywhere.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Approximate quantile from bucket counts (upper bounds, last +Infinity): the upper bound of the bucket reached. */
export function bucketQuantile(bounds: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return bounds[i]!;
  }
  return bounds.at(-1)!;
}
