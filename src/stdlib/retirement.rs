//! When Batch stops supporting an image or a node agent, and what that means for a pool.

use super::date::Date;

/// What the retirement date of an image or node agent does to new pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// From the date on Batch no longer creates pools with it (a Batch notice, or the
    /// `batchSupportEndOfLife` of the supported-images list: "the time when the Azure Batch
    /// service will stop accepting create Pool requests for the Image").
    NoNewPools,
    /// Support ends on the date, but no Batch notice says pools are refused afterwards
    /// (a Marketplace deprecation, for instance).
    EndOfSupport,
}

impl Effect {
    fn parse(text: &str) -> Option<Effect> {
        match text.trim() {
            "no-new-pools" => Some(Effect::NoNewPools),
            "end-of-support" => Some(Effect::EndOfSupport),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retirement {
    pub date: Date,
    pub effect: Effect,
}

impl Retirement {
    /// Batch refuses new pools on `today`.
    pub fn refuses_pools(&self, today: Date) -> bool {
        self.effect == Effect::NoNewPools && self.date <= today
    }
}

/// The `retires` and `effect` fields of a row: both empty, or a date and an effect.
pub fn parse(date: &str, effect: &str, what: &str) -> Result<Option<Retirement>, String> {
    match (super::date(date, what)?, super::optional(effect)) {
        (None, None) => Ok(None),
        (Some(date), Some(text)) => Effect::parse(&text)
            .map(|effect| Some(Retirement { date, effect }))
            .ok_or_else(|| format!("{what}: effect `{text}` is not `no-new-pools` or `end-of-support`")),
        (Some(_), None) => Err(format!("{what}: a retirement date without an effect")),
        (None, Some(_)) => Err(format!("{what}: an effect without a retirement date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_and_effect_come_together() {
        let r = parse("2025-04-23", "no-new-pools", "row")
            .expect("parses")
            .expect("some");
        assert!(r.refuses_pools(Date::parse("2025-04-23").expect("date")));
        assert!(!r.refuses_pools(Date::parse("2025-04-22").expect("date")));
        assert_eq!(parse("", "", "row"), Ok(None));
        assert!(parse("2025-04-23", "", "row").is_err());
        assert!(parse("", "no-new-pools", "row").is_err());
        assert!(parse("2025-04-23", "soon", "row").is_err());
        let eos = parse("2026-06-09", "end-of-support", "row")
            .expect("parses")
            .expect("some");
        assert!(!eos.refuses_pools(Date::parse("2030-01-01").expect("date")));
    }
}
