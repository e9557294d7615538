//! The catalog: databases → retention policies → shard groups, persisted as `meta.json`.
//!
//! Every change is written to a temporary file, fsynced and renamed over `meta.json`, so the
//! catalog on disk is always one complete version.

use influxql::Privilege;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One hour in nanoseconds.
pub const HOUR: i64 = 3_600_000_000_000;
/// One day in nanoseconds.
pub const DAY: i64 = 24 * HOUR;

/// Catalog errors; their `Display` is InfluxDB's wording.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// No such database.
    #[error("database not found: {0}")]
    DatabaseNotFound(String),
    /// No such retention policy.
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    /// `CREATE RETENTION POLICY` with a name that exists with other settings.
    #[error("retention policy conflicts with an existing policy")]
    RetentionPolicyConflict,
    /// Durations under an hour.
    #[error("retention policy duration must be at least 1h0m0s")]
    DurationTooLow,
    /// Shard groups longer than the policy.
    #[error("retention policy duration must be greater than the shard duration")]
    ShardDurationTooLong,
    /// `CREATE SUBSCRIPTION` with a name in use on that policy.
    #[error("subscription already exists")]
    SubscriptionExists,
    /// `DROP SUBSCRIPTION` of an unknown one.
    #[error("subscription not found")]
    SubscriptionNotFound,
    /// A destination that is not `http://`, `https://` or `udp://`.
    #[error("invalid subscription URL: {0}")]
    InvalidSubscriptionUrl(String),
    /// `CREATE USER` of a name in use (with another password or admin flag).
    #[error("user already exists")]
    UserExists,
    /// A user statement naming an unknown user.
    #[error("user not found")]
    UserNotFound,
    /// `CREATE USER ""`.
    #[error("username required")]
    UsernameRequired,
    /// Hashing a password failed.
    #[error("password hashing: {0}")]
    Password(String),
    /// `CREATE CONTINUOUS QUERY` of a name in use with another query.
    #[error("continuous query already exists")]
    ContinuousQueryExists,
    /// Names that would escape the data directory (the name is kept for the log; InfluxDB's
    /// text does not show it).
    #[error("invalid name")]
    InvalidName(String),
    /// Reading or writing `meta.json`.
    #[error("meta store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `meta.json` is not valid.
    #[error("meta store {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The whole catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// Next shard id to hand out.
    pub next_shard_id: u64,
    /// Databases by name.
    pub databases: BTreeMap<String, DatabaseInfo>,
    /// Users by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, UserInfo>,
}

/// A database and its policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// Name of the default retention policy.
    pub default_policy: String,
    /// Policies by name.
    pub policies: BTreeMap<String, RetentionPolicyInfo>,
    /// Continuous queries, in the order they were created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continuous_queries: Vec<ContinuousQueryInfo>,
}

/// A retention policy and its shard groups.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RetentionPolicyInfo {
    /// How long data is kept, ns; 0 = forever.
    pub duration: i64,
    /// Time span of each shard group, ns.
    pub shard_group_duration: i64,
    /// Replication factor (kept for compatibility; this store has one node).
    pub replication: u32,
    /// Shard groups, ordered by start time.
    pub shard_groups: Vec<ShardGroupInfo>,
    /// Where writes to this policy are forwarded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<SubscriptionInfo>,
}

/// A subscription: writes to its policy are forwarded to its destinations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubscriptionInfo {
    /// Its name, unique within the policy.
    pub name: String,
    /// `ANY` (one destination per write) or `ALL`.
    #[serde(with = "mode_text")]
    pub mode: influxql::SubscriptionMode,
    /// Destination URLs.
    pub destinations: Vec<String>,
}

/// `"ANY"` / `"ALL"` in `meta.json`.
mod mode_text {
    use influxql::SubscriptionMode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        mode: &SubscriptionMode,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(mode)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<SubscriptionMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "ALL" => Ok(SubscriptionMode::All),
            _ => Ok(SubscriptionMode::Any),
        }
    }
}

/// One shard group; this single-node store has exactly one shard per group, of the same id.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardGroupInfo {
    /// Shard (and group) id.
    pub id: u64,
    /// Inclusive start, ns.
    pub start: i64,
    /// Exclusive end, ns.
    pub end: i64,
}

