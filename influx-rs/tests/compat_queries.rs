//! InfluxQL against the reference server: every query of `QUERIES` runs on InfluxDB 1.6.7 and
//! on influx-rs over the same dataset (`common::query_dataset`), in JSON (two epochs), CSV and
//! chunked answers, and the answers must match.

mod common;

use common::query_dataset::load_query_dataset;
use common::reference::{pair_or_skip, post};

/// Queries over the dataset, every `GROUP BY time` bounded so `now()` plays no part.
const QUERIES: &[&str] = &[
    // `name::type`: casts, a field or a tag of one key, in every clause.
    "SELECT usage::float, usage::integer, usage::unsigned, idle::float FROM dup",
    "SELECT usage::string FROM dup",
    "SELECT usage::boolean, msg::float FROM dup",
    "SELECT msg::string, flag::boolean FROM dup",
    "SELECT core FROM dup",
    "SELECT core::field FROM dup",
    "SELECT core::tag FROM dup",
    "SELECT core::tag, usage FROM dup",
    "SELECT core::field, core::tag FROM dup",
    "SELECT host::tag, usage::field FROM dup",
    "SELECT host::field FROM dup",
    "SELECT *::field FROM dup",
    "SELECT *::tag FROM dup",
    "SELECT *::tag, usage::integer FROM dup GROUP BY host",
    "SELECT *::field FROM dup, mem WHERE time < '2020-01-01T00:00:20Z'",
    "SELECT usage FROM dup WHERE host::tag = 'a'",
    "SELECT usage FROM dup WHERE core::tag = 'c1'",
    "SELECT usage FROM dup WHERE core::tag = ''",
    "SELECT usage FROM dup WHERE core::field = 2",
    "SELECT usage FROM dup WHERE core = 2",
    "SELECT usage FROM dup WHERE core = 'c1'",
    "SELECT usage FROM dup WHERE usage::integer = 1",
    "SELECT usage FROM dup WHERE host::field = 'a'",
    "SELECT usage FROM dup GROUP BY core::tag",
    "SELECT count(usage) FROM dup GROUP BY host::tag",
    "SELECT usage::float + idle::float, usage::integer * 2 AS twice FROM dup",
    "SELECT usage::float AS u, \"usage\"::integer FROM dup",
    "SELECT mean(usage::float), mean(idle::integer), mean(idle::float) FROM dup",
    "SELECT sum(usage::integer), max(usage::integer), min(usage::integer) FROM dup",
    "SELECT sum(usage::unsigned), count(msg::float), count(usage::integer) FROM dup",
    "SELECT first(msg::string), last(msg::string), mean(host::tag) FROM dup",
    "SELECT mean(usage::integer) FROM dup WHERE time < '2020-01-01T00:00:10Z' GROUP BY time(2s)",
    "SELECT derivative(usage::integer) FROM dup",
    "SELECT derivative(mean(usage::integer), 1s) FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:10Z' GROUP BY time(1s)",
    "SELECT mean(usage::float) FROM dup GROUP BY host",
    "SELECT mean(*::field), mean(*), max(*), count(*) FROM dup",
    // Columns `f(*)` makes count as aliases: kept even where two are equal.
    "SELECT mean(*) AS a, mean(usage) AS a_usage FROM dup",
    "SELECT mean(usage), mean(*) FROM dup",
    "SELECT max(v), min(v) FROM bm",
    "SELECT max(v) FROM bm GROUP BY h",
    // Aggregates beside transformations, with and without GROUP BY time(): the rows of both.
    "SELECT mean(usage), elapsed(usage) FROM dup",
    "SELECT derivative(usage), max(usage) FROM dup",
    "SELECT mean(usage) * 2 + elapsed(usage) FROM dup",
    "SELECT mean(usage), derivative(mean(usage), 1s) FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:05Z' GROUP BY time(1s)",
    "SELECT mean(usage) - elapsed(mean(usage), 1s) FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:05Z' GROUP BY time(1s) fill(previous)",
    "SELECT derivative(mean(usage), 1s) FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:05Z' GROUP BY time(1s)",
    "SELECT mean(usage), derivative(usage) FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:05Z' GROUP BY time(1s)",
    // A duration in arithmetic is no number: null.
    "SELECT usage + 5ms FROM dup",
    // A subquery that aggregated its whole range hands a raw outer query its rows series by
    // series (each at its selector's time), not merged by time.
    "SELECT m FROM (SELECT max(usage) AS m FROM dup GROUP BY host)",
    "SELECT m, host FROM (SELECT max(usage) AS m FROM dup GROUP BY host) WHERE m > 0",
    "SELECT m FROM (SELECT last(usage) AS m FROM dup GROUP BY host, region)",
    "SELECT m FROM (SELECT max(usage) AS m FROM dup WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:00:05Z' GROUP BY time(2s), host)",
    "SELECT u FROM (SELECT usage AS u FROM dup GROUP BY host)",
    // A measurement named twice in FROM is read twice, into one series.
    "SELECT usage FROM dup, /d.p/",
    "SELECT count(usage), max(usage), mean(usage) FROM dup, dup",
    "SELECT * FROM dup, /d.p/ WHERE host = 'a'",
    "SELECT top(usage, 3) FROM dup, dup",
    "SELECT count(usage) FROM dup, mem, /^(dup|mem)$/",
    "SELECT time FROM dup",
    "SELECT time::float FROM dup",
    "SELECT usage::bogus FROM dup",
    "SELECT *::integer FROM dup",
    "SELECT usage ::float FROM dup",
    "SELECT usage:: float FROM dup",
    "SELECT * FROM cpu WHERE time >= '2020-01-01T00:10:00Z' AND time < '2020-01-01T00:11:00Z'",
    "SELECT usage, host FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:01:00Z'",
    // One series only: 1.6.7 orders rows of equal time from different series as its merge heap
    // happens to pop them, which is no defined order.
    "SELECT usage FROM cpu WHERE usage > 90 AND region = 'us'",
    "SELECT usage FROM cpu WHERE host =~ /^[ab]$/ AND time > '2020-01-01T00:29:00Z'",
    "SELECT usage FROM cpu WHERE host !~ /a/ AND count < 3 LIMIT 5",
    // Raw selects grouped by tags: one series per tag group, LIMIT per series.
    "SELECT usage FROM cpu WHERE time < '2020-01-01T00:01:00Z' GROUP BY host",
    "SELECT usage, count FROM cpu WHERE time < '2020-01-01T00:00:30Z' GROUP BY *",
    "SELECT * FROM cpu WHERE time < '2020-01-01T00:00:30Z' GROUP BY host",
    "SELECT * FROM cpu WHERE time < '2020-01-01T00:00:30Z' GROUP BY *",
    "SELECT usage FROM cpu WHERE time < '2020-01-01T00:02:00Z' GROUP BY region LIMIT 2 OFFSET 1",
    // SLIMIT/SOFFSET pick among the groups of series the tags let through, before any field
    // condition: groups without a row that passes take their place and show nothing.
    "SELECT usage FROM cpu WHERE time < '2020-01-01T00:01:00Z' GROUP BY host SLIMIT 2 SOFFSET 1",
    "SELECT usage FROM cpu WHERE usage > 90 GROUP BY host SLIMIT 1",
    "SELECT usage FROM cpu WHERE usage > 90 GROUP BY host SLIMIT 2 SOFFSET 1",
    "SELECT max(usage) FROM cpu WHERE usage > 90 GROUP BY host SLIMIT 1 SOFFSET 1",
    "SELECT max(usage), count FROM cpu WHERE usage > 90 GROUP BY host SLIMIT 1",
    "SELECT usage FROM cpu WHERE host != 'a' GROUP BY host SLIMIT 1",
    // ORDER BY time DESC reverses the series too, after SLIMIT has picked them.
    "SELECT usage FROM cpu WHERE time < '2020-01-01T00:00:30Z' GROUP BY host ORDER BY time DESC",
    "SELECT usage FROM cpu WHERE time < '2020-01-01T00:00:30Z' GROUP BY host ORDER BY time DESC SLIMIT 2",
    "SELECT max(usage) FROM cpu WHERE time < '2020-01-01T00:05:00Z' GROUP BY time(1m), host ORDER BY time DESC SLIMIT 2 SOFFSET 1",
    "SELECT max(usage), count FROM cpu WHERE time < '2020-01-01T00:05:00Z' GROUP BY host ORDER BY time DESC",
    "SELECT usage FROM cpu GROUP BY time(1m)",
    // Arithmetic in the select list, as Chronograf's canned layouts write it.
    "SELECT 100 - mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(1m)",
    "SELECT mean(usage) / 2 AS half, max(count) * 3 FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:05:00Z' GROUP BY time(1m)",
    "SELECT usage * 2, usage + count, count / 2 FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:01:00Z'",
    "SELECT (usage + 1) / (count - count) FROM cpu WHERE host = 'b' AND time < '2020-01-01T00:01:00Z'",
    "SELECT count % 5, count - 3, -1 * count FROM cpu WHERE host = 'c' AND time < '2020-01-01T00:01:00Z'",
    "SELECT non_negative_derivative(max(count), 1s) / 125000 AS rate FROM cpu WHERE host = 'a' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(1m)",
    "SELECT mean(usage) + usage FROM cpu",
    "SELECT mean(used) / 1073741824 AS used, mean(free) * 1 AS free FROM mem WHERE time < '2020-01-01T00:30:00Z' GROUP BY time(10m)",
    "SELECT usage FROM cpu WHERE host = 'c' ORDER BY time DESC LIMIT 3 OFFSET 2",
    "SELECT count(usage) FROM cpu",
    "SELECT count(usage), sum(count), mean(usage), min(usage), max(count), first(usage), last(count), spread(usage), stddev(usage), median(usage) FROM cpu",
    "SELECT max(usage) FROM cpu",
    "SELECT min(count) FROM cpu",
    "SELECT first(usage) FROM cpu",
    "SELECT last(usage) FROM cpu GROUP BY host",
    "SELECT max(usage), min(usage) FROM cpu",
    "SELECT last(*) FROM cpu GROUP BY host",
    // last() over time and tags only is answered from the last-value cache.
    "SELECT last(usage), last(count) FROM cpu WHERE region = 'eu' AND time < '2020-01-01T00:15:00Z'",
    "SELECT last(ok) FROM cpu WHERE time >= '2020-01-01T00:10:00Z' AND time < '2020-01-01T00:10:30Z' GROUP BY *",
    "SELECT last(usage) FROM cpu WHERE host = 'b' AND count > 10 AND time < '2020-01-01T00:20:00Z'",
    "SELECT last(usage) * 2 FROM cpu WHERE host =~ /a|c/ GROUP BY region",
    // Exponential moving averages (InfluxDB's gota library), raw and over aggregates.
    "SELECT exponential_moving_average(usage, 3) FROM cpu WHERE host = 'a'",
    "SELECT double_exponential_moving_average(count, 4, 0) FROM cpu WHERE host = 'b'",
    "SELECT triple_exponential_moving_average(usage, 2, 1, 'simple') FROM cpu WHERE host = 'a'",
    "SELECT exponential_moving_average(usage, 3, -1, 'simple'), double_exponential_moving_average(usage, 3, 2, 'simple') FROM cpu WHERE host = 'c'",
    "SELECT triple_exponential_moving_average(usage, 4, 5, 'simple') FROM cpu GROUP BY host",
    "SELECT exponential_moving_average(mean(usage), 2) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m)",
    "SELECT triple_exponential_moving_average(max(count), 3, 0) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:40:00Z' GROUP BY time(5m), host",
    "SELECT exponential_moving_average(usage, 0) FROM cpu",
    "SELECT exponential_moving_average(usage) FROM cpu",
    "SELECT exponential_moving_average(usage, 2, -2) FROM cpu",
    "SELECT exponential_moving_average(usage, 2, 1, 'none') FROM cpu",
    "SELECT exponential_moving_average(usage, 2.5) FROM cpu",
    // The other technical-analysis functions: 1.6.7's gota algorithms, default holds and
    // warmups, over raw points and over aggregates, and their argument errors.
    "SELECT relative_strength_index(usage, 4) FROM cpu WHERE host = 'a'",
    "SELECT relative_strength_index(usage, 3, 0, 'simple') FROM cpu WHERE host = 'b'",
    "SELECT chande_momentum_oscillator(usage, 4) FROM cpu WHERE host = 'a'",
    "SELECT chande_momentum_oscillator(usage, 3, 1, 'simple'), chande_momentum_oscillator(usage, 3, 1, 'exponential') FROM cpu WHERE host = 'c'",
    "SELECT chande_momentum_oscillator(count, 5, 0, 'none') FROM cpu GROUP BY host",
    "SELECT kaufmans_efficiency_ratio(usage, 3) FROM cpu WHERE host = 'a'",
    "SELECT kaufmans_efficiency_ratio(count, 4, 0) FROM cpu WHERE host = 'b'",
    "SELECT kaufmans_adaptive_moving_average(usage, 3) FROM cpu WHERE host = 'a'",
    "SELECT kaufmans_adaptive_moving_average(usage, 5, 0) FROM cpu GROUP BY host",
    "SELECT triple_exponential_derivative(usage, 3) FROM cpu WHERE host = 'a'",
    "SELECT triple_exponential_derivative(usage, 2, -1, 'simple') FROM cpu WHERE host = 'c'",
    "SELECT double_exponential_moving_average(usage, 3, -1, 'simple'), triple_exponential_moving_average(usage, 3, -1, 'simple') FROM cpu WHERE host = 'b'",
    "SELECT relative_strength_index(mean(usage), 3) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(2m)",
    "SELECT kaufmans_adaptive_moving_average(max(usage), 2), chande_momentum_oscillator(max(usage), 2) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(3m), host",
    "SELECT triple_exponential_derivative(sum(count), 2, 1), kaufmans_efficiency_ratio(sum(count), 2) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(4m)",
    "SELECT relative_strength_index(usage, 2, 1, 'none') FROM cpu",
    "SELECT chande_momentum_oscillator(usage, 2, 1, 'bogus') FROM cpu",
    "SELECT kaufmans_efficiency_ratio(usage, 2, 1, 'simple') FROM cpu",
    "SELECT triple_exponential_derivative(usage) FROM cpu",
    "SELECT triple_exponential_derivative(usage, 2, 0) FROM cpu",
    "SELECT relative_strength_index(usage, 2, 0), kaufmans_efficiency_ratio(usage, 1, 0) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:02:00Z'",
    "SELECT kaufmans_adaptive_moving_average(usage, 0) FROM cpu",
    "SELECT relative_strength_index(usage, 2, -3) FROM cpu",
    "SELECT chande_momentum_oscillator(usage, 'x') FROM cpu",
    "SELECT relative_strength_index(3, 2) FROM cpu",
    "SELECT exponential_moving_average(3, 2) FROM cpu",
    // Holt-Winters forecasts (1.6.7's Nelder-Mead fit, step for step), seasonal or not, with
    // and without the fit, beside other calls, with offsets, and their argument errors.
    "SELECT holt_winters(mean(usage), 3, 0) FROM cpu WHERE host = 'a' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(2m)",
    "SELECT holt_winters_with_fit(max(usage), 2, 3) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m), host",
    "SELECT holt_winters(sum(count), 4, 2), sum(count) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(3m)",
    "SELECT holt_winters(first(usage), 2, 4) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(2m, 30s)",
    "SELECT holt_winters_with_fit(mean(usage), 5, 6) FROM cpu WHERE host = 'c' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m)",
    "SELECT holt_winters(usage, 1, 1) FROM cpu",
    "SELECT holt_winters(mean(usage), 1, 1) FROM cpu",
    "SELECT holt_winters(mean(usage), 0, 1) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m)",
    "SELECT holt_winters_with_fit(mean(usage), 1) FROM cpu",
    "SELECT holt_winters(mean(usage), 2, -1) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m)",
    "SELECT holt_winters(mean(usage), 2, 'x') FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m)",
    // One-point selectors with fields and tags beside them.
    "SELECT max(usage), count, host FROM cpu",
    "SELECT min(usage), count FROM cpu GROUP BY host",
    "SELECT max(usage), count, region FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:40:00Z' GROUP BY time(5m)",
    "SELECT last(count), usage FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:40:00Z' GROUP BY time(7m), host fill(none)",
    "SELECT first(usage), count FROM cpu WHERE time >= '2019-12-31T23:50:00Z' AND time < '2020-01-01T00:20:00Z' GROUP BY time(5m) fill(previous)",
    "SELECT last(usage), count FROM cpu WHERE time >= '2019-12-31T23:50:00Z' AND time < '2020-01-01T00:20:00Z' GROUP BY time(5m) fill(-1)",
    "SELECT first(usage), * FROM cpu WHERE host = 'a'",
    // (Of equal values, 1.6.7 picks the one an unstable sort leaves at the rank.)
    "SELECT percentile(usage, 75), count FROM cpu WHERE host = 'b'",
    "SELECT max(usage), count FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m) ORDER BY time DESC LIMIT 2",
    // Aggregates over rows a field condition picks, folded row by row.
    "SELECT count(usage), mean(usage), max(count), stddev(usage), spread(count) FROM cpu WHERE count > 10 AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m)",
    "SELECT mode(ok), count(distinct(count)), first(usage), last(usage) FROM cpu WHERE usage < 60 GROUP BY host",
    "SELECT min(usage), sum(count) FROM cpu WHERE ok = true OR usage > 70 GROUP BY region",
    "SELECT count(*) FROM cpu",
    "SELECT max(*) FROM mem WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m)",
    "SELECT mean(usage), mean(usage) FROM cpu",
    "SELECT mean(usage) AS avg, max(usage) AS top FROM cpu GROUP BY region",
    // mode() over a field with a unique mode: 1.6.7 breaks ties by the order of an unstable sort.
    "SELECT mode(ok), percentile(usage, 90), percentile(count, 50) FROM cpu GROUP BY host",
    "SELECT sum(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m)",
    "SELECT mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m), host",
    "SELECT max(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(7m)",
    "SELECT max(usage) FROM cpu WHERE time >= '2020-01-01T00:03:20Z' AND time < '2020-01-01T00:20:00Z' GROUP BY time(1m) LIMIT 4",
    "SELECT count(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m, 1m)",
    "SELECT count(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(none)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(0)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(-1.5)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(previous)",
    "SELECT mean(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(linear)",
    "SELECT mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m), * ",
    "SELECT mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m) ORDER BY time DESC",
    "SELECT mean(usage) FROM cpu GROUP BY host SLIMIT 2 SOFFSET 1",
    "SELECT count(usage) FROM cpu WHERE time > '2020-01-01T00:20:00Z'",
    "SELECT sum(used), mean(free) FROM mem WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m)",
    "SELECT max(usage) FROM /c.u/ WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(5m), region",
    "SELECT * FROM mem WHERE time < '2020-01-01T00:02:00Z'",
    "SELECT used FROM mem WHERE free > 45 LIMIT 3",
    "SELECT mean(usage) FROM cpu WHERE host = 'zzz'",
    "SELECT nothere FROM cpu",
    // Transformations: raw per series (1.6.7 merges series with an undefined tie order when
    // not grouped, so these name one host or group by host), and over aggregates.
    "SELECT derivative(usage) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:02:00Z'",
    "SELECT derivative(usage, 1m), difference(count) FROM cpu WHERE host = 'b' AND time < '2020-01-01T00:02:00Z'",
    "SELECT non_negative_derivative(usage) FROM cpu WHERE time < '2020-01-01T00:03:00Z' GROUP BY host",
    "SELECT non_negative_difference(count) FROM cpu WHERE time < '2020-01-01T00:03:00Z' GROUP BY host",
    "SELECT non_negative_derivative(max(usage), 1s) FROM cpu WHERE time >= '2020-01-01T00:05:00Z' AND time < '2020-01-01T00:15:00Z' GROUP BY time(1m), host",
    "SELECT derivative(mean(usage)) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:07:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m)",
    "SELECT difference(mean(count)) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m) fill(0)",
    "SELECT difference(sum(count)), sum(count) FROM cpu WHERE time >= '2020-01-01T00:01:00Z' AND time < '2020-01-01T00:06:00Z' GROUP BY time(1m)",
    "SELECT derivative(usage), usage FROM cpu",
    "SELECT cumulative_sum(count) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:03:00Z'",
    "SELECT cumulative_sum(usage) FROM cpu WHERE time < '2020-01-01T00:02:00Z' GROUP BY host",
    "SELECT cumulative_sum(sum(count)) FROM cpu WHERE time >= '2020-01-01T00:05:00Z' AND time < '2020-01-01T00:15:00Z' GROUP BY time(1m)",
    "SELECT moving_average(usage, 3) FROM cpu WHERE host = 'c' AND time < '2020-01-01T00:02:00Z'",
    "SELECT moving_average(mean(usage), 2) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:07:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m)",
    "SELECT moving_average(max(count), 3) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:12:00Z' GROUP BY time(2m), host",
    "SELECT elapsed(usage) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z'",
    "SELECT elapsed(count, 1s) FROM cpu WHERE time < '2020-01-01T00:01:00Z' GROUP BY host",
    "SELECT moving_average(max(count), 3) FROM cpu WHERE host = 'a' AND time >= '2020-01-01T00:10:00Z' AND time < '2020-01-01T00:20:00Z' GROUP BY time(2m)",
    "SELECT elapsed(mean(usage), 1s) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:07:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(1m)",
    "SELECT moving_average(usage, 1) FROM cpu WHERE host = 'a'",
    "SELECT integral(usage) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:05:00Z'",
    "SELECT integral(usage, 1m), integral(count) FROM cpu WHERE host = 'c' AND time < '2020-01-01T00:10:00Z'",
    "SELECT integral(count, 10s) FROM cpu WHERE host = 'a' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(7m)",
    "SELECT integral(usage, 1m) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:05:00Z' AND time < '2020-01-01T00:20:00Z' GROUP BY time(5m)",
    "SELECT integral(usage, 'x') FROM cpu",
    "SELECT cumulative_sum(usage, 2) FROM cpu WHERE host = 'a'",
    // Math functions, row by row over raw fields and over aggregates.
    "SELECT abs(usage - 50), ceil(usage), floor(usage), round(usage), sqrt(usage), exp(count) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:02:00Z'",
    // Values whose logarithm is -Inf make 1.6.7 fail to encode the whole answer: avoided.
    "SELECT ln(usage - 40), log2(count + 1), log10(usage), log(usage, 3), pow(count, 2), atan2(usage, count) FROM cpu WHERE host = 'b' AND time < '2020-01-01T00:02:00Z'",
    "SELECT sin(usage), cos(count), tan(usage), asin(usage / 100), acos(usage / 100), atan(count) FROM cpu WHERE host = 'c' AND time < '2020-01-01T00:01:00Z'",
    // Not `abs(count - 10)`: 1.6.7 returns the integer unchanged when abs() gets an integer
    // expression (abs(8 - 10) = -2); influx-rs gives the absolute value, as documented.
    "SELECT abs(count), round(count), abs(count) * 2 AS twice FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:01:00Z'",
    "SELECT abs(*) FROM mem WHERE time < '2020-01-01T00:03:00Z'",
    "SELECT round(mean(usage)), floor(max(count) / 3) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(2m), host",
    "SELECT pow(usage) FROM cpu",
    "SELECT abs(usage), mean(usage) FROM cpu",
    "SELECT abs(host) FROM cpu",
    // Tag equalities are looked up in the index before any series key is read.
    "SELECT max(usage) FROM cpu WHERE (host = 'a' OR host = 'c') AND time < '2020-01-01T00:05:00Z' GROUP BY host",
    "SELECT count(usage) FROM cpu WHERE host = 'b' AND region = 'eu' AND time < '2020-01-01T00:05:00Z'",
    "SELECT count(usage) FROM cpu WHERE host = 'b' AND region = 'us'",
    "SELECT count(used) FROM mem WHERE region = ''",
    "SELECT count(usage) FROM cpu WHERE host = 'nope' OR host = 'a'",
    // tz(): times on the zone's clock, windows aligned to its local midnight.
    "SELECT usage FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:00:30Z' tz('Europe/Paris')",
    "SELECT count(usage) FROM cpu WHERE time >= '2019-12-31T00:00:00Z' AND time < '2020-01-02T00:00:00Z' GROUP BY time(1d) tz('America/Chicago')",
    "SELECT max(usage) FROM cpu WHERE host = 'c' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m) tz('Asia/Kolkata')",
    "SELECT mean(usage) FROM cpu WHERE time >= '2019-12-31T00:00:00Z' AND time < '2020-01-02T00:00:00Z' GROUP BY time(1d), host tz('Asia/Kolkata')",
    "SELECT last(usage) FROM cpu WHERE host = 'b' tz('UTC')",
    "SELECT usage FROM cpu tz('Nowhere/X')",
    // Subqueries: the inner result is what the outer query reads.
    "SELECT mean(max) FROM (SELECT max(usage) FROM cpu GROUP BY time(1m), host) WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(5m)",
    "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m), host) GROUP BY host",
    "SELECT usage FROM (SELECT usage, host FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:01:00Z')",
    "SELECT * FROM (SELECT usage * 2 AS dbl, count FROM cpu WHERE host = 'b' AND time < '2020-01-01T00:01:00Z') WHERE dbl > 50",
    "SELECT count(usage) FROM (SELECT usage FROM cpu WHERE time < '2020-01-01T00:05:00Z' GROUP BY host) WHERE host = 'b'",
    "SELECT sum(c) FROM (SELECT count(usage) AS c FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m), region)",
    "SELECT max(x) FROM (SELECT x FROM (SELECT mean(count) AS x FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m), host) GROUP BY host)",
    "SELECT top(m, 2) FROM (SELECT mean(usage) AS m FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m), host) GROUP BY host",
    "SELECT derivative(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE host = 'a' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(1m))",
    "SELECT m FROM (SELECT mean(usage) AS m FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:06:00Z' GROUP BY time(2m), host) GROUP BY host",
    "SELECT mean(used) FROM (SELECT used, free FROM mem) WHERE free > 40 AND time < '2020-01-01T00:30:00Z'",
    "SELECT max(usage) FROM (SELECT usage FROM cpu WHERE region = 'us'), (SELECT used FROM mem) WHERE time < '2020-01-01T00:10:00Z'",
    // Selectors of many rows. Ties between series at one time have no defined order in
    // 1.6.7, so these pick one host, group by host, or name a tag in top()/bottom().
    "SELECT distinct(count) FROM cpu WHERE host = 'a'",
    "SELECT distinct(ok) AS d FROM cpu WHERE time < '2020-01-01T00:05:00Z' GROUP BY host",
    "SELECT distinct(count) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m)",
    "SELECT count(distinct(count)), count(count) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(5m), host",
    "SELECT count(distinct(usage)) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:08:00Z' AND time < '2020-01-01T00:18:00Z' GROUP BY time(2m)",
    "SELECT top(usage, 3) FROM cpu WHERE host = 'a'",
    "SELECT top(count, 4), usage, region FROM cpu GROUP BY host",
    "SELECT bottom(count, 2) FROM cpu WHERE host = 'c' AND time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m)",
    "SELECT top(usage, host, 2) FROM cpu",
    "SELECT bottom(usage, host, 5), count FROM cpu WHERE time < '2020-01-01T00:10:00Z'",
    "SELECT top(usage, region, 1) AS best FROM cpu GROUP BY host",
    "SELECT DISTINCT count FROM cpu WHERE host = 'c' AND time < '2020-01-01T00:03:00Z'",
    "SELECT sample(usage, 1000) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:02:00Z'",
    "SELECT sample(count, 500), usage FROM cpu WHERE time < '2020-01-01T00:01:00Z' GROUP BY host",
    "SELECT top(usage, 3) FROM cpu LIMIT 2",
    "SELECT top(usage, 0) FROM cpu",
    "SELECT top(usage) FROM cpu",
    "SELECT top(usage, 2.5) FROM cpu",
    "SELECT top(1, 2) FROM cpu",
    "SELECT top(usage, 3, 2) FROM cpu",
    "SELECT top(usage, 2), max(count) FROM cpu",
    "SELECT distinct(usage), count FROM cpu",
    "SELECT distinct(usage, 2) FROM cpu",
    "SELECT distinct(*) FROM cpu",
    "SELECT sample(usage, 0) FROM cpu",
    "SELECT sample(usage) FROM cpu",
    "SHOW MEASUREMENTS",
    "SHOW TAG KEYS",
    "SHOW TAG KEYS FROM cpu",
    "SHOW TAG VALUES WITH KEY = host",
    "SHOW TAG VALUES FROM cpu WITH KEY = \"region\"",
    "SHOW TAG VALUES FROM cpu WITH KEY IN (host, region) WHERE region = 'eu'",
    "SHOW TAG VALUES WITH KEY =~ /^h/",
    "SHOW TAG VALUES FROM cpu WITH KEY != host",
    // Without WHERE, values and their cardinality come from the index's value maps.
    "SHOW TAG VALUES CARDINALITY WITH KEY = host",
    "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host",
    "SHOW TAG VALUES CARDINALITY WITH KEY =~ /./",
    "SHOW TAG VALUES FROM cpu WITH KEY = host LIMIT 1 OFFSET 1",
    "SHOW TAG VALUES WITH KEY =~ /^(host|region)$/ LIMIT 2",
    "SHOW FIELD KEYS",
    "SHOW FIELD KEYS FROM mem",
    "SHOW SERIES",
    "SHOW SERIES FROM cpu WHERE host = 'a'",
    "SHOW SERIES FROM /^cpu$|^mem$/ LIMIT 2 OFFSET 1",
    "SHOW TAG KEYS LIMIT 1",
    // Aggregates of one point: stddev is null, its row shown.
    "SELECT stddev(usage) FROM cpu WHERE host = 'a' AND time = '2020-01-01T00:00:00Z'",
    "SELECT stddev(count), spread(count), mean(usage) FROM cpu WHERE time = '2020-01-01T00:00:00Z' GROUP BY host",
    "SELECT stddev(count) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:01:00Z' GROUP BY time(10s), host",
    // Aliases are kept as written, even twice; generated names are numbered past them.
    "SELECT usage AS x, count AS x FROM cpu WHERE host = 'a' LIMIT 2",
    "SELECT mean(usage) AS m, max(usage) AS m FROM cpu",
    "SELECT usage AS count, count FROM cpu WHERE host = 'a' LIMIT 1",
    "SELECT usage, usage FROM cpu WHERE host = 'a' LIMIT 1",
    // Cardinality from the index refuses time conditions, in 1.x's words.
    "SHOW SERIES CARDINALITY WHERE time > now() - 1h",
    "SHOW SERIES CARDINALITY WHERE host = 'a' AND time > 0",
    "SHOW MEASUREMENT EXACT CARDINALITY WHERE time > now() - 1h",
    "SHOW TAG KEY CARDINALITY WHERE time > now() - 1h",
    "SHOW FIELD KEY CARDINALITY WHERE time > now() - 1h",
    "SHOW TAG VALUES CARDINALITY WITH KEY = host WHERE time > now() - 1h",
    // A function over a field type it does not take: 1.x's iterator error.
    "SELECT sum(msg) FROM dup",
    "SELECT spread(flag) FROM dup",
    "SELECT min(msg) FROM dup GROUP BY host",
    "SELECT mean(ok), max(usage) FROM cpu",
    "SELECT derivative(msg) FROM dup",
    "SELECT cumulative_sum(flag) FROM dup",
    "SELECT moving_average(msg, 2) FROM dup",
    "SELECT non_negative_derivative(flag) FROM dup",
    "SELECT top(msg, 1) FROM dup",
    "SELECT percentile(ok, 50) FROM cpu",
    "SELECT mode(msg), count(flag), first(msg) FROM dup",
    // sample() beside other functions, over `*` and regexes, in arithmetic: its points at
    // their own times among the other calls' rows (n past the points: no chance involved);
    // fill() fills every call's cells of the merged rows; LIMIT counts each call's values.
    "SELECT sample(usage, 100), max(idle) FROM dup",
    "SELECT sample(*, 100) FROM dup",
    "SELECT sample(*, 100) FROM dup GROUP BY host",
    "SELECT sample(/sage/, 100) FROM dup",
    "SELECT sample(usage, 100), sample(idle, 100) FROM dup",
    "SELECT sample(usage, 100) * 2 FROM dup",
    "SELECT sample(usage, 100), derivative(usage) FROM dup",
    "SELECT sample(usage, 100), count(idle) FROM dup GROUP BY host",
    "SELECT sample(usage, 100), top(idle, 2) FROM dup",
    "SELECT sample(usage, 100), count(idle) FROM dup LIMIT 2",
    "SELECT mean(usage), derivative(usage) FROM dup LIMIT 2",
    "SELECT sample(usage, 100), count(count) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:01:00Z' GROUP BY time(20s)",
    "SELECT sample(usage, 100), mean(count) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' GROUP BY time(1m) fill(previous)",
    "SELECT sample(usage, 100), mean(count) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' GROUP BY time(1m) fill(0)",
    "SELECT sample(usage, 100), mean(count) FROM cpu WHERE host = 'b' AND time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' GROUP BY time(1m) fill(linear)",
    // (One host: 1.6.7 sorts a sample's points by time with an unstable sort, so points of
    // one time from several series come in no set order past 12 points.)
    "SELECT sample(*, 1000) FROM cpu, mem WHERE host = 'a' AND time < '2020-01-01T00:03:00Z'",
    "SELECT mean(/u/) FROM cpu",
    "SELECT max(/u/), min(/c/) FROM cpu GROUP BY host",
    "SELECT derivative(mean(/u/)) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:05:00Z' GROUP BY time(1m)",
    "SELECT mean(*) FROM cpu, mem",
    "SELECT count(*) FROM cpu, mem WHERE time < '2020-01-01T00:05:00Z'",
    "SELECT max(/e/) FROM cpu, mem",
    "SELECT mean(/e/) + 1 FROM cpu",
    "SELECT mean(*) + 1 FROM cpu",
    "SELECT max(/u/), host FROM cpu",
    // Subqueries: the outer GROUP BY's tags pass down into the inner query (its own GROUP BY
    // kept; a tag passed down groups and filters but shows null in the outer select list);
    // an empty tag set is left out; functions check the types of the inner columns; rows
    // of a whole-range aggregate keep series order under ORDER BY DESC; subqueries side by
    // side of one measurement are read as one.
    "SELECT max(usage) FROM (SELECT usage FROM cpu) GROUP BY host",
    "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu) GROUP BY host",
    "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu GROUP BY region) GROUP BY host",
    "SELECT m FROM (SELECT mean(usage) AS m FROM cpu) GROUP BY host",
    "SELECT mean(usage) FROM (SELECT * FROM cpu) GROUP BY region",
    "SELECT max(usage), region FROM (SELECT usage, region FROM cpu) GROUP BY host",
    "SELECT max(usage), host FROM (SELECT usage FROM cpu) GROUP BY host",
    "SELECT usage, host FROM (SELECT usage FROM cpu WHERE time < '2020-01-01T00:00:20Z') GROUP BY host",
    "SELECT * FROM (SELECT usage FROM cpu WHERE time < '2020-01-01T00:00:20Z') GROUP BY host",
    "SELECT usage, region FROM (SELECT usage FROM cpu WHERE time < '2020-01-01T00:00:20Z' GROUP BY region) GROUP BY host",
    "SELECT max(usage) FROM (SELECT usage FROM cpu) WHERE host = 'a' OR host = 'c' GROUP BY region",
    "SELECT max(usage) FROM (SELECT usage FROM cpu) GROUP BY *",
    "SELECT max(usage) FROM (SELECT usage FROM cpu) GROUP BY /h/",
    "SELECT mean(ok) FROM (SELECT ok FROM cpu)",
    "SELECT m FROM (SELECT last(usage) AS m FROM cpu GROUP BY host) ORDER BY time DESC",
    "SELECT m FROM (SELECT max(usage) AS m FROM cpu GROUP BY host) ORDER BY time DESC",
    "SELECT mean(usage) FROM (SELECT usage FROM cpu WHERE region = 'us'), (SELECT usage FROM cpu WHERE region = 'eu')",
    "SELECT count(usage) FROM (SELECT usage FROM cpu), (SELECT usage FROM cpu)",
    "SELECT max(m) FROM (SELECT max(usage) AS m FROM cpu GROUP BY host), (SELECT min(usage) AS m FROM cpu GROUP BY host) GROUP BY host",
    "SELECT * FROM (SELECT max(usage) AS m FROM cpu GROUP BY host), (SELECT min(usage) AS n FROM cpu GROUP BY host)",
    "SELECT top(m, host, 2) FROM (SELECT mean(usage) AS m FROM cpu GROUP BY host)",
    "SELECT a + b + c FROM (SELECT mean(usage) AS a, mean(count) AS b, max(usage) AS c FROM cpu GROUP BY host)",
    "SELECT mean(a + b) FROM (SELECT usage AS a, count AS b FROM cpu)",
    // ... a subquery's columns that show tags are no fields of `f(*)`; transformations other
    // than derivative/difference take every point, those of one time too; a subquery takes
    // the outer query's time order unless it states its own, which must agree.
    "SELECT count(*) FROM (SELECT * FROM cpu)",
    "SELECT count(*) FROM (SELECT * FROM cpu) GROUP BY host",
    "SELECT count(*) FROM (SELECT usage, host AS h FROM cpu)",
    "SELECT mean(*) FROM (SELECT * FROM cpu)",
    "SELECT cumulative_sum(m) FROM (SELECT last(usage) AS m FROM cpu GROUP BY host)",
    "SELECT elapsed(m) FROM (SELECT last(usage) AS m FROM cpu GROUP BY host)",
    "SELECT moving_average(m, 2) FROM (SELECT max(usage) AS m FROM cpu GROUP BY host)",
    "SELECT exponential_moving_average(m, 2) FROM (SELECT last(usage) AS m FROM cpu GROUP BY host)",
    "SELECT difference(m) FROM (SELECT last(usage) AS m FROM cpu GROUP BY host)",
    "SELECT elapsed(usage) FROM cpu WHERE time < '2020-01-01T00:00:20Z'",
    "SELECT usage FROM (SELECT usage FROM cpu ORDER BY time DESC LIMIT 3)",
    "SELECT usage FROM (SELECT usage FROM cpu WHERE host = 'a' LIMIT 3) ORDER BY time DESC",
    "SELECT usage FROM (SELECT usage FROM cpu WHERE host = 'a' ORDER BY time DESC LIMIT 3) ORDER BY time DESC",
    // Transformations of raw points under ORDER BY time DESC take the points newest first
    // (a difference is the older minus the newer, at the older's time); moving_average keeps
    // a running sum, as 1.x (the same last digits).
    "SELECT derivative(usage) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:00:40Z' ORDER BY time DESC",
    "SELECT difference(usage), elapsed(usage) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:00:40Z' ORDER BY time DESC",
    "SELECT non_negative_derivative(usage, 1m) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:01:40Z' ORDER BY time DESC",
    "SELECT cumulative_sum(usage), moving_average(usage, 2) FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:00:40Z' ORDER BY time DESC",
    "SELECT derivative(usage) FROM cpu WHERE time < '2020-01-01T00:00:40Z' GROUP BY host ORDER BY time DESC",
    "SELECT moving_average(max(usage), 3) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m)",
    "SELECT moving_average(usage, 4) FROM cpu WHERE host = 'c'",
    // Several measurements under ORDER BY time DESC come in reverse name order; several
    // selectors beside a field are refused in 1.x's words.
    "SELECT * FROM cpu, mem WHERE time < '2020-01-01T00:00:20Z' AND host = 'a' ORDER BY time DESC LIMIT 2",
    "SELECT mean(usage), min(used) FROM cpu, mem ORDER BY time DESC",
    "SELECT count(usage) FROM /c.u|mem/ GROUP BY host ORDER BY time DESC",
    "SELECT first(usage), last(usage), host FROM cpu",
    "SELECT max(usage), mean(usage), host FROM cpu",
    // Parse errors: EOF's position, the WITH KEY operators named, deletions scoped to the
    // query's database.
    "SELECT usage FROM",
    "SELECT * FROM cpu WHERE",
    "CREATE USER bob",
    "SHOW TAG VALUES WITH KEY",
    "DELETE FROM q..cpu WHERE time < 0",
    "DELETE FROM q.autogen.cpu",
    "DROP SERIES FROM q.autogen.cpu",
    // Quoted strings and identifiers: `\n \\ \" \'` in either quote, any other escape and a
    // string left open are errors placed where 1.x places them. (A backslash ending the text
    // is left to the lexer's unit test: 1.6.7 puts its NUL in a header no client reads.)
    "SELECT * FROM \"cpu\\x\"",
    "SELECT * FROM \"abc",
    "SELECT * FROM cpu WHERE host = 'a\\x'",
    "SELECT * FROM cpu WHERE host = 'a",
    "SELECT * FROM cpu WHERE host = 'a\\\"b'",
    "SELECT * FROM \"cp\\'u\"",
    "SELECT 'a\\x' FROM cpu",
    "SHOW TAG VALUES WITH KEY = \"a\\q\"",
    // Errors in 1.x's words and places: EOF just past the text, or one further when a name
    // or a regex attempt read past it; a quoted string or identifier placed before its quote;
    // a regex literal only after =~/!~ or as a whole argument; statement errors without a
    // position; argument counts first; literals alone are no field; the query text trimmed.
    "SELECT * FROM cpu WHERE time > now() -",
    "SELECT 1",
    "SELECT 1 + 2",
    "CREATE RETENTION POLICY rp ON q DURATION 1h",
    "CREATE RETENTION POLICY rp ON q DURATION 1h REPLICATION 0",
    "SELECT usage FROM cpu; SELECT bad(",
    "SELECT usage FROM cpu WHERE host = ",
    "   SELECT * FROM cpu, ",
    "SELECT usage FROM cpu GROUP BY host,",
    "SELECT usage FROM cpu GROUP BY",
    "SHOW MEASUREMENTS WITH MEASUREMENT =~",
    "SHOW MEASUREMENTS WITH MEASUREMENT = /c.u/",
    "SELECT usage FROM cpu WHERE usage =~ 'x'",
    "SELECT usage FROM cpu WHERE host = /x/",
    "SELECT usage FROM cpu WHERE 1",
    "SELECT * FROM cpu ORDER BY host",
    "SELECT * FROM cpu ORDER BY time ASC, host",
    "SELECT mean(usage) FROM cpu GROUP BY time(1m) fill(foo)",
    "SELECT mean(usage) FROM cpu GROUP BY time(1m) fill()",
    "SELECT usage FROM cpu tz(1)",
    "SELECT mean() FROM cpu",
    "SELECT top() FROM cpu",
    "SELECT 'a' FROM cpu",
    "SELECT true FROM cpu",
    "SELECT now() FROM cpu",
    "KILL QUERY 99999",
    "SELECT * FROM cpu GROUP BY time()",
    "SELECT mean(usage) FROM cpu GROUP BY time(1m, 2m, 3m)",
    // Arithmetic over a string, a boolean or a tag: 1.x's type error, names annotated.
    "SELECT usage + 'a' FROM dup",
    "SELECT usage + msg FROM dup",
    "SELECT idle + flag FROM dup",
    "SELECT (usage + host) * 2 FROM dup",
    "SELECT mean(usage) + 'a' FROM dup",
    "SELECT max(msg) + 1 FROM dup",
    "SELECT usage * 2 + idle, usage + nope FROM dup",
    // Conditions: arithmetic over fields, tags compared with =/!= and regexes only, a
    // comparison compared with a boolean, a bare name refused; fill() values and ORDER BY's
    // `time` compared as written.
    "SELECT count FROM cpu WHERE count % 5 = 0 AND host = 'a' LIMIT 3",
    "SELECT usage FROM cpu WHERE usage > count * 5 AND host = 'a' LIMIT 3",
    "SELECT usage FROM cpu WHERE usage + 1 > 95 AND host = 'a'",
    "SELECT mean(usage) FROM cpu WHERE count % 2 = 1 GROUP BY host",
    "SELECT usage FROM cpu WHERE host > 'a' LIMIT 2",
    "SELECT usage FROM cpu WHERE host >= 'b' AND host < 'c' LIMIT 2",
    "SHOW MEASUREMENTS WHERE host > 'a'",
    "SHOW SERIES WHERE host > 'a'",
    "SHOW TAG VALUES WITH KEY = region WHERE host > 'a'",
    "SHOW TAG KEYS WHERE host = 'a' OR host > 'b'",
    "SHOW SERIES CARDINALITY WHERE host > 'a'",
    "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = region WHERE host > 'a'",
    "SELECT usage FROM cpu WHERE usage > 1 = true LIMIT 1",
    "SELECT usage FROM cpu WHERE ok LIMIT 2",
    "SELECT mean(usage) FROM cpu GROUP BY time(1m) fill(NULL)",
    "SELECT usage FROM cpu Order By Time Desc Limit 2",
    "SELECT usage FROM cpu WHERE host = 'a' order by time desc limit 2",
    // stddev computed as 1.x (running mean, then squared deviations: the same last digits);
    // first() of booleans of one time keeps false, last() true; a fractional fill() number
    // fills integer columns truncated.
    "SELECT stddev(usage) FROM cpu",
    "SELECT stddev(usage) FROM cpu GROUP BY region",
    "SELECT spread(count), stddev(count) FROM cpu GROUP BY host",
    "SELECT stddev(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(7m), host",
    "SELECT first(ok), last(ok) FROM cpu",
    "SELECT first(ok), last(ok) FROM cpu GROUP BY region",
    "SELECT first(ok), host FROM cpu",
    "SELECT count(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T01:00:00Z' GROUP BY time(10m) fill(-1.5)",
    "SELECT mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T01:00:00Z' AND host = 'a' GROUP BY time(10m) fill(-1.5)",
    // SHOW MEASUREMENTS with WHERE on tags (a measurement without the tag is never listed;
    // != and !~ keep those where no value matches), WITH MEASUREMENT, LIMIT and OFFSET.
    "SHOW MEASUREMENTS WHERE host = 'a'",
    "SHOW MEASUREMENTS WHERE host != 'a'",
    "SHOW MEASUREMENTS WHERE host != 'zz'",
    "SHOW MEASUREMENTS WHERE host =~ /a|b/",
    "SHOW MEASUREMENTS WHERE region !~ /e/",
    "SHOW MEASUREMENTS WHERE region !~ /x/",
    "SHOW MEASUREMENTS WHERE region = 'us' OR host = 'a'",
    "SHOW MEASUREMENTS WHERE (region = 'us' AND host = 'a')",
    "SHOW MEASUREMENTS WITH MEASUREMENT =~ /c.*/ WHERE host = 'a'",
    "SHOW MEASUREMENTS WHERE nokey != 'x'",
    "SHOW MEASUREMENTS LIMIT 1 OFFSET 1",
    "SHOW MEASUREMENTS OFFSET 5",
    "SHOW MEASUREMENTS WHERE host = 'a' AND time > 0",
    // Transformations over aggregates with empty windows: an empty window counts 0.
    "SELECT derivative(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT derivative(count(usage), 10s) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT difference(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT moving_average(count(usage), 2) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT non_negative_derivative(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT cumulative_sum(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT derivative(mean(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT derivative(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' GROUP BY time(1m), host",
    "SELECT derivative(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m) fill(none)",
    "SELECT derivative(count(usage)) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m) fill(5)",
    "SELECT moving_average(count(usage), 3) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    // Selectors beside other columns: select-list order, `time` is the time column.
    "SELECT host, max(usage) FROM cpu",
    "SELECT time, max(usage) FROM cpu",
    "SELECT time, host, max(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:02:00Z' GROUP BY time(30s)",
    "SELECT host, min(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:02:00Z' GROUP BY time(30s) ORDER BY time DESC",
    "SELECT first(usage), host FROM cpu GROUP BY region",
    "SELECT max(usage), host, region FROM cpu",
    "SELECT host, last(usage), region FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:02:00Z' GROUP BY time(1m)",
    "SELECT host, top(usage, 3) FROM cpu",
    "SELECT top(usage, host, 2), region FROM cpu",
    "SELECT count, max(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:01:00Z' GROUP BY time(30s) fill(none)",
    "SELECT time, count, max(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:01:00Z' GROUP BY time(30s)",
    "SELECT time, min(usage) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m)",
    "SELECT host, max(usage) FROM cpu WHERE time >= '2020-01-01T00:09:00Z' AND time < '2020-01-01T00:16:00Z' AND host = 'b' GROUP BY time(1m) fill(previous)",
    // Several measurements: `*` names the keys of all of them, series by measurement name.
    "SELECT * FROM cpu, mem WHERE host = 'a' AND time < '2020-01-01T00:00:20Z'",
    "SELECT * FROM /.*/ WHERE host = 'a' AND time < '2020-01-01T00:01:20Z'",
    "SELECT * FROM mem, cpu WHERE host = 'a' AND time < '2020-01-01T00:00:20Z'",
    "SELECT * FROM cpu, mem WHERE host = 'a' AND time < '2020-01-01T00:01:00Z' LIMIT 2",
    "SELECT * FROM cpu, mem WHERE host = 'a' AND time < '2020-01-01T00:01:00Z' GROUP BY region",
    "SELECT used, usage FROM cpu, mem WHERE host = 'a' AND time < '2020-01-01T00:00:20Z'",
    "SELECT count(usage), count(used) FROM mem, cpu",
    "SELECT max(usage) FROM mem, cpu",
    // A number glued to letters is one duration token: invalid unless it is a duration.
    "SELECT 0xdb0 FROM cpu",
    "SELECT usage FROM cpu WHERE time > now() - 10sec",
    "SELECT usage FROM cpu WHERE time > now() - 1h30m LIMIT 1",
    "SELECT usage FROM cpu WHERE time > 1577836800000000000 - 5d3 LIMIT 1",
    // A deletion by a field is refused, naming the shard.
    "DROP SERIES FROM cpu WHERE usage > 1",
    "DELETE FROM cpu WHERE usage > 1",
    "DELETE WHERE usage > 1",
];

