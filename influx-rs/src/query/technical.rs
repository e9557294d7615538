//! The technical-analysis transformations of InfluxQL (`exponential_moving_average` and its
//! double and triple forms, `triple_exponential_derivative`, `relative_strength_index`,
//! `chande_momentum_oscillator`, `kaufmans_efficiency_ratio`,
//! `kaufmans_adaptive_moving_average`), computed step for step as InfluxDB 1.6.7 computes them
//! (with the `gota` library it vendors), so that answers agree to the last bit. Each shows its
//! values from the point after its first `hold` points; the default hold is the points the
//! algorithm needs to warm up.

use super::QueryError;
use influxql::Expr;

/// Which algorithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Indicator {
    /// `exponential_moving_average`.
    Ema,
    /// `double_exponential_moving_average`.
    Dema,
    /// `triple_exponential_moving_average`.
    Tema,
    /// `triple_exponential_derivative` (TRIX): the rate of change of a triple-smoothed EMA.
    Trix,
    /// `relative_strength_index`.
    Rsi,
    /// `chande_momentum_oscillator`.
    Cmo,
    /// `kaufmans_efficiency_ratio`.
    Ker,
    /// `kaufmans_adaptive_moving_average`.
    Kama,
}

/// How an algorithm starts, before it has seen `period` points (`warmup_type`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Warmup {
    /// `'none'`: weighs as if warmed from the first point.
    None,
    /// `'simple'`: plain means of the points so far.
    Simple,
    /// `'exponential'`: an EMA whose period grows with the points seen.
    Exponential,
}

/// One technical-analysis call: its algorithm and arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Technical {
    pub(super) indicator: Indicator,
    pub(super) period: usize,
    /// Points computed but not shown at the start.
    pub(super) hold: usize,
    pub(super) warmup: Warmup,
}

impl Technical {
    /// Reads `name(inner, period[, hold_period[, warmup_type]])` with InfluxDB's checks and
    /// words; `None` when `name` is no technical-analysis function.
    pub(super) fn parse(name: &str, args: &[Expr]) -> Result<Option<Technical>, QueryError> {
        let indicator = match name {
            "exponential_moving_average" => Indicator::Ema,
            "double_exponential_moving_average" => Indicator::Dema,
            "triple_exponential_moving_average" => Indicator::Tema,
            "triple_exponential_derivative" => Indicator::Trix,
            "relative_strength_index" => Indicator::Rsi,
            "chande_momentum_oscillator" => Indicator::Cmo,
            "kaufmans_efficiency_ratio" => Indicator::Ker,
            "kaufmans_adaptive_moving_average" => Indicator::Kama,
            _ => return Ok(None),
        };
        let invalid = |m: String| Err(QueryError::Invalid(m));
        let kaufman = matches!(indicator, Indicator::Ker | Indicator::Kama);
        let most = if kaufman { 3 } else { 4 };
        if !(2..=most).contains(&args.len()) {
            return invalid(format!(
                "invalid number of arguments for {name}, expected at least 2 but no more than {most}, got {}",
                args.len()
            ));
        }
        let period = match &args[1] {
            Expr::Integer(n) if *n >= 1 => usize::try_from(*n).unwrap_or(usize::MAX),
            Expr::Integer(_) => {
                return invalid(format!("{name} period must be greater than or equal to 1"))
            }
            _ => return invalid(format!("{name} period must be an integer")),
        };
        let hold = match args.get(2) {
            None | Some(Expr::Integer(-1)) => None,
            Some(Expr::Integer(h)) if *h >= 0 => Some(usize::try_from(*h).unwrap_or(usize::MAX)),
            Some(Expr::Integer(_)) => {
                return invalid(format!(
                    "{name} hold period must be greater than or equal to 0"
                ))
            }
            Some(_) => return invalid(format!("{name} hold period must be an integer")),
        };
        let warmup = match (indicator, args.get(3)) {
            (Indicator::Cmo, None) => Warmup::None,
            (_, None) => Warmup::Exponential,
            (_, Some(Expr::Str(w))) if w == "exponential" => Warmup::Exponential,
            (_, Some(Expr::Str(w))) if w == "simple" => Warmup::Simple,
            (Indicator::Cmo, Some(Expr::Str(w))) if w == "none" => Warmup::None,
            (Indicator::Cmo, Some(_)) => {
                return invalid(format!(
                    "{name} warmup type must be one of: 'none' 'exponential' 'simple'"
                ))
            }
            (_, Some(_)) => {
                return invalid(format!(
                    "{name} warmup type must be one of: 'exponential' 'simple'"
                ))
            }
        };
        let mut call = Technical {
            indicator,
            period,
            hold: 0,
            warmup,
        };
        call.hold = hold.unwrap_or_else(|| call.warm_count());
        // TRIX's first rate is against nothing.
        if indicator == Indicator::Trix && call.hold == 0 {
            return invalid(format!(
                "{name} hold period must be greater than or equal to 1"
            ));
        }
        Ok(Some(call))
    }

