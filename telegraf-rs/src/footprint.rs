//! The agent's resident memory on the hosts it watches. Most of it is the binary's own pages,
//! and the kernel maps those around each page that is touched (fault-around), so code that ran
//! once at start-up stays resident beside the code that gathers. [`release_start_up_code`]
//! lets the kernel take back the pages of the binary's read-only mappings once the agent
//! is built; what gathering runs comes back on first touch.

use std::io;

/// The address ranges of the running executable's mappings that are read-only and hold no
/// page of their own (no anonymous or swapped page), from `/proc/self/smaps`.
fn clean_read_only_text() -> io::Result<Vec<(usize, usize)>> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut ranges = Vec::new();
    // (range, whether it is ours and read-only, whether a page of it is its own)
    let mut current: Option<((usize, usize), bool, bool)> = None;
    let mut finish = |c: Option<((usize, usize), bool, bool)>| {
        if let Some((range, ours, owned)) = c {
            if ours && !owned {
                ranges.push(range);
            }
        }
    };
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((start, end)) = first.split_once('-') {
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                continue;
            };
            finish(current.take());
            let perms = words.next().unwrap_or_default();
            let path = words.nth(3).unwrap_or_default();
            let ours = path == exe && !perms.contains('w');
            current = Some(((start, end), ours, false));
        } else if let Some((_, _, owned)) = current.as_mut() {
            let kib = words
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            // Copies of its own (written pages, or those swapped out); a dirty page of the
            // page cache (a binary just written) is still the file's.
            if matches!(first, "Anonymous:" | "Swap:") && kib > 0 {
                *owned = true;
            }
        }
    }
    finish(current);
    Ok(ranges)
}

/// Drops the resident pages of the executable's read-only mappings that are the file's alone (code and constants:
/// the kernel reads them again from the file when they are next used). Returns the bytes of
/// address space advised.
pub fn release_start_up_code() -> io::Result<usize> {
    let mut advised = 0;
    for (start, end) in clean_read_only_text()? {
        // SAFETY: the range is a whole mapping of our own executable that is read-only and
        // holds no page of its own (anonymous or swapped), so dropping its pages loses
        // nothing: they are read back from the file on the next access.
        let rc =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        advised += end - start;
    }
    Ok(advised)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's resident file pages, in KiB.
    fn rss_file_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("RssFile:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn code_pages_are_released_and_still_run() {
        let ranges = clean_read_only_text().unwrap();
        assert!(!ranges.is_empty(), "the test binary has read-only mappings");
        let before = rss_file_kib();
        assert!(release_start_up_code().unwrap() > 0);
        let after = rss_file_kib();
        assert!(
            after < before,
            "resident file pages {before} KiB, then {after} KiB"
        );
        // The code keeps running (its pages come back from the file).
        let text: String = (0..100).map(|i| i.to_string()).collect();
        assert!(text.starts_with("0123"));
    }
}
