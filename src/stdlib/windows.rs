//! Windows Server builds (`stdlib/windows-builds.csv`): which build a container image tag or
//! a pool image's Marketplace sku names, and which image builds a host runs with process
//! isolation (BF223).

use std::sync::OnceLock;

const CSV: &str = include_str!("../../stdlib/windows-builds.csv");

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowsBuild {
    /// The OS build number: `20348`.
    pub build: u32,
    /// `Windows Server 2022`.
    pub release: String,
    /// Image tag words that name this build, lowercase: `ltsc2022`.
    pub image_tags: Vec<String>,
    /// Words of a Marketplace offer or sku that name this build, lowercase: `2022`.
    pub sku_words: Vec<String>,
    /// Other image builds a host of this build runs with process isolation.
    pub process_also_runs: Vec<u32>,
}

impl WindowsBuild {
    /// Whether a host of this build starts a container of `image` build with process isolation.
    pub fn runs_process_isolated(&self, image: u32) -> bool {
        image == self.build || self.process_also_runs.contains(&image)
    }

    /// The tag to suggest for images of this build: the first one listed.
    pub fn tag(&self) -> &str {
        self.image_tags.first().map_or("", String::as_str)
    }
}

fn table() -> &'static [WindowsBuild] {
    static TABLE: OnceLock<Vec<WindowsBuild>> = OnceLock::new();
    TABLE.get_or_init(|| parse(CSV).unwrap_or_default())
}

fn words(field: &str) -> Vec<String> {
    super::split_list(field).map(str::to_ascii_lowercase).collect()
}

fn parse(text: &str) -> Result<Vec<WindowsBuild>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let what = format!("windows-builds.csv row {}", i + 2);
        let r = record.map_err(|e| format!("{what}: {e}"))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim();
        let build = |text: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("{what}: `{text}` is not a build"))
        };
        rows.push(WindowsBuild {
            build: build(field(0))?,
            release: field(1).to_string(),
            image_tags: words(field(2)),
            sku_words: words(field(3)),
            process_also_runs: super::split_list(field(4)).map(build).collect::<Result<_, _>>()?,
        });
    }
    Ok(rows)
}

pub fn windows_builds() -> &'static [WindowsBuild] {
    table()
}

pub fn windows_build(build: u32) -> Option<&'static WindowsBuild> {
    table().iter().find(|b| b.build == build)
}

/// The build an image tag word names (`ltsc2022`, `1809`), ignoring case.
pub fn windows_build_by_tag(word: &str) -> Option<&'static WindowsBuild> {
    table()
        .iter()
        .find(|b| b.image_tags.iter().any(|t| t.eq_ignore_ascii_case(word)))
}

/// The build a word of a Marketplace offer or sku names (`2022`, `20h2`), ignoring case.
pub fn windows_build_by_sku_word(word: &str) -> Option<&'static WindowsBuild> {
    table()
        .iter()
        .find(|b| b.sku_words.iter().any(|t| t.eq_ignore_ascii_case(word)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_completely() {
        let rows = parse(CSV).expect("windows-builds.csv parses");
        assert_eq!(rows.len(), windows_builds().len());
        assert!(rows.len() >= 4);
        for row in &rows {
            assert!(!row.image_tags.is_empty(), "{} has no tag", row.build);
            for other in &row.process_also_runs {
                assert!(
                    windows_build(*other).is_some(),
                    "{} names unknown build {other}",
                    row.build
                );
            }
        }
    }

    #[test]
    fn tags_and_skus_name_builds() {
        assert_eq!(windows_build_by_tag("LTSC2022").map(|b| b.build), Some(20348));
        assert_eq!(windows_build_by_tag("1809").map(|b| b.build), Some(17763));
        assert_eq!(windows_build_by_sku_word("2019").map(|b| b.build), Some(17763));
        assert!(windows_build_by_tag("2022").is_none());
        let host = windows_build(26100).expect("2025");
        assert!(host.runs_process_isolated(20348) && !host.runs_process_isolated(17763));
    }
}
