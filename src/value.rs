//! Values of batchflow expressions at compile time.

use crate::graph::Image;
use std::fmt::Write;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// May contain `<secret:NAME>` placeholders (see [`secret_placeholder`]).
    Str(Arc<str>),
    /// Whole seconds.
    Duration(u64),
    List(Arc<[Value]>),
    Map(Arc<[(String, Value)]>),
    /// `start..end`, end exclusive; kept lazy so `0..10000000000` costs nothing.
    Range(i64, i64),
    Image(Arc<Image>),
}

/// How a secret appears in strings and plans: resolved only by a backend, at run time.
pub fn secret_placeholder(name: &str) -> String {
    format!("<secret:{name}>")
}

/// Whether a string holds a `secret()` placeholder.
pub fn has_secret(text: &str) -> bool {
    text.contains("<secret:")
}

impl Value {
    pub fn str(text: impl Into<Arc<str>>) -> Value {
        Value::Str(text.into())
    }

    /// The type's name as users write it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            Value::Duration(_) => "duration",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Range(_, _) => "range",
            Value::Image(_) => "image",
        }
    }

    /// Text for `${...}` interpolation and string concatenation; `None` for lists and maps.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.to_string(),
            Value::Duration(d) => format_duration(*d),
            Value::Image(img) => img.to_string(),
            Value::List(_) | Value::Map(_) | Value::Range(_, _) => return None,
        })
    }

    /// Number of elements of a list or range, without expanding a range.
    pub fn sweep_len(&self) -> Option<u64> {
        match self {
            Value::List(items) => Some(items.len() as u64),
            Value::Range(a, b) => Some(if b > a { b.abs_diff(*a) } else { 0 }),
            _ => None,
        }
    }

    /// The `i`th element of a list or range.
    pub fn sweep_item(&self, i: u64) -> Option<Value> {
        match self {
            Value::List(items) => items.get(usize::try_from(i).ok()?).cloned(),
            Value::Range(a, _) => a.checked_add(i64::try_from(i).ok()?).map(Value::Int),
            _ => None,
        }
    }
}

/// `0.1` stays `0.1`; `2.0` prints as `2.0` so floats stay recognisable.
pub fn format_float(f: f64) -> String {
    let mut s = format!("{f}");
    if f.is_finite() && !s.contains(['.', 'e', 'E']) {
        s.push_str(".0");
    }
    s
}

/// Seconds in the language's own notation: `1h30m`, `90s` -> `1m30s`, `0s`.
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let n = rest / size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            rest %= size;
        }
    }
    out
}

/// ISO-8601 as the Batch REST API takes durations: `PT25M`, `P1DT2H`.
pub fn iso8601(secs: u64) -> String {
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3_600, (secs % 3_600) / 60, secs % 60);
    let mut out = String::from("P");
    if days > 0 {
        let _ = write!(out, "{days}D");
    }
    if h > 0 || m > 0 || s > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            let _ = write!(out, "{h}H");
        }
        if m > 0 {
            let _ = write!(out, "{m}M");
        }
        if s > 0 || (h == 0 && m == 0) {
            let _ = write!(out, "{s}S");
        }
    }
    out
}

/// Reads back what [`iso8601`] writes (`PT1H30M`, `P1DT2H`).
pub fn parse_iso8601(text: &str) -> Option<std::time::Duration> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut secs: u64 = 0;
    if let Some(d) = days.strip_suffix('D') {
        secs += d.parse::<u64>().ok()?.checked_mul(86_400)?;
    }
    let mut num = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' => num.push(c),
            'H' | 'M' | 'S' => {
                let n: u64 = num.parse().ok()?;
                secs += n * match c {
                    'H' => 3_600,
                    'M' => 60,
                    _ => 1,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    Some(std::time::Duration::from_secs(secs))
}

/// `12.3 MiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `2000000` -> `2,000,000`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn iso_durations() {
        assert_eq!(iso8601(25 * 60), "PT25M");
        assert_eq!(iso8601(0), "PT0S");
        assert_eq!(iso8601(90), "PT1M30S");
        assert_eq!(iso8601(7 * 86_400), "P7D");
        assert_eq!(iso8601(86_400 + 7_200), "P1DT2H");
        assert_eq!(parse_iso8601("PT25M"), Some(std::time::Duration::from_secs(1_500)));
        assert_eq!(parse_iso8601("P1DT2H"), Some(std::time::Duration::from_secs(93_600)));
        assert_eq!(parse_iso8601("PT1M30S"), Some(std::time::Duration::from_secs(90)));
        assert_eq!(parse_iso8601("P7D"), Some(std::time::Duration::from_secs(604_800)));
        assert_eq!(parse_iso8601("bogus"), None);
    }

    #[test]
    fn durations_round_trip_to_source_form() {
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(90), "1m30s");
    }

    #[test]
    fn ranges_are_lazy() {
        let r = Value::Range(0, 10_000_000_000);
        assert_eq!(r.sweep_len(), Some(10_000_000_000));
        assert_eq!(r.sweep_item(7), Some(Value::Int(7)));
        assert_eq!(Value::Range(5, 2).sweep_len(), Some(0));
    }

    #[test]
    fn counts_have_commas() {
        assert_eq!(format_count(2_000_000), "2,000,000");
        assert_eq!(format_count(999), "999");
    }

    #[test]
    fn floats_keep_a_point() {
        assert_eq!(format_float(2.0), "2.0");
        assert_eq!(format_float(0.01), "0.01");
    }
}
