//! `holt_winters(agg, N, S)` and `holt_winters_with_fit(agg, N, S)`: forecasts of the
//! `GROUP BY time()` values of an aggregate by the damped Holt-Winters method, as InfluxDB
//! 1.6.7 computes them. The values go on a regular grid of the interval (missing windows left
//! out of the error), starting level, trend and seasons come from the first seasons,
//! Nelder-Mead ([`super::nelder_mead`]) fits the smoothing and damping parameters from each of
//! 16 starting guesses and the best fit wins, and the fitted recurrence runs on `N` intervals
//! past the last value. `S` is the season's length in intervals (below 2: no season).

use super::nelder_mead;

/// Weight of the first values in the starting level and trend without seasons.
const WEIGHT: f64 = 0.5;
/// When the optimizer stops.
const EPSILON: f64 = 1.0e-4;
/// Starting guesses of alpha, beta, gamma and phi: from `GUESS_LOWER` below `GUESS_UPPER` by
/// `GUESS_STEP` (0.3 and 0.7), every combination.
const GUESS_LOWER: f64 = 0.3;
const GUESS_UPPER: f64 = 1.0;
const GUESS_STEP: f64 = 0.4;

/// One `holt_winters` call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct HoltWinters {
    /// Intervals forecast (`N`).
    pub(super) horizon: usize,
    /// Intervals per season (`S`).
    pub(super) season: usize,
    /// `holt_winters_with_fit`: the fitted values at the data's own times too.
    pub(super) with_fit: bool,
}

impl HoltWinters {
    fn seasonal(&self) -> bool {
        self.season >= 2
    }

    /// The forecast (and fit) of `points` (time-ordered, one per window) on a grid of
    /// `interval` ns; none when there are too few points. Times count from the first and last
    /// points' own times.
    pub(super) fn forecast(&self, points: &[(i64, f64)], interval: i64) -> Vec<(i64, f64)> {
        let m = self.season;
        if points.len() < 2 || (self.seasonal() && points.len() < m) || self.horizon == 0 {
            return Vec::new();
        }
        let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
            return Vec::new();
        };
        if (round(last, interval) - round(first, interval)) / interval <= 0 {
            return Vec::new();
        }
        let y = grid(points, interval);
        if self.seasonal() && y.len() < m {
            return Vec::new();
        }
        let model = Model {
            y: &y,
            seasonal: self.seasonal(),
        };
        let mut params = model.starting_guess(m);
        let objective = |p: &mut [f64]| model.squared_error(p);
        let mut best: Option<(f64, Vec<f64>)> = None;
        let guesses = || {
            std::iter::successors(Some(GUESS_LOWER), |g| Some(g + GUESS_STEP))
                .take_while(|g| *g < GUESS_UPPER)
        };
        for alpha in guesses() {
            for beta in guesses() {
                for gamma in guesses() {
                    for phi in guesses() {
                        params[..4].copy_from_slice(&[alpha, beta, gamma, phi]);
                        let (sse, fitted) =
                            nelder_mead::minimize(&objective, &params, EPSILON, 1.0);
                        if best.as_ref().is_none_or(|(least, _)| sse < *least) {
                            best = Some((sse, fitted));
                        }
                    }
                }
            }
        }
        let Some((_, mut fitted)) = best else {
            return Vec::new();
        };
        let forecast = model.run(self.horizon, &mut fitted);
        let at = |(i, v): (usize, f64)| -> Option<(usize, f64)> { (!v.is_nan()).then_some((i, v)) };
        if self.with_fit {
            forecast
                .into_iter()
                .enumerate()
                .filter_map(at)
                .map(|(i, v)| (first + interval * i as i64, v))
                .collect()
        } else {
            forecast
                .into_iter()
                .skip(y.len())
                .enumerate()
                .filter_map(at)
                .map(|(i, v)| (last + interval * (i as i64 + 1), v))
                .collect()
        }
    }
}

/// `t` rounded to a multiple of `interval`, halves down, as 1.6.7 rounds.
fn round(t: i64, interval: i64) -> i64 {
    if t % interval > interval / 2 {
        (t / interval + 1) * interval
    } else {
        (t / interval) * interval
    }
}

