//! Series keys: `measurement,k1=v1,k2=v2` with tags sorted by key and escaped as in line
//! protocol. The store identifies a series by this text; [`split`] reads it back.

use crate::escape::{escape_into, Element, EscapedStr};

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
    let plain = !line.measurement.has_escape()
        && line
            .tags
            .iter()
            .all(|(k, v)| !k.has_escape() && !v.has_escape());
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

/// Splits a key made by [`build`]; `None` if it is not one.
pub fn split(key: &[u8]) -> Option<SeriesKey> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < key.len() {
        match key[i] {
            b'\\' => i += 2,
            b',' => {
                parts.push(&key[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    parts.push(&key[start.min(key.len())..]);
    let mut parts = parts.into_iter();
    let measurement = unescape(parts.next()?, Element::Measurement)?;
    let mut tags = Vec::new();
    for part in parts {
        let mut j = 0;
        let eq = loop {
            match part.get(j)? {
                b'\\' => j += 2,
                b'=' => break j,
                _ => j += 1,
            }
        };
        tags.push((
            unescape(&part[..eq], Element::Key)?,
            unescape(&part[eq + 1..], Element::Key)?,
        ));
    }
    Some(SeriesKey { measurement, tags })
}

/// The measurement part of a key, unescaped.
pub fn measurement(key: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < key.len() {
        match key[i] {
            b'\\' => i += 2,
            b',' => break,
            _ => i += 1,
        }
    }
    unescape(&key[..i.min(key.len())], Element::Measurement)
}

fn unescape(raw: &[u8], element: Element) -> Option<String> {
    let s = EscapedStr::new(raw, element, raw.contains(&b'\\'));
    String::from_utf8(s.unescaped().into_owned()).ok()
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
}
