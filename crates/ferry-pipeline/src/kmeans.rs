//! Deterministic k-means over f32 vectors: k-means++ (or random) seeding from a seeded RNG,
//! Lloyd iterations, and the nearest-centroid search the streamed passes share.
//!
//! Written here rather than taken from `linfa-clustering` because Ferry streams documents:
//! linfa's `KMeans` fits an in-memory `ndarray` dataset and offers no way to run a Lloyd step
//! over batches that are read, used and dropped, which is what keeps a cluster execution's
//! memory at k × dim plus one batch. It would also bring `ndarray` and its numeric stack into
//! the build for roughly a hundred lines of arithmetic.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// Squared Euclidean distance.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum()
}

/// Index of the centroid nearest to `point`, and the squared distance to it. Ties go to the
/// lower index, so assignment is deterministic.
pub fn nearest(centroids: &[Vec<f32>], point: &[f32]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let d = squared_distance(c, point);
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// Chooses `k` initial centroids among `points`: k-means++ (each next centre drawn with
/// probability proportional to its squared distance from the nearest chosen one) or uniformly
/// at random.
fn seed_centroids(
    points: &[Vec<f32>],
    k: usize,
    plus_plus: bool,
    rng: &mut StdRng,
) -> Vec<Vec<f32>> {
    if !plus_plus {
        let mut indices: Vec<usize> = (0..points.len()).collect();
        indices.shuffle(rng);
        return indices[..k].iter().map(|&i| points[i].clone()).collect();
    }
    let mut centroids = vec![points[rng.gen_range(0..points.len())].clone()];
    let mut closest: Vec<f64> = points
        .iter()
        .map(|p| squared_distance(p, &centroids[0]))
        .collect();
    while centroids.len() < k {
        let total: f64 = closest.iter().sum();
        let chosen = if total <= 0.0 {
            // Every point coincides with a centre already: any point will do.
            rng.gen_range(0..points.len())
        } else {
            let mut target = rng.gen::<f64>() * total;
            let mut index = points.len() - 1;
            for (i, d) in closest.iter().enumerate() {
                if target < *d {
                    index = i;
                    break;
                }
                target -= d;
            }
            index
        };
        let centre = points[chosen].clone();
        for (d, p) in closest.iter_mut().zip(points) {
            *d = d.min(squared_distance(p, &centre));
        }
        centroids.push(centre);
    }
    centroids
}

/// Running sums of one Lloyd step: per-centroid vector sums and counts.
pub struct LloydStep {
    sums: Vec<Vec<f64>>,
    counts: Vec<u64>,
    pub inertia: f64,
}

impl LloydStep {
    pub fn new(k: usize, dim: usize) -> Self {
        LloydStep {
            sums: vec![vec![0.0; dim]; k],
            counts: vec![0; k],
            inertia: 0.0,
        }
    }

    pub fn add(&mut self, centroids: &[Vec<f32>], point: &[f32]) {
        let (i, d) = nearest(centroids, point);
        self.inertia += d;
        self.counts[i] += 1;
        for (s, x) in self.sums[i].iter_mut().zip(point) {
            *s += f64::from(*x);
        }
    }

    /// The step's new centroids (an empty cluster keeps its old centre), and the total
    /// squared movement.
    pub fn finish(self, centroids: &[Vec<f32>]) -> (Vec<Vec<f32>>, f64) {
        let mut shift = 0.0;
        let next: Vec<Vec<f32>> = centroids
            .iter()
            .zip(self.sums.iter().zip(&self.counts))
            .map(|(old, (sum, &count))| {
                if count == 0 {
                    return old.clone();
                }
                let new: Vec<f32> = sum.iter().map(|s| (s / count as f64) as f32).collect();
                shift += squared_distance(old, &new);
                new
            })
            .collect();
        (next, shift)
    }
}

/// Mean per-dimension variance of `points`: the scale `tol` is relative to, as in
/// scikit-learn, so one tolerance suits embeddings of any magnitude.
pub fn mean_variance(points: &[Vec<f32>]) -> f64 {
    let Some(dim) = points.first().map(Vec::len) else {
        return 0.0;
    };
    let n = points.len() as f64;
    let mut mean = vec![0.0f64; dim];
    for p in points {
        for (m, x) in mean.iter_mut().zip(p) {
            *m += f64::from(*x) / n;
        }
    }
    let total: f64 = points
        .iter()
        .map(|p| {
            p.iter()
                .zip(&mean)
                .map(|(x, m)| (f64::from(*x) - m).powi(2))
                .sum::<f64>()
        })
        .sum();
    total / n / dim as f64
}

/// Fits `k` centroids to in-memory `points`: `n_init` seedings, each refined by Lloyd's
/// algorithm until the squared movement falls to `tol_abs` or `max_iter` steps; the seeding
/// with the lowest inertia wins. Needs `points.len() >= k`.
pub fn fit(
    points: &[Vec<f32>],
    k: usize,
    n_init: usize,
    max_iter: usize,
    tol_abs: f64,
    plus_plus: bool,
    rng: &mut StdRng,
) -> Vec<Vec<f32>> {
    let dim = points.first().map_or(0, Vec::len);
    let mut best: Option<(f64, Vec<Vec<f32>>)> = None;
    for _ in 0..n_init.max(1) {
        let mut centroids = seed_centroids(points, k, plus_plus, rng);
        for _ in 0..max_iter.max(1) {
            let mut step = LloydStep::new(k, dim);
            for p in points {
                step.add(&centroids, p);
            }
            let (next, shift) = step.finish(&centroids);
            centroids = next;
            if shift <= tol_abs {
                break;
            }
        }
        let inertia: f64 = points.iter().map(|p| nearest(&centroids, p).1).sum();
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centroids));
        }
    }
    best.map(|(_, c)| c).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn blobs() -> Vec<Vec<f32>> {
        let mut points = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..20 {
                let jitter = (i as f32) * 0.01;
                points.push(vec![cx + jitter, cy - jitter]);
            }
        }
        points
    }

    #[test]
    fn separated_blobs_are_found_and_runs_repeat() {
        let points = blobs();
        let fit_once = || {
            let mut rng = StdRng::seed_from_u64(42);
            fit(&points, 3, 4, 100, 1e-8, true, &mut rng)
        };
        let centroids = fit_once();
        assert_eq!(centroids, fit_once(), "same seed, same centroids");
        for group in points.chunks(20) {
            let first = nearest(&centroids, &group[0]).0;
            assert!(group.iter().all(|p| nearest(&centroids, p).0 == first));
        }
        let labels: std::collections::HashSet<usize> = points
            .chunks(20)
            .map(|g| nearest(&centroids, &g[0]).0)
            .collect();
        assert_eq!(labels.len(), 3);
    }
}
