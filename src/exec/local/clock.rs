//! Durations: ISO-8601 as the plan writes them, and short human forms.

use std::time::Duration;

/// ISO-8601 durations as the planner writes them (`PT1H30M`, `P1DT2H`).
pub fn parse_iso(text: &str) -> Option<Duration> {
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
    Some(Duration::from_secs(secs))
}

/// `1m05s`, `3.2s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h{:02}m", d.as_secs() / 3600, (d.as_secs() % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_parse() {
        assert_eq!(parse_iso("PT25M"), Some(Duration::from_secs(1_500)));
        assert_eq!(parse_iso("P1DT2H"), Some(Duration::from_secs(93_600)));
        assert_eq!(parse_iso("PT1M30S"), Some(Duration::from_secs(90)));
        assert_eq!(parse_iso("P7D"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_iso("bogus"), None);
    }
}
