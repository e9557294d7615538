//! The Nelder-Mead simplex minimizer `holt_winters` fits its parameters with, step for step as
//! InfluxDB 1.6.7's (after Michael F. Hutt's), so that forecasts agree with it to the last bit:
//! reflection 1, contraction 0.5, expansion 2, at most 1,000 iterations, stopping when the
//! standard deviation of the vertices' values falls below `epsilon`. Constraints are the
//! objective's own business.

const MAX_ITERATIONS: usize = 1000;
const REFLECTION: f64 = 1.0;
const CONTRACTION: f64 = 0.5;
const EXPANSION: f64 = 2.0;

/// The point near `start` where `objective` is smallest (a regular simplex of side `scale`
/// around `start` to begin with), and the objective there. `objective` may change the
/// candidate it is given (1.6.7's Holt-Winters clamps its parameters and leaves its last
/// seasonal factors in it), and the candidate keeps the change, as in 1.6.7.
pub(super) fn minimize(
    objective: &dyn Fn(&mut [f64]) -> f64,
    start: &[f64],
    epsilon: f64,
    scale: f64,
) -> (f64, Vec<f64>) {
    let n = start.len();
    if n == 0 {
        return (objective(&mut []), Vec::new());
    }
    let nf = n as f64;
    let pn = scale * ((nf + 1.0).sqrt() - 1.0 + nf) / (nf * 2f64.sqrt());
    let qn = scale * ((nf + 1.0).sqrt() - 1.0) / (nf * 2f64.sqrt());
    let mut v: Vec<Vec<f64>> = (0..=n)
        .map(|i| {
            (0..n)
                .map(|j| match i {
                    0 => start[j],
                    _ if i - 1 == j => pn + start[j],
                    _ => qn + start[j],
                })
                .collect()
        })
        .collect();
    let mut f: Vec<f64> = v.iter_mut().map(|x| objective(x)).collect();
    let mut vm = vec![0.0; n];
    let mut vr = vec![0.0; n];
    let mut ve = vec![0.0; n];
    let mut vc = vec![0.0; n];
    for _ in 0..MAX_ITERATIONS {
        // The largest, smallest and second largest values.
        let (mut vg, mut vs) = (0, 0);
        for i in 0..=n {
            if f[i] > f[vg] {
                vg = i;
            }
            if f[i] < f[vs] {
                vs = i;
            }
        }
        let mut vh = vs;
        for i in 0..=n {
            if f[i] > f[vh] && f[i] < f[vg] {
                vh = i;
            }
        }
        for (i, c) in vm.iter_mut().enumerate() {
            let mut cent = 0.0;
            for (m, vertex) in v.iter().enumerate() {
                if m != vg {
                    cent += vertex[i];
                }
            }
            *c = cent / nf;
        }
        for i in 0..n {
            vr[i] = vm[i] + REFLECTION * (vm[i] - v[vg][i]);
        }
        let fr = objective(&mut vr);
        if fr < f[vh] && fr >= f[vs] {
            v[vg].copy_from_slice(&vr);
            f[vg] = fr;
        }
        if fr < f[vs] {
            for i in 0..n {
                ve[i] = vm[i] + EXPANSION * (vr[i] - vm[i]);
            }
            let fe = objective(&mut ve);
            if fe < fr {
                v[vg].copy_from_slice(&ve);
                f[vg] = fe;
            } else {
                v[vg].copy_from_slice(&vr);
                f[vg] = fr;
            }
        }
        if fr >= f[vh] {
            if fr < f[vg] && fr >= f[vh] {
                // Outside contraction.
                for i in 0..n {
                    vc[i] = vm[i] + CONTRACTION * (vr[i] - vm[i]);
                }
            } else {
                // Inside contraction.
                for i in 0..n {
                    vc[i] = vm[i] - CONTRACTION * (vm[i] - v[vg][i]);
                }
            }
            let fc = objective(&mut vc);
            if fc < f[vg] {
                v[vg].copy_from_slice(&vc);
                f[vg] = fc;
            } else {
                // Shrink every vertex halfway towards the smallest.
                let smallest = v[vs].clone();
                for (row, vertex) in v.iter_mut().enumerate() {
                    if row != vs {
                        for (x, s) in vertex.iter_mut().zip(&smallest) {
                            *x = s + (*x - s) / 2.0;
                        }
                    }
                }
                f[vg] = objective(&mut v[vg]);
                f[vh] = objective(&mut v[vh]);
            }
        }
        let favg = f.iter().sum::<f64>() / (nf + 1.0);
        let spread = f
            .iter()
            .map(|x| (x - favg) * (x - favg) / nf)
            .sum::<f64>()
            .sqrt();
        if spread < epsilon {
            break;
        }
    }
    let mut vs = 0;
    for i in 0..=n {
        if f[i] < f[vs] {
            vs = i;
        }
    }
    let best = v[vs].clone();
    // As 1.6.7: the value is the objective once more at the (possibly changed) vertex.
    (objective(&mut v[vs]), best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_bowl() {
        let bowl = |x: &mut [f64]| (x[0] - 1.0).powi(2) + (x[1] + 2.0).powi(2) + 3.0;
        let (value, best) = minimize(&bowl, &[0.0, 0.0], 1e-12, 1.0);
        assert!(
            (best[0] - 1.0).abs() < 1e-4 && (best[1] + 2.0).abs() < 1e-4,
            "{best:?}"
        );
        assert!((value - 3.0).abs() < 1e-8, "{value}");
    }

    #[test]
    fn candidates_keep_what_the_objective_changed() {
        // The objective clamps to [0, 1]; the answer is clamped too.
        let slope = |x: &mut [f64]| {
            x[0] = x[0].clamp(0.0, 1.0);
            -x[0]
        };
        let (value, best) = minimize(&slope, &[0.5], 1e-9, 1.0);
        assert_eq!((value, best), (-1.0, vec![1.0]));
    }
}
