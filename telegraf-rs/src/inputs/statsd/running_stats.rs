//! Telegraf's `RunningStats` for statsd timings: a shifted running mean and (population)
//! variance, sum, bounds, a bounded reservoir for percentiles and the latest values for the
//! median.

/// How many values are kept for percentiles (`percentile_limit`, 1000) and the median.
const MEDIAN_LIMIT: usize = 1000;

/// The statistics of one timing field.
#[derive(Debug, Clone)]
pub struct RunningStats {
    n: u64,
    k: f64,
    ex: f64,
    ex2: f64,
    sum: f64,
    lower: f64,
    upper: f64,
    perc: Vec<f64>,
    perc_limit: usize,
    med: Vec<f64>,
    sorted: bool,
}

impl RunningStats {
    /// No values yet; at most `perc_limit` kept for percentiles.
    pub fn new(perc_limit: usize) -> Self {
        RunningStats {
            n: 0,
            k: 0.0,
            ex: 0.0,
            ex2: 0.0,
            sum: 0.0,
            lower: 0.0,
            upper: 0.0,
            perc: Vec::new(),
            perc_limit: perc_limit.max(1),
            med: Vec::new(),
            sorted: true,
        }
    }

    /// Takes in one value.
    pub fn add(&mut self, v: f64) {
        self.sorted = false;
        if self.n == 0 {
            self.k = v;
            self.upper = v;
            self.lower = v;
        }
        self.n += 1;
        self.ex += v - self.k;
        self.ex2 += (v - self.k) * (v - self.k);
        self.sum += v;
        if v > self.upper {
            self.upper = v;
        } else if v < self.lower {
            self.lower = v;
        }
        if self.perc.len() < self.perc_limit {
            self.perc.push(v);
        } else {
            let at = rand::Rng::gen_range(&mut rand::thread_rng(), 0..self.perc.len());
            self.perc[at] = v;
        }
        if self.med.len() >= MEDIAN_LIMIT {
            self.med.clear();
        }
        self.med.push(v);
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.k + self.ex / self.n as f64
    }

    /// The population standard deviation.
    pub fn stddev(&self) -> f64 {
        let n = self.n as f64;
        ((self.ex2 - self.ex * self.ex / n) / n).max(0.0).sqrt()
    }

    /// The sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value.
    pub fn lower(&self) -> f64 {
        self.lower
    }

    /// The largest value.
    pub fn upper(&self) -> f64 {
        self.upper
    }

    /// The median of the latest values.
    pub fn median(&self) -> f64 {
        let mut values = self.med.clone();
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => 0.0,
            n if n % 2 == 0 => (values[n / 2 - 1] + values[n / 2]) / 2.0,
            n => values[n / 2],
        }
    }

    /// The `p`th percentile of the kept values (nearest rank below, as Telegraf).
    pub fn percentile(&mut self, p: f64) -> f64 {
        if self.perc.is_empty() {
            return 0.0;
        }
        if !self.sorted {
            self.perc.sort_by(f64::total_cmp);
            self.sorted = true;
        }
        let i = (self.perc.len() as f64 * p.min(100.0) / 100.0) as usize;
        self.perc[i.min(self.perc.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_one_to_ten() {
        let mut s = RunningStats::new(1000);
        for v in 1..=10 {
            s.add(f64::from(v));
        }
        assert_eq!(s.count(), 10);
        assert_eq!(s.mean(), 5.5);
        assert_eq!(s.sum(), 55.0);
        assert_eq!((s.lower(), s.upper()), (1.0, 10.0));
        assert!((s.stddev() - 2.8722813232690143).abs() < 1e-12);
        assert_eq!(s.median(), 5.5);
        assert_eq!(s.percentile(90.0), 10.0);
        assert_eq!(s.percentile(50.0), 6.0);
        assert_eq!(s.percentile(100.0), 10.0);
    }
}
