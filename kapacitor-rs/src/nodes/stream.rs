//! The `stream` and `batch` roots of a task: what enters the task passes through them.

use super::Node;
use crate::point::Message;

/// `stream` and `batch`: the root passes everything on.
pub struct PassThrough;

impl Node for PassThrough {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        vec![msg]
    }
}
