//! "Did you mean ...?" for unknown names, by edit distance.

/// The closest candidate, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, c)| d <= (name.chars().count().max(c.chars().count()) / 3).max(1))
        .min_by_key(|&(d, c)| (d, c))
        .map(|(_, c)| c)
}

/// `did you mean `x`?`, or `None` when nothing is close.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_not_strangers() {
        assert_eq!(closest("vmsize", ["vm_size", "image"]), Some("vm_size"));
        assert_eq!(closest("gpu", ["cpu", "gpus"]), Some("cpu"));
        assert_eq!(closest("zzzzzz", ["vm_size", "image"]), None);
        assert_eq!(closest("IMAGE", ["image"]), Some("image"));
    }
}