    /// The points the algorithm needs before its results are accurate: the default hold.
    fn warm_count(&self) -> usize {
        let p = self.period;
        let simple = self.warmup == Warmup::Simple;
        match self.indicator {
            Indicator::Ema => p - 1,
            Indicator::Dema if simple => 2 * (p - 1),
            Indicator::Tema if simple => 3 * (p - 1),
            Indicator::Dema | Indicator::Tema => p - 1,
            Indicator::Trix if simple => 3 * (p - 1) + 1,
            Indicator::Cmo if self.warmup == Warmup::None => p - 1,
            Indicator::Trix
            | Indicator::Rsi
            | Indicator::Cmo
            | Indicator::Ker
            | Indicator::Kama => p,
        }
    }

    /// The algorithm's output at each of `values` (the hold not yet applied).
    pub(super) fn outputs(&self, values: impl Iterator<Item = f64>) -> Vec<f64> {
        let mut state = State::new(self);
        values.map(|v| state.add(v)).collect()
    }
}

/// An exponential moving average as 1.6.7's `gota` computes it: weighing by `alpha`
/// (2/(period+1), or 1/period for Wilder's smoothing) once warmed; before, by the plain mean
/// (`'simple'`) or by 2/(n+1) after n points (`'exponential'`, whatever `alpha` is).
#[derive(Debug, Clone, Copy)]
struct Ema {
    period: usize,
    alpha: f64,
    count: usize,
    last: f64,
    warmup: Warmup,
}

impl Ema {
    fn new(period: usize, warmup: Warmup) -> Ema {
        Ema {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            count: 0,
            last: 0.0,
            warmup,
        }
    }

    /// Wilder's smoothing as the RSI and the smoothed CMO of 1.6.7 use it: weighing by
    /// 1/period, warmed after period + 1 points.
    fn wilder(period: usize, warmup: Warmup) -> Ema {
        Ema {
            alpha: 1.0 / period as f64,
            ..Ema::new(period + 1, warmup)
        }
    }

    fn warmed(&self) -> bool {
        self.count == self.period
    }

    fn add(&mut self, v: f64) -> f64 {
        let last = self.last;
        self.last = if self.count == 0 {
            v
        } else if self.warmed() || self.warmup == Warmup::None {
            (v - last) * self.alpha + last
        } else if self.warmup == Warmup::Simple {
            (last * self.count as f64 + v) / (self.count + 1) as f64
        } else {
            // The alpha of an EMA over the points seen so far.
            let alpha = 2.0 / (self.count + 2) as f64;
            (v - last) * alpha + last
        };
        if self.count < self.period {
            self.count += 1;
        }
        self.last
    }
}

/// Up to three EMAs chained: each later one starts when the one before is warmed (at once
/// with the exponential warmup), taking its output; until then the output passes unsmoothed.
#[derive(Debug, Clone)]
struct Chain {
    emas: [Ema; 3],
}

impl Chain {
    fn new(period: usize, warmup: Warmup) -> Chain {
        Chain {
            emas: [Ema::new(period, warmup); 3],
        }
    }

    /// The outputs of the first `order` stages for `v`.
    fn add(&mut self, v: f64, order: usize) -> [f64; 3] {
        let mut out = [0.0; 3];
        let mut cur = v;
        for i in 0..order.min(3) {
            let starts = i == 0
                || self.emas[i - 1].warmed()
                || self.emas[i - 1].warmup == Warmup::Exponential;
            if starts {
                cur = self.emas[i].add(cur);
            }
            out[i] = cur;
            if !starts {
                // Later stages wait for this one too.
                out[i..].fill(cur);
                break;
            }
        }
        out
    }
}

/// The running state of one algorithm.
#[derive(Debug, Clone)]
enum State {
    Ema(Chain, usize),
    Trix {
        chain: Chain,
        last: f64,
    },
    /// RSI, and CMO smoothed as ta-lib does (any warmup but `'none'`): Wilder-smoothed gains
    /// and losses, the first against 0 (as in 1.6.7).
    Gains {
        up: Ema,
        down: Ema,
        last: f64,
        rsi: bool,
    },
    Cmo(Cmo),
    Ker(Ker),
    Kama {
        ker: Ker,
        last: f64,
    },
}

