//! The syntax tree, and its `Display` back to InfluxQL text that parses to the same tree.

mod expr;

use expr::write_regex;
pub use expr::{write_duration, BinaryOp, Expr, VarType};

use crate::quote::{write_ident, write_string};
use std::fmt;

/// One InfluxQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT …`
    Select(SelectStatement),
    /// `CREATE DATABASE name [WITH …]`
    CreateDatabase {
        /// Database name.
        name: String,
        /// The retention policy given with `WITH`, if any.
        policy: Option<RetentionPolicyOptions>,
    },
    /// `DROP DATABASE name`
    DropDatabase {
        /// Database name.
        name: String,
    },
    /// `SHOW DATABASES`
    ShowDatabases,
    /// `CREATE SUBSCRIPTION name ON db.rp DESTINATIONS ANY|ALL 'url', …`
    CreateSubscription {
        /// Subscription name.
        name: String,
        /// Database whose writes are forwarded.
        database: String,
        /// Retention policy whose writes are forwarded.
        retention_policy: String,
        /// One destination per write, or all of them.
        mode: SubscriptionMode,
        /// Destination URLs.
        destinations: Vec<String>,
    },
    /// `DROP SUBSCRIPTION name ON db.rp`
    DropSubscription {
        /// Subscription name.
        name: String,
        /// Its database.
        database: String,
        /// Its retention policy.
        retention_policy: String,
    },
    /// `SHOW SUBSCRIPTIONS`
    ShowSubscriptions,
    /// `CREATE RETENTION POLICY name ON db …`
    CreateRetentionPolicy {
        /// Policy name.
        name: String,
        /// Database it belongs to.
        database: String,
        /// Its options; duration and replication are always set here.
        options: RetentionPolicyOptions,
    },
    /// `ALTER RETENTION POLICY name ON db …`
    AlterRetentionPolicy {
        /// Policy name.
        name: String,
        /// Database it belongs to.
        database: String,
        /// What changes.
        options: RetentionPolicyOptions,
    },
    /// `DROP RETENTION POLICY name ON db`
    DropRetentionPolicy {
        /// Policy name.
        name: String,
        /// Database it belongs to.
        database: String,
    },
    /// `SHOW RETENTION POLICIES [ON db]`
    ShowRetentionPolicies {
        /// `ON db`, when given.
        database: Option<String>,
    },
    /// `SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT = m | =~ /re/]`
    ShowMeasurements {
        /// `ON db`, when given.
        database: Option<String>,
        /// `WITH MEASUREMENT …`, when given.
        measurement: Option<MeasurementName>,
        /// `WHERE …` on tags, when given.
        condition: Option<Expr>,
        /// `LIMIT n`.
        limit: Option<u64>,
        /// `OFFSET n`.
        offset: Option<u64>,
    },
    /// `SHOW SHARDS`
    ShowShards,
    /// `SHOW SHARD GROUPS`
    ShowShardGroups,
    /// `SHOW USERS`
    ShowUsers,
    /// `SHOW CONTINUOUS QUERIES`
    ShowContinuousQueries,
    /// `SHOW MEASUREMENT|SERIES|TAG KEY|TAG VALUES|FIELD KEY [EXACT] CARDINALITY [ON db]
    /// [FROM …] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]`
    ShowCardinality {
        /// Of what.
        of: CardinalityOf,
        /// `EXACT`: counted per measurement rather than estimated.
        exact: bool,
        /// `ON`, `FROM`, `WHERE`, `LIMIT`, `OFFSET`.
        scope: ShowStatement,
    },
    /// `SHOW TAG KEYS [ON db] [FROM …] [WHERE …] [LIMIT n] [OFFSET n]`
    ShowTagKeys(ShowStatement),
    /// `SHOW TAG VALUES [ON db] [FROM …] WITH KEY … [WHERE …] [LIMIT n] [OFFSET n]`
    ShowTagValues(ShowStatement, TagKeyFilter),
    /// `SHOW FIELD KEYS [ON db] [FROM …]`
    ShowFieldKeys(ShowStatement),
    /// `SHOW SERIES [ON db] [FROM …] [WHERE …] [LIMIT n] [OFFSET n]`
    ShowSeries(ShowStatement),
    /// `CREATE USER u WITH PASSWORD 'pw' [WITH ALL PRIVILEGES]`.
    CreateUser {
        /// User name.
        name: String,
        /// Clear-text password (hashed before it is stored).
        password: String,
        /// Whether the user is an admin.
        admin: bool,
    },
    /// `DROP USER u`.
    DropUser {
        /// User name.
        name: String,
    },
    /// `SET PASSWORD FOR u = 'pw'`.
    SetPassword {
        /// User name.
        name: String,
        /// New clear-text password.
        password: String,
    },
    /// `DELETE [FROM m, …] [WHERE …]`: points of the matching series in the time range.
    Delete {
        /// `FROM` measurements (empty: every measurement).
        sources: Vec<Measurement>,
        /// `WHERE`: tags and time.
        condition: Option<Expr>,
    },
    /// `DROP SERIES [FROM m, …] [WHERE …]`: whole series, by tags.
    DropSeries {
        /// `FROM` measurements (empty: every measurement).
        sources: Vec<Measurement>,
        /// `WHERE`: tags only.
        condition: Option<Expr>,
    },
    /// `DROP MEASUREMENT m`.
    DropMeasurement {
        /// Measurement name.
        name: String,
    },
    /// `GRANT p ON db TO u`, or `GRANT ALL [PRIVILEGES] TO u` (admin) when `database` is `None`.
    Grant {
        /// What is granted (always `All` for admin).
        privilege: Privilege,
        /// The database; `None` makes the user an admin.
        database: Option<String>,
        /// User name.
        user: String,
    },
    /// `REVOKE p ON db FROM u`, or `REVOKE ALL [PRIVILEGES] FROM u` (admin) when `database` is
    /// `None`.
    Revoke {
        /// What is revoked.
        privilege: Privilege,
        /// The database; `None` takes admin away.
        database: Option<String>,
        /// User name.
        user: String,
    },
    /// `SHOW QUERIES`.
    ShowQueries,
    /// `EXPLAIN [ANALYZE] select`: how the query would be (or was) run.
    Explain {
        /// `ANALYZE`: run it and report what it did, with timings.
        analyze: bool,
        /// The query.
        select: Box<SelectStatement>,
    },
    /// `SHOW STATS [FOR 'module']`: the server's counters, per module.
    ShowStats {
        /// `FOR 'module'`: only that module.
        module: Option<String>,
    },
    /// `SHOW DIAGNOSTICS [FOR 'module']`: build, runtime and system facts.
    ShowDiagnostics {
        /// `FOR 'module'`: only that module.
        module: Option<String>,
    },
    /// `DROP SHARD id`: a shard (and its data).
    DropShard {
        /// Shard id, as `SHOW SHARDS` lists it.
        id: u64,
    },
    /// `CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN select END`.
    CreateContinuousQuery {
        /// Its name, unique within the database.
        name: String,
        /// The database it runs on.
        database: String,
        /// `RESAMPLE EVERY`: how often it runs (ns; default the `GROUP BY time()` interval).
        resample_every: Option<i64>,
        /// `RESAMPLE FOR`: how far back each run reads (ns; default the interval).
        resample_for: Option<i64>,
        /// The `SELECT … INTO …` it runs.
        query: Box<SelectStatement>,
    },
    /// `DROP CONTINUOUS QUERY name ON db`.
    DropContinuousQuery {
        /// Its name.
        name: String,
        /// Its database.
        database: String,
    },
    /// `KILL QUERY id [ON "host"]`.
    KillQuery {
        /// Query id.
        id: u64,
        /// The node (ignored by a single-node store).
        host: Option<String>,
    },
    /// `SHOW GRANTS FOR u`.
    ShowGrants {
        /// User name.
        user: String,
    },
}