/// Where a shard lives in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLocation {
    /// Database name.
    pub database: String,
    /// Retention policy name.
    pub policy: String,
    /// The group (and shard).
    pub group: ShardGroupInfo,
}

/// Shard group duration InfluxDB picks for a policy duration.
pub fn default_shard_group_duration(duration: i64) -> i64 {
    if duration > 0 && duration < 2 * DAY {
        HOUR
    } else if duration > 0 && duration <= 180 * DAY {
        DAY
    } else {
        7 * DAY
    }
}

/// Nanoseconds from Go's zero time (0001-01-01, a Monday) to the Unix epoch, modulo a week:
/// Go truncates times on that grid, so weekly shard groups start on Mondays.
const GO_EPOCH_OFFSET_NS: i128 = 719_162 * 86_400 * 1_000_000_000;

/// Start of the shard group of width `d` holding `time`, on InfluxDB's grid (Go's
/// `Time.Truncate`, counted from year 1, not from 1970).
pub fn group_start(time: i64, d: i64) -> i64 {
    let d128 = i128::from(d.max(1));
    let since_zero = i128::from(time) + GO_EPOCH_OFFSET_NS;
    let start = since_zero - since_zero.rem_euclid(d128) - GO_EPOCH_OFFSET_NS;
    i64::try_from(start).unwrap_or(i64::MIN)
}