#[test]
fn queries_match_influxdb_1_6_7() {
    let Some(pair) = pair_or_skip() else {
        return;
    };
    let ports = pair.ports;
    load_query_dataset(ports, "q");
    let mut mismatches = Vec::new();
    for q in QUERIES {
        for epoch in [None, Some("s")] {
            let mut params = vec![("db", "q"), ("q", *q)];
            if let Some(e) = epoch {
                params.push(("epoch", e));
            }
            let want = post(ports[0], "/query", &params, "");
            let got = post(ports[1], "/query", &params, "");
            let same = want.status == got.status
                && match (
                    serde_json::from_str::<serde_json::Value>(&want.body),
                    serde_json::from_str::<serde_json::Value>(&got.body),
                ) {
                    (Ok(a), Ok(b)) => same_json(&a, &b),
                    _ => want.body == got.body,
                };
            if !same {
                mismatches.push(format!(
                    "{q} (epoch {epoch:?})\n  influxdb: {} {}\n  ours:     {} {}",
                    want.status,
                    want.body.trim(),
                    got.status,
                    got.body.trim()
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} queries differ:\n{}",
        mismatches.len(),
        QUERIES.len() * 2,
        mismatches.join("\n")
    );
}

/// `Accept: application/csv` gives 1.6.7's CSV (successful statements; 1.6.7 drops errors
/// from CSV output where later versions print them, which influx-rs follows).
#[test]
fn csv_output_matches_influxdb_1_6_7() {
    let Some(pair) = pair_or_skip() else {
        return;
    };
    let ports = pair.ports;
    load_query_dataset(ports, "q");
    let csv = |port: u16, q: &str, epoch: Option<&str>| {
        let mut params = vec![("db", "q"), ("q", q)];
        if let Some(e) = epoch {
            params.push(("epoch", e));
        }
        reqwest::blocking::Client::new()
            .get(format!("http://127.0.0.1:{port}/query"))
            .query(&params)
            .header("Accept", "application/csv")
            .send()
            .and_then(|r| r.text())
            .expect("csv query")
    };
    for q in [
        "SELECT * FROM mem WHERE time < '2020-01-01T00:03:00Z'",
        "SELECT last(usage), first(ok) FROM cpu GROUP BY host, region",
        "SELECT max(usage) FROM cpu WHERE host = 'a'; SHOW DATABASES; SHOW TAG KEYS",
        "SELECT mean(count) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(10m)",
    ] {
        for epoch in [None, Some("ms")] {
            assert_eq!(csv(ports[0], q, epoch), csv(ports[1], q, epoch), "{q} (epoch {epoch:?})");
        }
    }
}

#[test]
fn chunked_answers_match_influxdb_1_6_7() {
    let Some(pair) = pair_or_skip() else {
        return;
    };
    let ports = pair.ports;
    load_query_dataset(ports, "ch");
    let lines = |port: u16, q: &str, size: Option<&str>| -> Vec<serde_json::Value> {
        let mut params = vec![("db", "ch"), ("q", q), ("chunked", "true")];
        params.extend(size.map(|s| ("chunk_size", s)));
        let answer = post(port, "/query", &params, "");
        assert_eq!(answer.status, 200, "{q}: {}", answer.body);
        answer
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for q in [
        "SELECT usage FROM cpu WHERE time < '2020-01-01T00:01:00Z' GROUP BY host",
        // Raw selects are read and sent a time slice at a time: the lines must not show it.
        "SELECT * FROM cpu WHERE host = 'c'",
        "SELECT usage FROM cpu GROUP BY host ORDER BY time DESC LIMIT 30 OFFSET 3",
        "SELECT usage FROM cpu WHERE usage > 50 GROUP BY host SLIMIT 2 SOFFSET 1",
        // Aggregates send each group's series as soon as it is made.
        "SELECT max(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z' GROUP BY time(1m), host ORDER BY time DESC",
        "SELECT mean(usage) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:30:00Z' GROUP BY time(1m), host; SHOW DATABASES; SELECT nothing FROM cpu",
        "SELECT * FROM mem; SELECT x FROM nowhere; SELECT mean(x), x FROM mem",
        "SHOW SERIES; SHOW TAG VALUES WITH KEY = host",
        "SHOW FIELD KEYS; SHOW TAG KEYS; SHOW MEASUREMENTS; SHOW RETENTION POLICIES",
    ] {
        for size in [None, Some("1"), Some("4"), Some("7")] {
            assert_eq!(lines(ports[0], q, size), lines(ports[1], q, size), "{q} (chunk_size {size:?})");
        }
    }
}

#[test]
fn meta_queries_over_many_series_match_influxdb_1_6_7() {
    let Some(pair) = pair_or_skip() else {
        return;
    };
    let ports = pair.ports;
    // 3,000 series over three tags of 3,000, 7 and 11 values, in two measurements.
    let mut body = String::new();
    for i in 0..3000 {
        let m = if i % 3 == 0 { "pod" } else { "node" };
        body.push_str(&format!(
            "{m},host=h{i:04},zone=z{},rack=r{} v={i}i {}\n",
            i % 7,
            i % 11,
            1_577_836_800_000_000_000i64 + i64::from(i) * 1_000_000_000
        ));
    }
    for port in ports {
        post(port, "/query", &[("q", "CREATE DATABASE many")], "");
        let r = post(port, "/write", &[("db", "many")], &body);
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let mut mismatches = Vec::new();
    for q in [
        "SHOW TAG VALUES CARDINALITY WITH KEY = host",
        "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = zone",
        "SHOW TAG VALUES FROM pod WITH KEY = host LIMIT 5 OFFSET 990",
        "SHOW TAG VALUES WITH KEY =~ /zone|rack/ LIMIT 4 OFFSET 3",
        "SHOW TAG VALUES FROM node WITH KEY = rack WHERE zone = 'z3'",
        "SHOW SERIES FROM pod WHERE host =~ /^h00[0-3]/ LIMIT 3 OFFSET 1",
        "SHOW SERIES CARDINALITY",
        "SHOW SERIES EXACT CARDINALITY",
        "SHOW SERIES CARDINALITY FROM node WHERE zone = 'z1'",
        "SHOW MEASUREMENTS WITH MEASUREMENT =~ /o/ LIMIT 1 OFFSET 1",
        "SHOW MEASUREMENTS WHERE rack = 'r10'",
        "SHOW TAG KEYS FROM node LIMIT 2 OFFSET 1",
        "SHOW TAG KEY CARDINALITY",
        // WHERE on tags: looked up in the index's postings, then checked key by key.
        "SHOW SERIES WHERE zone = 'z2' AND rack = 'r5' LIMIT 4",
        "SHOW SERIES WHERE zone = 'z2' OR zone = 'z4' LIMIT 3 OFFSET 420",
        "SHOW SERIES FROM node WHERE (zone = 'z6' OR zone = 'z0') AND rack != 'r1' LIMIT 2",
        "SHOW SERIES WHERE zone = 'z1' AND host =~ /7$/ LIMIT 5 OFFSET 40",
        "SHOW SERIES WHERE zone = 'nope'",
        "SHOW SERIES WHERE zone = '' LIMIT 1",
        "SHOW SERIES WHERE nokey = '' LIMIT 2",
        "SHOW SERIES LIMIT 2 OFFSET 1999",
        "SHOW SERIES LIMIT 3 OFFSET 998",
        "SHOW SERIES FROM pod LIMIT 4 OFFSET 10",
        "SHOW SERIES WHERE zone = 'z3' AND time > 0 LIMIT 5 OFFSET 100",
        "SHOW SERIES FROM /o/ WHERE rack = 'r1' OR rack = 'r2' LIMIT 2 OFFSET 270",
        "SHOW SERIES EXACT CARDINALITY WHERE rack = 'r3' OR rack = 'r4'",
        "SHOW TAG KEYS WHERE host = 'h0003'",
        "SHOW TAG KEYS FROM /o/ WHERE zone = 'z5' LIMIT 1",
        "SHOW TAG VALUES WITH KEY = host WHERE zone = 'z3' AND rack = 'r2' LIMIT 3 OFFSET 2",
        "SHOW TAG VALUES WITH KEY IN (zone, rack) WHERE host = 'h2999'",
        "SHOW TAG VALUES WITH KEY = rack WHERE (zone = 'z1' OR zone = 'z2') AND time > 0",
        "SHOW TAG VALUES WITH KEY =~ /zone|rack/ WHERE rack = 'r3' LIMIT 3",
        "SHOW TAG VALUES FROM pod WITH KEY = zone WHERE rack = 'r3' AND zone = 'z6'",
        "SHOW TAG VALUES WITH KEY = zone WHERE rack = 'r3' OR zone = 'z6'",
        "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = rack WHERE zone = 'z5'",
        "SHOW MEASUREMENTS WHERE host =~ /^h000/",
        "SHOW MEASUREMENTS WHERE host = 'h0003'",
        "SHOW MEASUREMENTS WHERE host != 'h0003'",
        "SHOW MEASUREMENTS WHERE zone !~ /z/",
    ] {
        let params = [("db", "many"), ("q", q)];
        let want = post(ports[0], "/query", &params, "");
        let got = post(ports[1], "/query", &params, "");
        let same = want.status == got.status
            && serde_json::from_str::<serde_json::Value>(&want.body).ok()
                == serde_json::from_str::<serde_json::Value>(&got.body).ok();
        if !same {
            mismatches.push(format!(
                "{q}\n  influxdb: {} {}\n  ours:     {} {}",
                want.status,
                &want.body[..want.body.len().min(400)],
                got.status,
                &got.body[..got.body.len().min(400)]
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// JSON equality, except that floats may differ in their last digits: 1.6.7 adds per-series
/// partial sums in its merge order, influx-rs adds points in time order, and float addition is
/// not associative (e.g. 4465.5 vs 4465.500000000001). Everything else must be identical.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_f64(), y.as_f64()) {
            _ if x == y => true,
            // Both must be written as floats: `1` against `1.0` is a real difference.
            (Some(fx), Some(fy)) if x.is_f64() && y.is_f64() => {
                (fx - fy).abs() <= 1e-12 * fx.abs().max(fy.abs())
            }
            _ => false,
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