/// The values on the grid of `interval` from the first point: a later point in an interval
/// already taken is dropped, and missing intervals are NaN.
fn grid(points: &[(i64, f64)], interval: i64) -> Vec<f64> {
    let mut y = vec![points[0].1];
    let mut t = round(points[0].0, interval);
    for &(time, value) in &points[1..] {
        let rounded = round(time, interval);
        if rounded <= t {
            continue;
        }
        t += interval;
        while rounded != t {
            y.push(f64::NAN);
            t += interval;
        }
        y.push(value);
    }
    y
}

/// The series being fitted.
struct Model<'a> {
    y: &'a [f64],
    seasonal: bool,
}

impl Model<'_> {
    /// alpha, beta, gamma and phi (set per guess), the starting level and trend, and the
    /// starting seasonal factors (the first season over its mean).
    fn starting_guess(&self, m: usize) -> Vec<f64> {
        let y = self.y;
        let mut level = 0.0;
        let mut trend = 0.0;
        let mut seasons = Vec::new();
        if self.seasonal {
            for &v in y.iter().take(m).filter(|v| !v.is_nan()) {
                level += (1.0 / m as f64) * v;
            }
            for i in 0..m {
                if let (Some(&a), Some(&b)) = (y.get(i), y.get(m + i)) {
                    if !a.is_nan() && !b.is_nan() {
                        trend += 1.0 / (m * m) as f64 * (b - a);
                    }
                }
            }
            seasons = y
                .iter()
                .take(m)
                .map(|&v| if v.is_nan() { 0.0 } else { v / level })
                .collect();
        } else {
            level += WEIGHT * y[0];
            if let Some(&second) = y.get(1).filter(|v| !v.is_nan()) {
                trend = WEIGHT * (second - y[0]);
            }
        }
        let mut params = vec![0.0, 0.0, 0.0, 0.0, level, trend];
        params.extend(seasons);
        params
    }

    /// Runs the recurrence from the first value over the data and `h` intervals past it; the
    /// value at every step. As in 1.6.7, `params` is changed on the way: alpha, beta, gamma
    /// and phi are clamped to [0, 1], and the seasonal factors serve as the ring of past
    /// factors and keep its last state (the optimizer then goes on from them).
    fn run(&self, h: usize, params: &mut [f64]) -> Vec<f64> {
        for p in params.iter_mut().take(4) {
            *p = p.clamp(0.0, 1.0);
        }
        let (alpha, beta, gamma, phi) = (params[0], params[1], params[2], params[3]);
        let mut level = params[4];
        let mut trend = params[5];
        let seasons = &mut params[6..];
        let m = seasons.len();
        let mut offset = m.saturating_sub(1);
        let mut y_t = self.y[0];
        let mut phi_h = phi;
        let steps = self.y.len() + h;
        let mut out = Vec::with_capacity(steps);
        out.push(y_t);
        for t in 1..steps {
            let (s_tm, s_tmh) = if self.seasonal {
                let hm = t % m;
                (
                    seasons[(t + offset - m) % m],
                    seasons[(t + offset + hm - m) % m],
                )
            } else {
                (1.0, 1.0)
            };
            let (l_prev, b_prev) = (level, trend);
            level = alpha * (y_t / s_tm) + (1.0 - alpha) * (l_prev + phi * b_prev);
            trend = beta * (level - l_prev) + (1.0 - beta) * phi * b_prev;
            let s_t = gamma * (y_t / (l_prev + phi * b_prev)) + (1.0 - gamma) * s_tm;
            y_t = (level + phi_h * trend) * s_tmh;
            phi_h += pow_int(phi, t);
            if self.seasonal {
                seasons[(t + offset) % m] = s_t;
                offset += 1;
            }
            out.push(y_t);
        }
        out
    }

    /// The squared error of the recurrence against the data, missing values skipped; infinite
    /// when the recurrence gives NaN where there is a value.
    fn squared_error(&self, params: &mut [f64]) -> f64 {
        let mut sse = 0.0;
        for (f, y) in self.run(0, params).iter().zip(self.y) {
            if !y.is_nan() {
                if f.is_nan() {
                    return f64::INFINITY;
                }
                let diff = f - y;
                sse += diff * diff;
            }
        }
        sse
    }
}