/// Formats ns like Go's `time.Duration.String()` (`168h0m0s`, `0s`, `1.5s`).
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let mut u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: a single unit.
        let (div, unit) = if u < 1_000 {
            (1, "ns")
        } else if u < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        out.push_str(&format_fraction(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        u -= h * 3_600_000_000_000;
        let m = u / 60_000_000_000;
        u -= m * 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format_fraction(u, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn format_fraction(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Rejects names that cannot be directory names.
fn check_name(name: &str) -> Result<(), MetaError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(MetaError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// Options for creating or altering a policy.
#[derive(Debug, Clone, Default)]
pub struct PolicySpec {
    /// ns, 0 = INF.
    pub duration: Option<i64>,
    /// Replication factor.
    pub replication: Option<u32>,
    /// Shard group duration, ns.
    pub shard_group_duration: Option<i64>,
    /// Make it the database's default.
    pub default: bool,
}

impl Catalog {
    /// Loads `dir/meta.json`, or an empty catalog if there is none.
    pub fn load(dir: &Path) -> Result<Catalog, MetaError> {
        let path = dir.join("meta.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| MetaError::Corrupt {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Catalog {
                next_shard_id: 1,
                ..Catalog::default()
            }),
            Err(source) => Err(MetaError::Io { path, source }),
        }
    }

    /// Writes the catalog atomically to `dir/meta.json`.
    pub fn save(&self, dir: &Path) -> Result<(), MetaError> {
        let path = dir.join("meta.json");
        let tmp = dir.join("meta.json.tmp");
        let io = |source| MetaError::Io {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| MetaError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        crate::fsync::fsync_dir(dir).map_err(io)
    }

    /// Adds a subscription to `db`.`rp`.
    pub fn create_subscription(
        &mut self,
        db: &str,
        rp: &str,
        sub: SubscriptionInfo,
    ) -> Result<(), MetaError> {
        for d in &sub.destinations {
            let ok = ["http://", "https://", "udp://"]
                .iter()
                .any(|s| d.starts_with(s))
                && d.len() > 7;
            if !ok {
                return Err(MetaError::InvalidSubscriptionUrl(d.clone()));
            }
        }
        let policy = self.policy_mut(db, rp)?;
        if policy.subscriptions.iter().any(|s| s.name == sub.name) {
            return Err(MetaError::SubscriptionExists);
        }
        policy.subscriptions.push(sub);
        Ok(())
    }

    /// Removes subscription `name` of `db`.`rp`.
    pub fn drop_subscription(&mut self, db: &str, rp: &str, name: &str) -> Result<(), MetaError> {
        let policy = self.policy_mut(db, rp)?;
        let before = policy.subscriptions.len();
        policy.subscriptions.retain(|s| s.name != name);
        if policy.subscriptions.len() == before {
            return Err(MetaError::SubscriptionNotFound);
        }
        Ok(())
    }

    fn policy_mut(&mut self, db: &str, rp: &str) -> Result<&mut RetentionPolicyInfo, MetaError> {
        self.database_mut(db)?
            .policies
            .get_mut(rp)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(rp.to_string()))
    }

    /// The database, or `database not found`.
    pub fn database(&self, name: &str) -> Result<&DatabaseInfo, MetaError> {
        self.databases
            .get(name)
            .ok_or_else(|| MetaError::DatabaseNotFound(name.to_string()))
    }

    fn database_mut(&mut self, name: &str) -> Result<&mut DatabaseInfo, MetaError> {
        self.databases
            .get_mut(name)
            .ok_or_else(|| MetaError::DatabaseNotFound(name.to_string()))
    }

    /// Creates a database (no-op if it exists) with the given or an `autogen` default policy.
    pub fn create_database(
        &mut self,
        name: &str,
        policy_name: Option<&str>,
        spec: PolicySpec,
    ) -> Result<(), MetaError> {
        check_name(name)?;
        let rp = policy_name.unwrap_or("autogen");
        if let Some(existing) = self.databases.get(name) {
            // `WITH …` on a database that exists must describe its default policy, as 1.x
            // checks (what the statement leaves out matches anything).
            let with = policy_name.is_some()
                || spec.duration.is_some()
                || spec.replication.is_some()
                || spec.shard_group_duration.is_some();
            let matches = existing.policies.get(rp).is_some_and(|p| {
                spec.duration.is_none_or(|d| d == p.duration)
                    && spec.replication.is_none_or(|r| r == p.replication)
                    && normalised_shard_group_duration(spec.shard_group_duration, p.duration)
                        == p.shard_group_duration
            });
            if with && !(matches && existing.default_policy == rp) {
                return Err(MetaError::RetentionPolicyConflict);
            }
            return Ok(());
        }
        check_name(rp)?;
        let policy = build_policy(spec)?;
        self.databases.insert(
            name.to_string(),
            DatabaseInfo {
                default_policy: rp.to_string(),
                policies: BTreeMap::from([(rp.to_string(), policy)]),
                continuous_queries: Vec::new(),
            },
        );
        Ok(())
    }

    /// Drops a database; returns the shard ids it had. No error if it does not exist.
    pub fn drop_database(&mut self, name: &str) -> Vec<u64> {
        self.databases
            .remove(name)
            .map(|db| {
                db.policies
                    .values()
                    .flat_map(|p| p.shard_groups.iter().map(|g| g.id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Creates a retention policy (no-op when an identical one exists).
    pub fn create_policy(
        &mut self,
        db: &str,
        name: &str,
        spec: PolicySpec,
    ) -> Result<(), MetaError> {
        check_name(name)?;
        let make_default = spec.default;
        let policy = build_policy(spec)?;
        let database = self.database_mut(db)?;
        if let Some(existing) = database.policies.get(name) {
            let same = existing.duration == policy.duration
                && existing.shard_group_duration == policy.shard_group_duration
                && existing.replication == policy.replication
                && (!make_default || database.default_policy == name);
            return if same {
                Ok(())
            } else {
                Err(MetaError::RetentionPolicyConflict)
            };
        }
        database.policies.insert(name.to_string(), policy);
        if make_default {
            database.default_policy = name.to_string();
        }
        Ok(())
    }

    /// Changes the given options of a policy.
    pub fn alter_policy(
        &mut self,
        db: &str,
        name: &str,
        spec: PolicySpec,
    ) -> Result<(), MetaError> {
        let database = self.database_mut(db)?;
        let policy = database
            .policies
            .get_mut(name)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(name.to_string()))?;
        let duration = spec.duration.unwrap_or(policy.duration);
        if duration != 0 && duration < HOUR {
            return Err(MetaError::DurationTooLow);
        }
        let shard = match spec.shard_group_duration {
            Some(0) => default_shard_group_duration(duration),
            Some(d) => d.max(HOUR),
            None => policy.shard_group_duration,
        };
        if duration != 0 && shard > duration {
            return Err(MetaError::ShardDurationTooLong);
        }
        policy.duration = duration;
        policy.shard_group_duration = shard;
        if let Some(r) = spec.replication {
            policy.replication = r;
        }
        if spec.default {
            database.default_policy = name.to_string();
        }
        Ok(())
    }

    /// Drops a policy; returns its shard ids. No error if it does not exist.
    pub fn drop_policy(&mut self, db: &str, name: &str) -> Result<Vec<u64>, MetaError> {
        let database = self.database_mut(db)?;
        Ok(database
            .policies
            .remove(name)
            .map(|p| p.shard_groups.iter().map(|g| g.id).collect())
            .unwrap_or_default())
    }

    /// Resolves an empty policy name to the default one.
    pub fn resolve_policy<'a>(&'a self, db: &str, rp: &'a str) -> Result<&'a str, MetaError> {
        let database = self.database(db)?;
        let name = if rp.is_empty() {
            database.default_policy.as_str()
        } else {
            rp
        };
        if !database.policies.contains_key(name) {
            return Err(MetaError::RetentionPolicyNotFound(name.to_string()));
        }
        Ok(name)
    }

    /// The shard group covering `time`, creating it if needed; the bool says it was created.
    pub fn shard_group_for(
        &mut self,
        db: &str,
        rp: &str,
        time: i64,
    ) -> Result<(ShardGroupInfo, bool), MetaError> {
        let next_id = self.next_shard_id;
        let policy = self
            .database_mut(db)?
            .policies
            .get_mut(rp)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(rp.to_string()))?;
        if let Some(g) = policy
            .shard_groups
            .iter()
            .find(|g| g.start <= time && time < g.end)
        {
            return Ok((*g, false));
        }
        let d = policy.shard_group_duration;
        let start = group_start(time, d);
        let group = ShardGroupInfo {
            id: next_id,
            start,
            end: start.saturating_add(d),
        };
        policy.shard_groups.push(group);
        policy.shard_groups.sort_by_key(|g| g.start);
        self.next_shard_id += 1;
        Ok((group, true))
    }

    /// Every shard with its location.
    pub fn shards(&self) -> Vec<ShardLocation> {
        let mut out = Vec::new();
        for (db, info) in &self.databases {
            for (rp, policy) in &info.policies {
                for g in &policy.shard_groups {
                    out.push(ShardLocation {
                        database: db.clone(),
                        policy: rp.clone(),
                        group: *g,
                    });
                }
            }
        }
        out
    }

    /// Removes shard groups whose whole range is older than their policy allows at `now`.
    pub fn remove_expired(&mut self, now: i64) -> Vec<ShardLocation> {
        self.remove_shard_groups(|g, policy| {
            policy.duration != 0 && g.end <= now.saturating_sub(policy.duration)
        })
    }

    /// The ids of the shard groups past their retention at `now`, oldest first (what a cluster's
    /// lease holder publishes `DROP SHARD` for).
    pub fn expired_groups(&self, now: i64) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .databases
            .values()
            .flat_map(|info| info.policies.values())
            .filter(|policy| policy.duration != 0)
            .flat_map(|policy| {
                policy
                    .shard_groups
                    .iter()
                    .filter(move |g| g.end <= now.saturating_sub(policy.duration))
                    .map(|g| g.id)
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Removes the shard group (and shard) `id`, if there is one (`DROP SHARD`).
    pub fn remove_shard_group(&mut self, id: u64) -> Vec<ShardLocation> {
        self.remove_shard_groups(|g, _| g.id == id)
    }

    /// Removes the shard groups `doomed` picks; returns where they were.
    fn remove_shard_groups(
        &mut self,
        doomed: impl Fn(&ShardGroupInfo, &RetentionPolicyInfo) -> bool,
    ) -> Vec<ShardLocation> {
        let mut removed = Vec::new();
        for (db, info) in self.databases.iter_mut() {
            for (rp, policy) in info.policies.iter_mut() {
                let mut groups = std::mem::take(&mut policy.shard_groups);
                groups.retain(|g| {
                    let expired = doomed(g, policy);
                    if expired {
                        removed.push(ShardLocation {
                            database: db.clone(),
                            policy: rp.clone(),
                            group: *g,
                        });
                    }
                    !expired
                });
                policy.shard_groups = groups;
            }
        }
        removed
    }
}

/// A shard group duration as asked for, made what a policy of `duration` gets: the default
/// for that duration when none (or 0) is asked, at least an hour.
fn normalised_shard_group_duration(asked: Option<i64>, duration: i64) -> i64 {
    match asked {
        None | Some(0) => default_shard_group_duration(duration),
        Some(d) => d.max(HOUR),
    }
}

fn build_policy(spec: PolicySpec) -> Result<RetentionPolicyInfo, MetaError> {
    let duration = spec.duration.unwrap_or(0);
    if duration != 0 && duration < HOUR {
        return Err(MetaError::DurationTooLow);
    }
    let shard_group_duration = normalised_shard_group_duration(spec.shard_group_duration, duration);
    if duration != 0 && shard_group_duration > duration {
        return Err(MetaError::ShardDurationTooLong);
    }
    Ok(RetentionPolicyInfo {
        duration,
        shard_group_duration,
        replication: spec.replication.unwrap_or(1),
        shard_groups: Vec::new(),
        subscriptions: Vec::new(),
    })
}

/// A user as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// bcrypt hash of the password.
    pub hash: String,
    /// Whether the user may do everything.
    pub admin: bool,
    /// Privileges per database.
    #[serde(default, with = "privileges_text")]
    pub privileges: BTreeMap<String, Privilege>,
}

/// Privileges as `"READ"`, `"WRITE"`, `"ALL PRIVILEGES"` in `meta.json`.
mod privileges_text {
    use influxql::Privilege;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<String, Privilege>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<&String, String> = map.iter().map(|(k, v)| (k, v.to_string())).collect();
        text.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Privilege>, D::Error> {
        let text = BTreeMap::<String, String>::deserialize(d)?;
        text.into_iter()
            .map(|(db, p)| {
                let privilege = match p.as_str() {
                    "READ" => Privilege::Read,
                    "WRITE" => Privilege::Write,
                    "ALL PRIVILEGES" => Privilege::All,
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "unknown privilege {other:?}"
                        )))
                    }
                };
                Ok((db, privilege))
            })
            .collect()
    }
}

/// A continuous query as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuousQueryInfo {
    /// Its name.
    pub name: String,
    /// `CREATE CONTINUOUS QUERY …`, qualified as InfluxDB stores it.
    pub query: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(7 * DAY), "168h0m0s");
        assert_eq!(go_duration(HOUR), "1h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
    }

    #[test]
    fn shard_group_defaults_follow_influxdb() {
        assert_eq!(default_shard_group_duration(0), 7 * DAY);
        assert_eq!(default_shard_group_duration(HOUR), HOUR);
        assert_eq!(default_shard_group_duration(2 * DAY), DAY);
        assert_eq!(default_shard_group_duration(181 * DAY), 7 * DAY);
    }

    #[test]
    fn groups_are_aligned_and_reused() {
        let mut c = Catalog::default();
        c.create_database("db", None, PolicySpec::default())
            .unwrap();
        // Weekly groups start on Mondays, as Go truncates from year 1: 1970-01-05.
        let (g, created) = c.shard_group_for("db", "autogen", 8 * DAY + 5).unwrap();
        assert!(created);
        assert_eq!(g.start, 4 * DAY);
        let (g2, created) = c.shard_group_for("db", "autogen", 9 * DAY).unwrap();
        assert!(!created);
        assert_eq!(g, g2);
        let (g3, _) = c.shard_group_for("db", "autogen", -1).unwrap();
        assert_eq!(g3.start, -3 * DAY);
        assert_eq!(
            group_start(5 * HOUR + 1, HOUR),
            5 * HOUR,
            "hours and days stay on the Unix grid"
        );
        assert_eq!(group_start(DAY + 1, DAY), DAY);
    }

    #[test]
    fn expired_groups_are_removed() {
        let mut c = Catalog::default();
        let spec = PolicySpec {
            duration: Some(HOUR),
            ..Default::default()
        };
        c.create_database("db", Some("short"), spec).unwrap();
        c.shard_group_for("db", "short", 0).unwrap();
        assert!(c.remove_expired(HOUR).is_empty());
        assert_eq!(c.remove_expired(2 * HOUR).len(), 1);
    }
}