impl State {
    fn new(call: &Technical) -> State {
        let (p, warmup) = (call.period, call.warmup);
        match call.indicator {
            Indicator::Ema => State::Ema(Chain::new(p, warmup), 1),
            Indicator::Dema => State::Ema(Chain::new(p, warmup), 2),
            Indicator::Tema => State::Ema(Chain::new(p, warmup), 3),
            Indicator::Trix => State::Trix {
                chain: Chain::new(p, warmup),
                last: 0.0,
            },
            Indicator::Rsi => State::Gains {
                up: Ema::wilder(p, warmup),
                down: Ema::wilder(p, warmup),
                last: 0.0,
                rsi: true,
            },
            Indicator::Cmo if warmup != Warmup::None => State::Gains {
                up: Ema::wilder(p, warmup),
                down: Ema::wilder(p, warmup),
                last: 0.0,
                rsi: false,
            },
            Indicator::Cmo => State::Cmo(Cmo::new(p.saturating_sub(1))),
            Indicator::Ker => State::Ker(Ker::new(p)),
            Indicator::Kama => State::Kama {
                ker: Ker::new(p),
                last: 0.0,
            },
        }
    }

    fn add(&mut self, v: f64) -> f64 {
        match self {
            State::Ema(chain, order) => {
                let [a, b, c] = chain.add(v, *order);
                match order {
                    1 => a,
                    2 => 2.0 * a - b,
                    _ => 3.0 * a - 3.0 * b + c,
                }
            }
            State::Trix { chain, last } => {
                let cur = chain.add(v, 3)[2];
                let rate = ((cur / *last) - 1.0) * 100.0;
                *last = cur;
                rate
            }
            State::Gains {
                up,
                down,
                last,
                rsi,
            } => {
                let previous = std::mem::replace(last, v);
                up.add(if v > previous { v - previous } else { 0.0 });
                down.add(if v < previous { previous - v } else { 0.0 });
                let (u, d) = (up.last, down.last);
                if *rsi {
                    100.0 - (100.0 / (1.0 + u / d))
                } else if u != 0.0 || d != 0.0 {
                    100.0 * ((u - d) / (u + d))
                } else {
                    0.0
                }
            }
            State::Cmo(cmo) => cmo.add(v),
            State::Ker(ker) => ker.add(v),
            State::Kama { ker, last } => {
                if !ker.warmed() {
                    // Starts from the value before.
                    *last = ker.newest_price();
                }
                let er = ker.add(v);
                let (fast, slow) = (2.0 / (2.0 + 1.0), 2.0 / (30.0 + 1.0));
                let sc = er * (fast - slow) + slow;
                *last += sc * sc * (v - *last);
                *last
            }
        }
    }
}

/// The plain Chande momentum oscillator: sums of the gains and losses of the last points, in
/// a ring of `period - 1` (price, change) slots.
#[derive(Debug, Clone)]
struct Cmo {
    points: Vec<(f64, f64)>,
    up: f64,
    down: f64,
    count: usize,
    newest: usize,
}

impl Cmo {
    fn new(slots: usize) -> Cmo {
        Cmo {
            points: vec![(0.0, 0.0); slots],
            up: 0.0,
            down: 0.0,
            count: 0,
            newest: 0,
        }
    }

    fn add(&mut self, v: f64) -> f64 {
        let n = self.points.len();
        if n == 0 {
            return 0.0;
        }
        let oldest = if self.newest + 1 == n {
            0
        } else {
            self.newest + 1
        };
        let mut diff = 0.0;
        if self.count != 0 {
            diff = v - self.points[self.newest].0;
            if diff > 0.0 {
                self.up += diff;
            } else if diff < 0.0 {
                self.down -= diff;
            }
        }
        let out = if self.up != 0.0 || self.down != 0.0 {
            100.0 * ((self.up - self.down) / (self.up + self.down))
        } else {
            0.0
        };
        let (_, dropped) = self.points[oldest];
        if dropped > 0.0 {
            self.up -= dropped;
        } else if dropped < 0.0 {
            self.down += dropped;
        }
        self.points[oldest] = (v, diff);
        self.newest = oldest;
        if self.count < n + 2 {
            self.count += 1;
        }
        out
    }
}

/// Kaufman's efficiency ratio: the net change over the last `period` points divided by the sum
/// of their absolute changes, in a ring of (price, change) slots.
#[derive(Debug, Clone)]
struct Ker {
    points: Vec<(f64, f64)>,
    noise: f64,
    count: usize,
    newest: usize,
}

impl Ker {
    fn new(period: usize) -> Ker {
        Ker {
            points: vec![(0.0, 0.0); period.max(1)],
            noise: 0.0,
            count: 0,
            newest: 0,
        }
    }

    fn warmed(&self) -> bool {
        self.count == self.points.len() + 1
    }

    fn newest_price(&self) -> f64 {
        self.points[self.newest].0
    }