/// `x` to the power `n` by repeated squaring, multiplying in the same order as Go's
/// `math.Pow` does for whole exponents.
fn pow_int(x: f64, n: usize) -> f64 {
    if x == 1.0 {
        return 1.0;
    }
    let (mut result, mut square, mut bits) = (1.0, x, n);
    while bits != 0 {
        if bits & 1 == 1 {
            result *= square;
        }
        square *= square;
        bits >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &[(i64, f64)], want: &[(i64, f64)]) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((gt, gv), (wt, wv)) in got.iter().zip(want) {
            assert_eq!(gt, wt, "{got:?}");
            assert!((gv - wv).abs() < 1e-5, "{gv} vs {wv} in {got:?}");
        }
    }

    /// Quarterly Australian tourist nights (the `fpp` package's `austourists`), one a
    /// nanosecond, and the forecast InfluxDB 1.6 gives for it (its own test figures).
    #[test]
    fn seasonal_forecast_of_austourists() {
        let nights = [
            30.052513, 19.148496, 25.317692, 27.591437, 32.076456, 23.487961, 28.47594, 35.123753,
            36.838485, 25.007017, 30.72223, 28.693759, 36.640986, 23.824609, 29.311683, 31.770309,
            35.177877, 19.775244, 29.60175, 34.538842, 41.273599, 26.655862, 28.279859, 35.191153,
            41.727458, 24.04185, 32.328103, 37.328708, 46.213153, 29.346326, 36.48291, 42.977719,
            48.901525, 31.180221, 37.717881, 40.420211, 51.206863, 31.887228, 40.978263, 43.772491,
            55.558567, 33.850915, 42.076383, 45.642292, 59.76678, 35.191877, 44.319737, 47.913736,
        ];
        let points: Vec<(i64, f64)> = (1..).zip(nights).collect();
        let hw = HoltWinters {
            horizon: 10,
            season: 4,
            with_fit: false,
        };
        let want = [
            51.85064132137853,
            43.26055282315273,
            41.827258044814464,
            54.3990354591749,
            54.62334472770803,
            45.57155693625209,
            44.06051240252263,
            57.30029870759433,
            57.53591513519172,
            47.999008139396096,
        ];
        close(
            &hw.forecast(&points, 1),
            &(49..).zip(want).collect::<Vec<_>>(),
        );
    }

    /// US population by decade, with the fit: InfluxDB 1.6's figures.
    #[test]
    fn fit_and_forecast_of_us_population() {
        let population = [
            3.93, 5.31, 7.24, 9.64, 12.90, 17.10, 23.20, 31.40, 39.80, 50.20, 62.90, 76.00, 92.00,
            105.70, 122.80, 131.70, 151.30, 179.30, 203.20,
        ];
        let points: Vec<(i64, f64)> = (1..).zip(population).collect();
        let hw = HoltWinters {
            horizon: 10,
            season: 0,
            with_fit: true,
        };
        let got = hw.forecast(&points, 1);
        assert_eq!(got.len(), 29);
        close(
            &[got[0], got[1], got[18], got[28]],
            &[
                (1, 3.93),
                (2, 4.957405463559748),
                (19, 201.23106385518594),
                (29, 571.1721419458248),
            ],
        );
    }

    #[test]
    fn too_few_points_forecast_nothing() {
        let hw = HoltWinters {
            horizon: 3,
            season: 4,
            with_fit: false,
        };
        assert!(hw
            .forecast(&[(0, 1.0), (10, 2.0), (20, 3.0)], 10)
            .is_empty());
        assert!(hw.forecast(&[(0, 1.0)], 10).is_empty());
    }

    #[test]
    fn whole_powers_multiply_as_go_does() {
        assert_eq!(pow_int(0.5, 3), 0.125);
        assert_eq!(pow_int(0.0, 4), 0.0);
        assert_eq!(pow_int(1.0, 1000), 1.0);
        assert_eq!(pow_int(0.9, 0), 1.0);
    }
}
