//! The Batch REST api-version a plan names and the azure backend sends.
//!
//! Batch is retiring the data-plane api-versions before 2025-06-01 (Azure/Batch issue #140,
//! May 2026), so that is the default. The bodies the planner writes are valid for 2025-06-01 and
//! for 2024-02-01.19.0 alike: they use no field that one of the two lacks (2025-06-01 dropped
//! certificate references, Cloud Services pools, application licenses, resource tags, the
//! node communication mode and task authentication tokens; batchflow sends none of them).

use crate::stdlib::Date;

/// The api-version of a plan unless `--api-version` says otherwise.
pub const DEFAULT_API_VERSION: &str = "2025-06-01";

/// The api-versions whose request schemas the planner's bodies are tested against.
pub const TESTED_API_VERSIONS: [&str; 2] = [DEFAULT_API_VERSION, "2024-02-01.19.0"];

/// `Err` with what is wrong unless `v` is named as Batch names its api-versions: a date
/// (`2025-06-01`, from 2025 on) or a date with a service version (`2024-02-01.19.0`, before).
pub fn check(v: &str) -> Result<(), String> {
    let (date, service) = match v.split_once('.') {
        Some((date, service)) => (date, Some(service)),
        None => (v, None),
    };
    let date_ok = date.len() == 10 && Date::parse(date).is_some();
    let service_ok = service.is_none_or(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 2
            && parts
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if date_ok && service_ok {
        Ok(())
    } else {
        Err(format!(
            "`{v}` is not a Batch api-version: they are named like `{DEFAULT_API_VERSION}` (the default), or `2024-02-01.19.0` before 2025"
        ))
    }
}

/// A note for an api-version the planner's bodies were not tested against, if `v` is one.
pub fn untested(v: &str) -> Option<String> {
    (!TESTED_API_VERSIONS.contains(&v)).then(|| {
        format!(
            "note: the request bodies are tested against api-versions {} only; Batch may refuse them, or `{v}` itself",
            TESTED_API_VERSIONS.join(" and ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_batch_api_versions_are_accepted() {
        for ok in [
            "2025-06-01",
            "2024-02-01.19.0",
            "2024-07-01.20.0",
            "2026-08-01",
            "2023-05-01.17.0",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_names_are_refused_with_both_forms_in_the_message() {
        for bad in [
            "",
            "latest",
            "2025-6-1",
            "2025-06-31",
            "2025-06-01.",
            "2025-06-01.19",
            "2024-02-01.19.0.1",
            "2024-02-01.19.x",
            "2025-06-01-preview",
            " 2025-06-01",
        ] {
            let why = check(bad).expect_err(bad);
            assert!(
                why.contains("`2025-06-01`") && why.contains("`2024-02-01.19.0`"),
                "{why}"
            );
        }
    }

    #[test]
    fn only_versions_other_than_the_tested_ones_get_a_note() {
        assert_eq!(untested(DEFAULT_API_VERSION), None);
        assert_eq!(untested("2024-02-01.19.0"), None);
        assert!(untested("2024-07-01.20.0").is_some_and(|n| n.contains("2025-06-01 and 2024-02-01.19.0")));
    }
}
