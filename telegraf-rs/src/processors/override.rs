//! `processors.override`: renames the measurement and sets tags (replacing values already
//! there) — the renaming options an input has, for metrics of every input at once.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::Metric;
use crate::naming::Naming;

/// Options of `[processors.override]`: `name_override`, `name_prefix`, `name_suffix`, `tags`.
pub type OverrideConfig = Naming;

/// Builds the processor.
pub fn build(
    c: &OverrideConfig,
    _: &ProcessorContext,
) -> Result<Box<dyn Processor>, ProcessorError> {
    Ok(Box::new(Override(c.clone())))
}

struct Override(Naming);

impl Processor for Override {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        self.0.apply(&mut m, true);
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    #[test]
    fn renames_and_overwrites_tags() {
        let mut p = processor(
            "override",
            "name_override = \"n\"\nname_prefix = \"p_\"\nname_suffix = \"_s\"\n[tags]\nhost = \"b\"",
        );
        let m = Metric::new("cpu", 1)
            .with_tag("host", "a")
            .with_field("v", 1i64);
        let m = run(&mut p, vec![m]).remove(0);
        assert_eq!(m.name, "p_n_s");
        assert_eq!(m.tags.get("host").map(String::as_str), Some("b"));
    }
}
