//! Series keys: `measurement,k1=v1,k2=v2` with tags sorted by key and escaped as in line
//! protocol. The store identifies a series by this text; [`split`] reads it back.

use crate::escape::{escape_into, replace_escapes, Element};

/// Builds the key of a series from its measurement and tags (sorted here by raw key bytes).
pub fn build<'a>(
    measurement: &[u8],
    tags: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<u8> {
    let mut tags: Vec<(&[u8], &[u8])> = tags.into_iter().collect();
    tags.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut key = Vec::with_capacity(measurement.len() + tags.len() * 16);
    escape_into(&mut key, measurement, Element::Measurement);
    for (k, v) in tags {
        key.push(b',');
        escape_into(&mut key, k, Element::Key);
        key.push(b'=');
        escape_into(&mut key, v, Element::Key);
    }
    key
}

/// The key of a parsed line. Without escapes the written bytes are already canonical: the key
/// is the text as written when the tags come sorted, else the raw pieces in tag order; only
/// lines with escapes are unescaped and escaped again.
pub fn of_line(line: &crate::Line<'_>) -> Vec<u8> {
    // A tag value may start with a bare `=` (`t==x` is the value `=x`), which the key escapes.
    let plain = !line.measurement.has_escape()
        && line
            .tags
            .iter()
            .all(|(k, v)| !k.has_escape() && !v.has_escape() && v.raw().first() != Some(&b'='));
    if plain {
        if line.tags.windows(2).all(|w| w[0].0.raw() < w[1].0.raw()) {
            return line.key.to_vec();
        }
        let mut tags: smallvec::SmallVec<[(&[u8], &[u8]); 16]> =
            line.tags.iter().map(|(k, v)| (k.raw(), v.raw())).collect();
        tags.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut key = Vec::with_capacity(line.key.len());
        key.extend_from_slice(line.measurement.raw());
        for (k, v) in tags {
            key.push(b',');
            key.extend_from_slice(k);
            key.push(b'=');
            key.extend_from_slice(v);
        }
        return key;
    }
    build(
        &line.measurement.unescaped(),
        line.tags
            .iter()
            .map(|(k, v)| (k.unescaped(), v.unescaped()))
            .collect::<Vec<_>>()
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref())),
    )
}

/// A series key read back: measurement and tags, unescaped, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesKey {
    /// The measurement name.
    pub measurement: String,
    /// Tags sorted by key.
    pub tags: Vec<(String, String)>,
}

/// Splits a key made by [`build`]; `None` if it is not one. Read as InfluxDB reads a series
/// key (`ParseKeyBytes`): a `,` or `=` right after a backslash is text; the measurement
/// unescapes `\,` and `\ `, tags also `\=`.
pub fn split(key: &[u8]) -> Option<SeriesKey> {
    let mut parts = separated(key, b',');
    let measurement = text(replace_escapes(parts.next()?, b", "))?;
    let mut tags = Vec::new();
    for part in parts {
        let eq = (0..part.len()).find(|&j| part[j] == b'=' && !escaped(part, j))?;
        tags.push((
            text(replace_escapes(&part[..eq], b", ="))?,
            text(replace_escapes(&part[eq + 1..], b", ="))?,
        ));
    }
    Some(SeriesKey { measurement, tags })
}

/// The measurement part of a key, unescaped.
pub fn measurement(key: &[u8]) -> Option<String> {
    text(replace_escapes(measurement_bytes(key)?, b", "))
}

/// The measurement part of a key as it is in the key (escaped): to tell whether two keys
/// share a measurement without unescaping either.
pub fn measurement_bytes(key: &[u8]) -> Option<&[u8]> {
    separated(key, b',').next()
}

/// Whether the byte at `i` follows a backslash (and so is text, not a separator).
fn escaped(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1] == b'\\'
}

/// The pieces of `key` between separators `sep` that do not follow a backslash.
fn separated(key: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let end = (start..key.len())
            .find(|&i| key[i] == sep && !escaped(key, i))
            .unwrap_or_else(|| {
                done = true;
                key.len()
            });
        let piece = &key[start..end];
        start = end + 1;
        Some(piece)
    })
}

fn text(bytes: Vec<u8>) -> Option<String> {
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_keys_match_built_keys() {
        for text in [
            "m,a=1,b=2 v=1",
            "m,b=2,a=1 v=1",
            r"m\ x,a=\,1 v=1",
            "m v=1",
            "m=x,a=1 v=1",
            "m,t==x v=1",
        ] {
            let line = crate::parse_lines(text.as_bytes()).next().unwrap().unwrap();
            let tags: Vec<_> = line
                .tags
                .iter()
                .map(|(k, v)| (k.unescaped(), v.unescaped()))
                .collect();
            let built = build(
                &line.measurement.unescaped(),
                tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
            );
            assert_eq!(of_line(&line), built, "{text}");
        }
    }

    #[test]
    fn builds_sorted_escaped_keys_and_splits_them() {
        let key = build(b"c pu", [(&b"z"[..], &b"1"[..]), (b"a,b", b"x=y")]);
        assert_eq!(key, b"c\\ pu,a\\,b=x\\=y,z=1");
        let s = split(&key).unwrap();
        assert_eq!(s.measurement, "c pu");
        assert_eq!(
            s.tags,
            vec![("a,b".into(), "x=y".into()), ("z".into(), "1".into())]
        );
        assert_eq!(measurement(&key).unwrap(), "c pu");
    }

    #[test]
    fn keys_read_back_as_influxdb_reads_them() {
        // Written as `e,t=\\,\,\= v=1`: the tag value `\,,=` (InfluxDB 1.6.7 shows the same).
        let key = br"e,t=\\,\,\=";
        let s = split(key).unwrap();
        assert_eq!(s.tags, vec![("t".into(), r"\,,=".into())]);
        assert_eq!(build(b"e", [(&b"t"[..], &br"\,,="[..])]), key);
        // The tag key `reg\=ion`, from `e,reg\\=ion=x`.
        let key = build(b"e", [(&br"reg\=ion"[..], &b"x"[..])]);
        assert_eq!(key, br"e,reg\\=ion=x");
        assert_eq!(
            split(&key).unwrap().tags,
            vec![(r"reg\=ion".into(), "x".into())]
        );
        assert_eq!(measurement(br"cpu\,a\ b,t=1").unwrap(), "cpu,a b");
    }
}
