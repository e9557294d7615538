//! XPath's conversions between numbers and strings, shared by the evaluator, the JSON tree
//! (which writes JSON numbers as text the same way) and the metric builder.

/// `number()` of a string as Telegraf's XPath library reads it (Go's `ParseFloat`, so
/// exponents too), surrounding space allowed as XPath says; NaN when it is no number.
pub fn text_number(s: &str) -> f64 {
    crate::parsers::parse_go_float(s.trim_matches([' ', '\t', '\n', '\r'])).unwrap_or(f64::NAN)
}

/// XPath's `string()` of a number: `NaN`, `Infinity`, integers without a point, else the
/// shortest decimal that reads back.
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    format!("{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_convert_as_xpath_says() {
        assert_eq!(number_text(f64::NAN), "NaN");
        assert_eq!(number_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(number_text(-0.0), "0");
        assert_eq!(number_text(1e21), "1000000000000000000000");
        assert_eq!(number_text(2.5), "2.5");
        assert_eq!(text_number(" 12 "), 12.0);
        assert_eq!(text_number("1e3"), 1000.0);
        assert!(text_number("x").is_nan());
    }
}