impl Statement {
    /// Whether the statement only reads: `SELECT` without `INTO`, `SHOW …`, or `EXPLAIN` of
    /// such a `SELECT`. These are what InfluxDB 1.x means by a read-only context, the
    /// statements a `GET` may carry; everything else changes the server and must be `POST`ed.
    ///
    /// ```
    /// use influxql::parse_statement;
    /// assert!(parse_statement("SELECT * FROM cpu").unwrap().is_read_only());
    /// assert!(!parse_statement("SELECT * INTO b FROM cpu").unwrap().is_read_only());
    /// assert!(!parse_statement("DROP DATABASE x").unwrap().is_read_only());
    /// ```
    pub fn is_read_only(&self) -> bool {
        match self {
            Statement::Select(s) => s.into.is_none(),
            Statement::Explain { select, .. } => select.into.is_none(),
            Statement::ShowDatabases
            | Statement::ShowSubscriptions
            | Statement::ShowRetentionPolicies { .. }
            | Statement::ShowMeasurements { .. }
            | Statement::ShowShards
            | Statement::ShowShardGroups
            | Statement::ShowUsers
            | Statement::ShowContinuousQueries
            | Statement::ShowCardinality { .. }
            | Statement::ShowTagKeys(_)
            | Statement::ShowTagValues(..)
            | Statement::ShowFieldKeys(_)
            | Statement::ShowSeries(_)
            | Statement::ShowQueries
            | Statement::ShowStats { .. }
            | Statement::ShowDiagnostics { .. }
            | Statement::ShowGrants { .. } => true,
            Statement::CreateDatabase { .. }
            | Statement::DropDatabase { .. }
            | Statement::CreateSubscription { .. }
            | Statement::DropSubscription { .. }
            | Statement::CreateRetentionPolicy { .. }
            | Statement::AlterRetentionPolicy { .. }
            | Statement::DropRetentionPolicy { .. }
            | Statement::CreateUser { .. }
            | Statement::DropUser { .. }
            | Statement::SetPassword { .. }
            | Statement::Delete { .. }
            | Statement::DropSeries { .. }
            | Statement::DropMeasurement { .. }
            | Statement::Grant { .. }
            | Statement::Revoke { .. }
            | Statement::DropShard { .. }
            | Statement::CreateContinuousQuery { .. }
            | Statement::DropContinuousQuery { .. }
            | Statement::KillQuery { .. } => false,
        }
    }

