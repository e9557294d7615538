//! Finds where a plugin table or one of its keys sits in a config file, so warnings and errors
//! can name the line (the TOML value tree does not keep positions).

/// 1-based line of the `nth` (0-based) `[[section]]` (or `[section]`) header in `text`.
pub(crate) fn header_line(text: &str, section: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| is_header(line, section))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

fn is_header(line: &str, section: &str) -> bool {
    let compact: String = line
        .split('#')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    compact == format!("[[{section}]]") || compact == format!("[{section}]")
}

/// 1-based line of `key = …` at or after `from` and before the next `[[…]]` header; `from`
/// itself when the key is not found (it may be an inline table's).
pub(super) fn key_line(text: &str, from: usize, key: &str) -> usize {
    for (i, line) in text.lines().enumerate().skip(from) {
        let t = line.trim_start();
        if t.starts_with("[[") {
            break;
        }
        if let Some(rest) = t.strip_prefix(key) {
            let rest = rest.trim_start();
            if rest.starts_with('=') || rest.starts_with('.') {
                return i + 1;
            }
        }
        let quoted = format!("\"{key}\"");
        if t.starts_with(&quoted) {
            return i + 1;
        }
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[agent]\n  interval = \"10s\"\n\n[[inputs.cpu]]\n  percpu = true\n\n[[ inputs.cpu ]] # again\n  totalcpu = false\n[inputs.cpu.tags]\n  a = \"b\"\n[[inputs.mem]]\n  percpu = 1\n";

    #[test]
    fn finds_headers_and_keys() {
        assert_eq!(header_line(TEXT, "agent", 0), Some(1));
        assert_eq!(header_line(TEXT, "inputs.cpu", 0), Some(4));
        assert_eq!(header_line(TEXT, "inputs.cpu", 1), Some(7));
        assert_eq!(header_line(TEXT, "inputs.cpu", 2), None);
        assert_eq!(key_line(TEXT, 7, "totalcpu"), 8);
        assert_eq!(key_line(TEXT, 7, "a"), 10);
        assert_eq!(key_line(TEXT, 4, "percpu"), 5);
        assert_eq!(
            key_line(TEXT, 7, "percpu"),
            7,
            "the next plugin's key is not this one's"
        );
    }
}
