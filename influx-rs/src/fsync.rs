//! Making a directory's entries durable: after a file is created, renamed or removed, the
//! directory itself is fsynced so the change survives a crash (what the catalog, the WAL, the
//! index and the column files all rely on).

use std::path::Path;

/// Fsyncs a directory so renames and new files in it are durable.
pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