    fn add(&mut self, v: f64) -> f64 {
        let n = self.points.len();
        let oldest = if self.newest + 1 >= n {
            0
        } else {
            self.newest + 1
        };
        let signal = (v - self.points[oldest].0).abs();
        let change = (v - self.points[self.newest].0).abs();
        self.noise -= self.points[oldest].1;
        self.noise += change;
        self.newest = oldest;
        self.points[oldest] = (v, change);
        if !self.warmed() {
            self.count += 1;
        }
        if signal == 0.0 || self.noise == 0.0 {
            0.0
        } else {
            signal / self.noise
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(indicator: Indicator, period: usize, warmup: Warmup) -> Technical {
        Technical {
            indicator,
            period,
            hold: 0,
            warmup,
        }
    }

    #[test]
    fn exponential_moving_averages_follow_influxdb_1_6_7() {
        // InfluxDB 1.6.7's answers to `…_moving_average(v, 3, 0)` over 1, 4, 2, 8, and with
        // `'simple'` to `(v, 3, 1, 'simple')` (the first value is the first point's own).
        let values = [1.0, 4.0, 2.0, 8.0];
        let close = |got: Vec<f64>, want: &[f64]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
            }
        };
        let ema = |order: usize, simple| {
            let indicator = [Indicator::Ema, Indicator::Dema, Indicator::Tema][order - 1];
            let warmup = if simple {
                Warmup::Simple
            } else {
                Warmup::Exponential
            };
            call(indicator, 3, warmup).outputs(values.into_iter())
        };
        close(ema(1, false), &[1.0, 3.0, 2.5, 5.25]);
        close(
            ema(2, false),
            &[
                1.0,
                3.666666666666667,
                2.5833333333333335,
                6.666666666666667,
            ],
        );
        close(
            ema(3, false),
            &[
                1.0,
                3.8888888888888893,
                2.4027777777777777,
                7.243055555555555,
            ],
        );
        close(
            ema(1, true),
            &[1.0, 2.5, 2.3333333333333335, 5.166666666666666],
        );
        close(
            ema(2, true),
            &[1.0, 2.5, 2.3333333333333335, 6.583333333333332],
        );
        close(
            ema(3, true),
            &[1.0, 2.5, 2.3333333333333335, 7.999999999999998],
        );
    }

    #[test]
    fn efficiency_ratio_of_a_turn() {
        // gota's own example: after warming up, 1 for a straight run, 1/3 after it turns.
        let out = call(Indicator::Ker, 3, Warmup::Exponential)
            .outputs([20.0, 21.0, 22.0, 23.0, 22.0, 21.0].into_iter());
        assert_eq!(out[3..], [1.0, 1.0 / 3.0, 1.0 / 3.0]);
    }

    #[test]
    fn rsi_is_100_when_prices_only_rise_and_cmo_balances_gains_and_losses() {
        // The first point is a gain from 0, as in 1.6.7.
        let rising = call(Indicator::Rsi, 3, Warmup::Exponential).outputs((1..8).map(f64::from));
        assert!(rising.iter().all(|&v| v == 100.0), "{rising:?}");
        let zigzag = [1.0, 2.0, 1.0, 2.0, 1.0];
        let cmo = call(Indicator::Cmo, 3, Warmup::None).outputs(zigzag.into_iter());
        // gota adds the newest change before it drops the oldest of its two slots: the sums
        // span three changes when the output is taken.
        let third = 100.0 * (1.0 / 3.0);
        assert_eq!(cmo, [0.0, 100.0, 0.0, third, -third]);
    }

    #[test]
    fn ema_of_a_constant_is_the_constant_whatever_the_warmup() {
        for indicator in [
            Indicator::Ema,
            Indicator::Dema,
            Indicator::Tema,
            Indicator::Kama,
        ] {
            for warmup in [Warmup::Simple, Warmup::Exponential] {
                let out = call(indicator, 4, warmup).outputs(std::iter::repeat_n(5.0, 12));
                assert!(out[4..].iter().all(|&v| v == 5.0), "{indicator:?}: {out:?}");
            }
        }
    }

    #[test]
    fn default_holds_are_the_warm_counts() -> Result<(), QueryError> {
        let hold = |name: &str, warmup: &str| -> Result<usize, QueryError> {
            let args = [
                Expr::VarRef("v".into()),
                Expr::Integer(5),
                Expr::Integer(-1),
                Expr::Str(warmup.into()),
            ];
            let args = if warmup.is_empty() {
                &args[..2]
            } else {
                &args[..]
            };
            Ok(Technical::parse(name, args)?.map_or(0, |t| t.hold))
        };
        assert_eq!(hold("double_exponential_moving_average", "simple")?, 8);
        assert_eq!(hold("triple_exponential_moving_average", "exponential")?, 4);
        assert_eq!(hold("triple_exponential_derivative", "simple")?, 13);
        assert_eq!(hold("chande_momentum_oscillator", "")?, 4);
        assert_eq!(hold("chande_momentum_oscillator", "simple")?, 5);
        assert_eq!(hold("kaufmans_efficiency_ratio", "")?, 5);
        Ok(())
    }
}