    /// The statement as text with passwords shown as `[REDACTED]`, for logs and error messages
    /// (as InfluxDB prints it there; the result does not parse back).
    pub fn redacted(&self) -> String {
        struct Ident<'a>(&'a str);
        impl fmt::Display for Ident<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_ident(f, self.0)
            }
        }
        match self {
            Statement::CreateUser { name, admin, .. } => format!(
                "CREATE USER {} WITH PASSWORD [REDACTED]{}",
                Ident(name),
                if *admin { " WITH ALL PRIVILEGES" } else { "" }
            ),
            Statement::SetPassword { name, .. } => {
                format!("SET PASSWORD FOR {} = [REDACTED]", Ident(name))
            }
            other => other.to_string(),
        }
    }
}

/// A privilege on a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    /// `READ`: SELECT and SHOW on the database.
    Read,
    /// `WRITE`: writes to the database.
    Write,
    /// `ALL [PRIVILEGES]`: both.
    All,
}

impl Privilege {
    /// Whether holding `self` allows what `wanted` allows.
    pub fn covers(self, wanted: Privilege) -> bool {
        self == Privilege::All || self == wanted
    }

    /// `self` without `revoked` (`None` when nothing is left).
    pub fn without(self, revoked: Privilege) -> Option<Privilege> {
        match (self, revoked) {
            (_, Privilege::All) => None,
            (Privilege::All, Privilege::Read) => Some(Privilege::Write),
            (Privilege::All, Privilege::Write) => Some(Privilege::Read),
            (held, revoked) if held == revoked => None,
            (held, _) => Some(held),
        }
    }

    /// `self` with `granted` added.
    pub fn with(self, granted: Privilege) -> Privilege {
        if self == granted {
            self
        } else {
            Privilege::All
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        })
    }
}

/// The common parts of the schema `SHOW` statements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShowStatement {
    /// `ON db`.
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Measurement>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
    /// `OFFSET n`.
    pub offset: Option<u64>,
}

/// Options of `CREATE DATABASE … WITH`, `CREATE/ALTER RETENTION POLICY`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionPolicyOptions {
    /// `DURATION d` in ns; `Some(0)` is `INF`.
    pub duration: Option<i64>,
    /// `REPLICATION n`.
    pub replication: Option<u32>,
    /// `SHARD DURATION d` in ns.
    pub shard_duration: Option<i64>,
    /// `NAME rp` (only in `CREATE DATABASE … WITH`).
    pub name: Option<String>,
    /// `DEFAULT`.
    pub default: bool,
}

