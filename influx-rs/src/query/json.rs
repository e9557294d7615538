//! Answers as JSON, written as InfluxDB's Go encoder writes them: a whole float without a
//! fraction (`2`, not `2.0`), and `<`, `>`, `&`, U+2028 and U+2029 in strings as `\u` escapes
//! (Go's HTML-safe strings). Values keep their type up to here (a float stays a float for
//! `INTO`, subqueries and arithmetic); only the text drops the fraction.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io;

/// Largest whole float written without a fraction (beyond, the shortest round-trip text).
const WHOLE_LIMIT: f64 = 9.0e15;

/// `value` as JSON text, indented when `pretty`.
pub fn to_string(value: &impl Serialize, pretty: bool) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, GoText(PrettyFormatter::new()));
        value.serialize(&mut ser)?;
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, GoText(CompactFormatter));
        value.serialize(&mut ser)?;
    }
    // serde_json writes UTF-8 only.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// A number's text as the JSON answer writes it (for CSV cells).
pub fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && is_whole(f) => (f as i64).to_string(),
        _ => n.to_string(),
    }
}

fn is_whole(f: f64) -> bool {
    f.fract() == 0.0 && f.abs() < WHOLE_LIMIT
}

/// A formatter that writes whole floats as integers and strings HTML-safe, and otherwise does
/// what `F` does.
struct GoText<F>(F);

impl<F: Formatter> Formatter for GoText<F> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        if is_whole(value) {
            self.0.write_i64(w, value as i64)
        } else {
            self.0.write_f64(w, value)
        }
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            w.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(w, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whole_floats_lose_their_fraction_and_keep_their_type_until_written() {
        let v = serde_json::json!({"values": [[2.0, 2.5, -3.0, 1e20, 7]]});
        assert!(v["values"][0][0].is_f64());
        assert_eq!(
            to_string(&v, false).unwrap(),
            r#"{"values":[[2,2.5,-3,1e+20,7]]}"#
        );
        assert_eq!(
            to_string(&v, true).unwrap(),
            serde_json::to_string_pretty(&serde_json::json!({"values": [[2, 2.5, -3, 1e20, 7]]}))
                .unwrap()
        );
        assert_eq!(
            number_text(&serde_json::Number::from_f64(4.0).unwrap()),
            "4"
        );
        assert_eq!(
            number_text(&serde_json::Number::from_f64(4.25).unwrap()),
            "4.25"
        );
    }

    #[test]
    fn strings_are_html_safe_as_go_writes_them() {
        let v = serde_json::json!({"error": "a < b > c & d \u{2028} é\n\"q\""});
        assert_eq!(
            to_string(&v, false).unwrap(),
            r#"{"error":"a \u003c b \u003e c \u0026 d \u2028 é\n\"q\""}"#
        );
    }

    proptest! {
        /// Strings read back as written.
        #[test]
        fn strings_read_back_as_written(s in any::<String>()) {
            let text = to_string(&s, false).unwrap();
            let back: String = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, s);
        }

        /// The text reads back as the same number.
        #[test]
        fn floats_read_back_as_written(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = to_string(&f, false).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, f);
        }
    }
}
