//! Retention: shard groups whose whole time range is past their policy's duration are taken
//! out of the catalog and their files deleted; `DROP SHARD` goes the same way.

use super::{remove_dir, Engine, EngineError};
use crate::meta::ShardLocation;

impl Engine {
    /// Drops shard groups whose whole range is past their retention at `now` (ns); returns
    /// how many went.
    pub fn enforce_retention(&self, now: i64) -> Result<usize, EngineError> {
        let _changing = self.gate.read();
        let removed = self.change_catalog(|c| Ok(c.remove_expired(now)))?;
        self.remove_shards(&removed, "retention dropped shard group")?;
        Ok(removed.len())
    }

    /// `DROP SHARD id`: the shard and its data go; an unknown id is no error (as InfluxDB).
    pub fn drop_shard(&self, id: u64) -> Result<(), EngineError> {
        let _changing = self.gate.read();
        let removed = self.change_catalog(|c| Ok(c.remove_shard_group(id)))?;
        self.remove_shards(&removed, "dropped shard")
    }

    /// Closes and deletes shards already taken out of the catalog.
    fn remove_shards(&self, removed: &[ShardLocation], why: &str) -> Result<(), EngineError> {
        for loc in removed {
            self.close_shards(&[loc.group.id]);
            self.recount_series(&loc.database);
            remove_dir(&self.shard_dir(loc))?;
            tracing::info!(shard_id = loc.group.id, db = %loc.database, rp = %loc.policy, "{why}");
        }
        Ok(())
    }
}