/// `SELECT fields FROM sources [WHERE cond] [ORDER BY time DESC] [LIMIT n] [OFFSET n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    /// The select list.
    pub fields: Vec<Field>,
    /// `INTO [db.rp.]measurement`: write the result there.
    pub into: Option<Measurement>,
    /// `FROM` sources.
    pub sources: Vec<Measurement>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `GROUP BY` dimensions.
    pub dimensions: Vec<Dimension>,
    /// `fill(…)`.
    pub fill: Option<Fill>,
    /// `ORDER BY time DESC`.
    pub descending: bool,
    /// `LIMIT n` (points per series).
    pub limit: Option<u64>,
    /// `OFFSET n`.
    pub offset: Option<u64>,
    /// `SLIMIT n` (series).
    pub slimit: Option<u64>,
    /// `SOFFSET n`.
    pub soffset: Option<u64>,
    /// `tz('…')`.
    pub timezone: Option<String>,
}

/// One `GROUP BY` item.
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// `time(interval[, offset])`, in ns.
    Time {
        /// Bucket width.
        interval: i64,
        /// Shift of the bucket boundaries.
        offset: i64,
    },
    /// A tag key.
    Tag(String),
    /// `*`: every tag.
    Wildcard,
    /// `/re/`: tags whose key matches.
    Regex(String),
    /// `time(…)` with no argument or more than two: InfluxDB parses it and refuses the
    /// statement when it runs (`time dimension expected 1 or 2 arguments`).
    BadTime(Vec<Expr>),
}

/// `fill(…)`: what empty `GROUP BY time` buckets hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// `fill(null)` (the default).
    Null,
    /// `fill(none)`: empty buckets are left out.
    None,
    /// `fill(previous)`.
    Previous,
    /// `fill(linear)`.
    Linear,
    /// `fill(42)`.
    Integer(i64),
    /// `fill(4.2)`.
    Float(f64),
}

/// How `SHOW TAG VALUES` picks its keys.
#[derive(Debug, Clone, PartialEq)]
pub enum TagKeyFilter {
    /// `WITH KEY = "k"`
    Eq(String),
    /// `WITH KEY != "k"`
    Neq(String),
    /// `WITH KEY IN ("a", "b")`
    In(Vec<String>),
    /// `WITH KEY =~ /re/`
    Regex(String),
    /// `WITH KEY !~ /re/`
    NotRegex(String),
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The expression.
    pub expr: Expr,
    /// `AS alias`.
    pub alias: Option<String>,
}

/// A `FROM` source, optionally qualified by database and retention policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// `"db".` prefix.
    pub database: Option<String>,
    /// `"rp".` prefix.
    pub retention_policy: Option<String>,
    /// The measurement name or regex.
    pub name: MeasurementName,
}

/// A measurement given by name or by regex.
#[derive(Debug, Clone, PartialEq)]
pub enum MeasurementName {
    /// `cpu`
    Name(String),
    /// `/^cpu/`
    Regex(String),
    /// `:MEASUREMENT` (an `INTO` target only): the measurement each row was read from.
    Source,
    /// `(SELECT …)` (a `SELECT` source only): the rows of another query.
    Subquery(Box<SelectStatement>),
}

/// What a `SHOW … CARDINALITY` counts.
#[derive(Debug, Clone, PartialEq)]
pub enum CardinalityOf {
    /// Measurements.
    Measurement,
    /// Series.
    Series,
    /// Tag keys, per measurement.
    TagKey,
    /// Values of the tags `WITH KEY` picks, per measurement.
    TagValues(TagKeyFilter),
    /// Field keys, per measurement.
    FieldKey,
}

/// How a subscription spreads writes over its destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// Each write goes to one destination, round-robin.
    Any,
    /// Each write goes to every destination.
    All,
}

impl fmt::Display for SubscriptionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubscriptionMode::Any => "ANY",
            SubscriptionMode::All => "ALL",
        })
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.database {
            write_ident(f, db)?;
            f.write_str(".")?;
            if self.retention_policy.is_none() {
                f.write_str(".")?;
            }
        }
        if let Some(rp) = &self.retention_policy {
            write_ident(f, rp)?;
            f.write_str(".")?;
        }
        match &self.name {
            MeasurementName::Name(n) => write_ident(f, n),
            MeasurementName::Regex(re) => write_regex(f, re),
            MeasurementName::Source => f.write_str(":MEASUREMENT"),
            MeasurementName::Subquery(s) => write!(f, "({s})"),
        }
    }
}

