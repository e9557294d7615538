//! Subscribing to the store, as Kapacitor does: list databases and retention policies, and
//! `CREATE SUBSCRIPTION "kapacitor-<id>" ON "db"."rp" DESTINATIONS ANY 'http://<host>:<port>'`
//! for each one wanted that lacks it; at start (retrying until the store answers) and then
//! every sync interval.

use crate::config::InfluxDbConfig;
use crate::services::query;
use influx_client::{Client, QueryResponse};
use std::collections::BTreeSet;
use std::time::Duration;

/// Everything needed to keep one store's subscriptions right.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// The store.
    pub store: Client,
    /// Its `[[influxdb]]` settings.
    pub config: InfluxDbConfig,
    /// Subscription name (`kapacitor-<server id>`).
    pub name: String,
    /// Where the store should send writes (`http://host:port`).
    pub destination: String,
}

use influxql::{quote_ident as quote, quote_string};

/// The first column of the first statement's rows: the names a SHOW statement lists.
fn names(answer: &QueryResponse) -> Vec<String> {
    answer
        .results
        .first()
        .map(|r| r.column_strings(0))
        .unwrap_or_default()
}

impl Subscriber {
    fn wanted(&self, db: &str, rp: &str) -> bool {
        let listed = |m: &std::collections::BTreeMap<String, Vec<String>>| {
            m.get(db)
                .map(|rps| rps.is_empty() || rps.iter().any(|r| r == rp))
        };
        if listed(&self.config.excluded_subscriptions) == Some(true) {
            return false;
        }
        self.config.subscriptions.is_empty() || listed(&self.config.subscriptions) == Some(true)
    }

    /// One pass: creates the missing subscriptions and replaces ours that point elsewhere.
    pub async fn sync(&self) -> Result<usize, String> {
        let dbs = names(&query(&self.store, "", "SHOW DATABASES").await?);
        let existing = query(&self.store, "", "SHOW SUBSCRIPTIONS").await?;
        let mut ours: BTreeSet<(String, String)> = BTreeSet::new();
        for series in existing.results.iter().take(1).flat_map(|r| &r.series) {
            let db = series.name.clone();
            for row in &series.values {
                let text = |i: usize| row.get(i).and_then(|v| v.as_str()).unwrap_or_default();
                let (rp, name) = (text(0), text(1));
                if name != self.name {
                    continue;
                }
                let points_here = row
                    .get(3)
                    .and_then(|v| v.as_array())
                    .is_some_and(|d| d.iter().any(|x| x.as_str() == Some(&self.destination)));
                if points_here {
                    ours.insert((db.clone(), rp.to_string()));
                } else {
                    let q = format!(
                        "DROP SUBSCRIPTION {} ON {}.{}",
                        quote(name),
                        quote(&db),
                        quote(rp)
                    );
                    query(&self.store, &db, &q).await?;
                }
            }
        }
        let mut created = 0;
        for db in dbs {
            let rps = names(
                &query(
                    &self.store,
                    &db,
                    &format!("SHOW RETENTION POLICIES ON {}", quote(&db)),
                )
                .await?,
            );
            for rp in rps {
                if !self.wanted(&db, &rp) || ours.contains(&(db.clone(), rp.clone())) {
                    continue;
                }
                let q = format!(
                    "CREATE SUBSCRIPTION {} ON {}.{} DESTINATIONS ANY {}",
                    quote(&self.name),
                    quote(&db),
                    quote(&rp),
                    quote_string(&self.destination)
                );
                query(&self.store, &db, &q).await?;
                tracing::info!(db, rp, destination = %self.destination, "subscribed");
                created += 1;
            }
        }
        Ok(created)
    }

    /// Syncs at start (retrying every second until `startup` passes) and then every `every`.
    pub async fn run(self, startup: Duration, every: Duration) {
        let deadline = tokio::time::Instant::now() + startup;
        loop {
            match self.sync().await {
                Ok(_) => break,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!("subscriptions: store not ready: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    tracing::error!("subscriptions: {e}");
                    break;
                }
            }
        }
        let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(e) = self.sync().await {
                tracing::warn!("subscriptions: {e}");
            }
        }
    }
}
