//! Calendar dates for retirement checks (`2025-04-23`).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        let day: u8 = parts.next()?.parse().ok()?;
        let valid = (1..=12).contains(&month) && day >= 1 && day <= month_len(i64::from(year), month);
        valid.then_some(Date { year, month, day })
    }

    /// The date `days` after this one (approximate months are not needed: day counts only).
    pub fn plus_days(self, days: u32) -> Date {
        let mut n = self.to_days() + i64::from(days);
        let mut year = 1970i64;
        loop {
            let len = if is_leap(year) { 366 } else { 365 };
            if n < len {
                break;
            }
            n -= len;
            year += 1;
        }
        let mut month = 1u8;
        loop {
            let len = i64::from(month_len(year, month));
            if n < len {
                break;
            }
            n -= len;
            month += 1;
        }
        Date {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month,
            day: u8::try_from(n + 1).unwrap_or(1),
        }
    }

    /// Days since 1970-01-01.
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year);
        let mut days: i64 = (1970..y).map(|yr| if is_leap(yr) { 366 } else { 365 }).sum();
        days += (1..self.month).map(|m| i64::from(month_len(y, m))).sum::<i64>();
        days + i64::from(self.day) - 1
    }

    /// The date of a Unix timestamp (seconds).
    pub fn from_unix(secs: u64) -> Date {
        Date {
            year: 1970,
            month: 1,
            day: 1,
        }
        .plus_days(u32::try_from(secs / 86_400).unwrap_or(u32::MAX))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_len(y: i64, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let a = Date::parse("2025-04-23").expect("date");
        let b = Date::parse("2026-11-23").expect("date");
        assert!(a < b);
        assert_eq!(Date::parse("2025-13-01"), None);
        assert_eq!(Date::parse("2026-02-29"), None);
        assert!(Date::parse("2028-02-29").is_some());
        assert_eq!(a.to_string(), "2025-04-23");
    }

    #[test]
    fn day_arithmetic() {
        let d = Date::parse("2026-11-23").expect("date");
        assert_eq!(d.plus_days(0), d);
        assert_eq!(d.plus_days(38).to_string(), "2026-12-31");
        assert_eq!(d.plus_days(39).to_string(), "2027-01-01");
        assert_eq!(Date::from_unix(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix(951_782_400).to_string(), "2000-02-29");
    }
}