impl fmt::Display for RetentionPolicyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.duration {
            f.write_str(" DURATION ")?;
            if d == 0 {
                f.write_str("INF")?;
            } else {
                write_duration(f, d)?;
            }
        }
        if let Some(r) = self.replication {
            write!(f, " REPLICATION {r}")?;
        }
        if let Some(d) = self.shard_duration {
            f.write_str(" SHARD DURATION ")?;
            write_duration(f, d)?;
        }
        if let Some(n) = &self.name {
            f.write_str(" NAME ")?;
            write_ident(f, n)?;
        }
        if self.default {
            f.write_str(" DEFAULT")?;
        }
        Ok(())
    }
}

impl fmt::Display for SelectStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", field.expr)?;
            if let Some(alias) = &field.alias {
                f.write_str(" AS ")?;
                write_ident(f, alias)?;
            }
        }
        if let Some(into) = &self.into {
            write!(f, " INTO {into}")?;
        }
        f.write_str(" FROM ")?;
        for (i, m) in self.sources.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m}")?;
        }
        if let Some(c) = &self.condition {
            write!(f, " WHERE {c}")?;
        }
        if !self.dimensions.is_empty() {
            f.write_str(" GROUP BY ")?;
            for (i, d) in self.dimensions.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{d}")?;
            }
        }
        if let Some(fill) = &self.fill {
            write!(f, " {fill}")?;
        }
        if self.descending {
            f.write_str(" ORDER BY time DESC")?;
        }
        if let Some(l) = self.limit {
            write!(f, " LIMIT {l}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " OFFSET {o}")?;
        }
        if let Some(l) = self.slimit {
            write!(f, " SLIMIT {l}")?;
        }
        if let Some(o) = self.soffset {
            write!(f, " SOFFSET {o}")?;
        }
        if let Some(tz) = &self.timezone {
            f.write_str(" tz(")?;
            write_string(f, tz)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Time { interval, offset } => {
                f.write_str("time(")?;
                write_duration(f, *interval)?;
                if *offset != 0 {
                    f.write_str(", ")?;
                    write_duration(f, *offset)?;
                }
                f.write_str(")")
            }
            Dimension::Tag(t) => write_ident(f, t),
            Dimension::Wildcard => f.write_str("*"),
            Dimension::Regex(re) => write_regex(f, re),
            Dimension::BadTime(args) => {
                f.write_str("time(")?;
                expr::write_args(f, args)?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fill::Null => f.write_str("fill(null)"),
            Fill::None => f.write_str("fill(none)"),
            Fill::Previous => f.write_str("fill(previous)"),
            Fill::Linear => f.write_str("fill(linear)"),
            Fill::Integer(i) => write!(f, "fill({i})"),
            Fill::Float(v) => write!(f, "fill({})", Expr::Float(*v)),
        }
    }
}

impl fmt::Display for ShowStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_show(f, self, None)
    }
}

/// `[ON db] [FROM …] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]` of a `SHOW`.
fn write_show(
    f: &mut fmt::Formatter<'_>,
    s: &ShowStatement,
    key: Option<&TagKeyFilter>,
) -> fmt::Result {
    write_on(f, &s.database)?;
    for (i, m) in s.sources.iter().enumerate() {
        f.write_str(if i == 0 { " FROM " } else { ", " })?;
        write!(f, "{m}")?;
    }
    if let Some(key) = key {
        f.write_str(" WITH KEY ")?;
        match key {
            TagKeyFilter::Eq(k) => {
                f.write_str("= ")?;
                write_ident(f, k)?;
            }
            TagKeyFilter::Neq(k) => {
                f.write_str("!= ")?;
                write_ident(f, k)?;
            }
            TagKeyFilter::In(keys) => {
                f.write_str("IN (")?;
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_ident(f, k)?;
                }
                f.write_str(")")?;
            }
            TagKeyFilter::Regex(re) => {
                f.write_str("=~ ")?;
                write_regex(f, re)?;
            }
            TagKeyFilter::NotRegex(re) => {
                f.write_str("!~ ")?;
                write_regex(f, re)?;
            }
        }
    }
    if let Some(c) = &s.condition {
        write!(f, " WHERE {c}")?;
    }
    if let Some(l) = s.limit {
        write!(f, " LIMIT {l}")?;
    }
    if let Some(o) = s.offset {
        write!(f, " OFFSET {o}")?;
    }
    Ok(())
}

