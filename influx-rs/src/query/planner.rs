//! Planning mode of a query: each read of the storage engine is recorded with what it would
//! touch instead of being done, for `EXPLAIN`.

use crate::storage::{FieldType, MeasurementPlan};
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// What the reads of a query in planning mode would touch, per measurement read.
#[derive(Debug, Default)]
pub struct Planner(pub(super) Mutex<Vec<PlannedRead>>);

/// One measurement's planned read.
#[derive(Debug, Clone)]
pub(super) struct PlannedRead {
    pub(super) measurement: String,
    /// The measurement's field types, to write `v::float`.
    pub(super) types: BTreeMap<String, FieldType>,
    pub(super) plan: MeasurementPlan,
}

impl Planner {
    /// Records the plan of reading `measurement`, whose fields have `types`.
    pub(super) fn add(
        &self,
        measurement: &str,
        types: Vec<(String, FieldType)>,
        plan: MeasurementPlan,
    ) {
        self.0.lock().push(PlannedRead {
            measurement: measurement.to_string(),
            types: types.into_iter().collect(),
            plan,
        });
    }
}
