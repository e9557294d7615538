//! LEB128 varints and zig-zag, shared by the WAL, the index log and the column files.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an unsigned varint at `*pos`, advancing it; `None` if truncated or too long.
#[inline]
pub fn get_uvarint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Maps signed to unsigned so that small magnitudes stay small.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads `n` bytes at `*pos`, advancing it.
#[inline]
pub fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let end = pos.checked_add(n)?;
    let b = buf.get(*pos..end)?;
    *pos = end;
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(v: u64, s: i64) {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            put_uvarint(&mut out, zigzag(s));
            let mut pos = 0;
            prop_assert_eq!(get_uvarint(&out, &mut pos), Some(v));
            prop_assert_eq!(get_uvarint(&out, &mut pos).map(unzigzag), Some(s));
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn truncated_varints_are_none(v in 128u64..) {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            out.pop();
            prop_assert_eq!(get_uvarint(&out, &mut 0), None);
        }
    }
}