fn write_on(f: &mut fmt::Formatter<'_>, database: &Option<String>) -> fmt::Result {
    if let Some(db) = database {
        f.write_str(" ON ")?;
        write_ident(f, db)?;
    }
    Ok(())
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(s) => write!(f, "{s}"),
            Statement::CreateDatabase { name, policy } => {
                f.write_str("CREATE DATABASE ")?;
                write_ident(f, name)?;
                if let Some(p) = policy {
                    write!(f, " WITH{p}")?;
                }
                Ok(())
            }
            Statement::DropDatabase { name } => {
                f.write_str("DROP DATABASE ")?;
                write_ident(f, name)
            }
            Statement::ShowDatabases => f.write_str("SHOW DATABASES"),
            Statement::CreateSubscription {
                name,
                database,
                retention_policy,
                mode,
                destinations,
            } => {
                f.write_str("CREATE SUBSCRIPTION ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)?;
                f.write_str(".")?;
                write_ident(f, retention_policy)?;
                write!(f, " DESTINATIONS {mode} ")?;
                for (i, d) in destinations.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_string(f, d)?;
                }
                Ok(())
            }
            Statement::DropSubscription {
                name,
                database,
                retention_policy,
            } => {
                f.write_str("DROP SUBSCRIPTION ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)?;
                f.write_str(".")?;
                write_ident(f, retention_policy)
            }
            Statement::ShowSubscriptions => f.write_str("SHOW SUBSCRIPTIONS"),
            Statement::CreateRetentionPolicy {
                name,
                database,
                options,
            }
            | Statement::AlterRetentionPolicy {
                name,
                database,
                options,
            } => {
                let verb = if matches!(self, Statement::CreateRetentionPolicy { .. }) {
                    "CREATE"
                } else {
                    "ALTER"
                };
                write!(f, "{verb} RETENTION POLICY ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)?;
                write!(f, "{options}")
            }
            Statement::DropRetentionPolicy { name, database } => {
                f.write_str("DROP RETENTION POLICY ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)
            }
            Statement::ShowRetentionPolicies { database } => {
                f.write_str("SHOW RETENTION POLICIES")?;
                write_on(f, database)
            }
            Statement::ShowMeasurements {
                database,
                measurement,
                condition,
                limit,
                offset,
            } => {
                f.write_str("SHOW MEASUREMENTS")?;
                write_on(f, database)?;
                match measurement {
                    Some(MeasurementName::Name(n)) => {
                        f.write_str(" WITH MEASUREMENT = ")?;
                        write_ident(f, n)?;
                    }
                    Some(MeasurementName::Regex(r)) => {
                        write!(f, " WITH MEASUREMENT =~ /{}/", r.replace('/', "\\/"))?;
                    }
                    // Not something the parser makes here.
                    Some(MeasurementName::Source | MeasurementName::Subquery(_)) | None => {}
                }
                if let Some(c) = condition {
                    write!(f, " WHERE {c}")?;
                }
                if let Some(n) = limit {
                    write!(f, " LIMIT {n}")?;
                }
                if let Some(n) = offset {
                    write!(f, " OFFSET {n}")?;
                }
                Ok(())
            }
            Statement::ShowShards => f.write_str("SHOW SHARDS"),
            Statement::ShowShardGroups => f.write_str("SHOW SHARD GROUPS"),
            Statement::ShowUsers => f.write_str("SHOW USERS"),
            Statement::CreateUser {
                name,
                password,
                admin,
            } => {
                f.write_str("CREATE USER ")?;
                write_ident(f, name)?;
                f.write_str(" WITH PASSWORD ")?;
                write_string(f, password)?;
                if *admin {
                    f.write_str(" WITH ALL PRIVILEGES")?;
                }
                Ok(())
            }
            Statement::DropUser { name } => {
                f.write_str("DROP USER ")?;
                write_ident(f, name)
            }
            Statement::SetPassword { name, password } => {
                f.write_str("SET PASSWORD FOR ")?;
                write_ident(f, name)?;
                f.write_str(" = ")?;
                write_string(f, password)
            }
            Statement::Delete { sources, condition } => {
                f.write_str("DELETE")?;
                write_from_where(f, sources, condition)
            }
            Statement::DropSeries { sources, condition } => {
                f.write_str("DROP SERIES")?;
                write_from_where(f, sources, condition)
            }
            Statement::DropMeasurement { name } => {
                f.write_str("DROP MEASUREMENT ")?;
                write_ident(f, name)
            }
            Statement::Grant {
                privilege,
                database,
                user,
            }
            | Statement::Revoke {
                privilege,
                database,
                user,
            } => {
                let grant = matches!(self, Statement::Grant { .. });
                write!(f, "{} {privilege}", if grant { "GRANT" } else { "REVOKE" })?;
                if let Some(db) = database {
                    f.write_str(" ON ")?;
                    write_ident(f, db)?;
                }
                f.write_str(if grant { " TO " } else { " FROM " })?;
                write_ident(f, user)
            }
            Statement::ShowQueries => f.write_str("SHOW QUERIES"),
            Statement::Explain { analyze, select } => {
                let analyze = if *analyze { "ANALYZE " } else { "" };
                write!(f, "EXPLAIN {analyze}{select}")
            }
            Statement::ShowStats { module } | Statement::ShowDiagnostics { module } => {
                f.write_str(if matches!(self, Statement::ShowStats { .. }) {
                    "SHOW STATS"
                } else {
                    "SHOW DIAGNOSTICS"
                })?;
                if let Some(m) = module {
                    f.write_str(" FOR ")?;
                    write_string(f, m)?;
                }
                Ok(())
            }
            Statement::DropShard { id } => write!(f, "DROP SHARD {id}"),
            Statement::CreateContinuousQuery {
                name,
                database,
                resample_every,
                resample_for,
                query,
            } => {
                f.write_str("CREATE CONTINUOUS QUERY ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)?;
                if resample_every.is_some() || resample_for.is_some() {
                    f.write_str(" RESAMPLE")?;
                    if let Some(d) = resample_every {
                        f.write_str(" EVERY ")?;
                        write_duration(f, *d)?;
                    }
                    if let Some(d) = resample_for {
                        f.write_str(" FOR ")?;
                        write_duration(f, *d)?;
                    }
                }
                write!(f, " BEGIN {query} END")
            }
            Statement::DropContinuousQuery { name, database } => {
                f.write_str("DROP CONTINUOUS QUERY ")?;
                write_ident(f, name)?;
                f.write_str(" ON ")?;
                write_ident(f, database)
            }
            Statement::KillQuery { id, host } => {
                write!(f, "KILL QUERY {id}")?;
                if let Some(h) = host {
                    f.write_str(" ON ")?;
                    write_ident(f, h)?;
                }
                Ok(())
            }
            Statement::ShowGrants { user } => {
                f.write_str("SHOW GRANTS FOR ")?;
                write_ident(f, user)
            }
            Statement::ShowContinuousQueries => f.write_str("SHOW CONTINUOUS QUERIES"),
            Statement::ShowCardinality { of, exact, scope } => {
                f.write_str(match of {
                    CardinalityOf::Measurement => "SHOW MEASUREMENT",
                    CardinalityOf::Series => "SHOW SERIES",
                    CardinalityOf::TagKey => "SHOW TAG KEY",
                    CardinalityOf::TagValues(_) => "SHOW TAG VALUES",
                    CardinalityOf::FieldKey => "SHOW FIELD KEY",
                })?;
                if *exact {
                    f.write_str(" EXACT")?;
                }
                f.write_str(" CARDINALITY")?;
                match of {
                    CardinalityOf::TagValues(key) => write_show(f, scope, Some(key)),
                    _ => write!(f, "{scope}"),
                }
            }
            Statement::ShowTagKeys(s) => write!(f, "SHOW TAG KEYS{s}"),
            Statement::ShowFieldKeys(s) => write!(f, "SHOW FIELD KEYS{s}"),
            Statement::ShowSeries(s) => write!(f, "SHOW SERIES{s}"),
            Statement::ShowTagValues(s, key) => {
                f.write_str("SHOW TAG VALUES")?;
                write_show(f, s, Some(key))
            }
        }
    }
}

/// ` FROM a, b WHERE cond` of `DELETE` and `DROP SERIES`, each part only when given.
fn write_from_where(
    f: &mut fmt::Formatter<'_>,
    sources: &[Measurement],
    condition: &Option<Expr>,
) -> fmt::Result {
    for (i, m) in sources.iter().enumerate() {
        f.write_str(if i == 0 { " FROM " } else { ", " })?;
        write!(f, "{m}")?;
    }
    if let Some(c) = condition {
        write!(f, " WHERE {c}")?;
    }
    Ok(())
}
