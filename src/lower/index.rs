//! Name tables for pools, registries, jobs and the tasks of each job: constant-time lookups
//! (a file may declare a hundred thousand tasks) and Batch's case-insensitive uniqueness.

use crate::source::Span;
use std::collections::HashMap;

pub struct NameIndex<Id> {
    /// Lowercased name -> (name as written, where, id).
    by_lower: HashMap<String, (String, Span, Id)>,
}

impl<Id> Default for NameIndex<Id> {
    fn default() -> Self {
        NameIndex {
            by_lower: HashMap::new(),
        }
    }
}

impl<Id: Copy> NameIndex<Id> {
    /// Registers a name; `Err` with the first declaration when one differs only in case.
    pub fn claim(&mut self, name: &str, span: Span, id: Id) -> Result<(), (String, Span)> {
        let key = name.to_ascii_lowercase();
        if let Some((first, first_span, _)) = self.by_lower.get(&key) {
            return Err((first.clone(), *first_span));
        }
        self.by_lower.insert(key, (name.to_string(), span, id));
        Ok(())
    }

    /// A reference, compared exactly as written.
    pub fn get(&self, name: &str) -> Option<Id> {
        self.by_lower
            .get(&name.to_ascii_lowercase())
            .filter(|(written, _, _)| written == name)
            .map(|(_, _, id)| *id)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_lower.values().map(|(n, _, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_ignore_case_and_lookups_do_not() {
        let mut idx = NameIndex::default();
        assert!(idx.claim("gpu", Span::default(), 1).is_ok());
        assert_eq!(
            idx.claim("GPU", Span::default(), 2).map_err(|e| e.0),
            Err("gpu".to_string())
        );
        assert_eq!(idx.get("gpu"), Some(1));
        assert_eq!(idx.get("Gpu"), None);
    }
}
