//! A small disk cache for what the online parts read and may reuse for a day (prices, the
//! account's region), under the user's cache directory: `$XDG_CACHE_HOME/batchflow`, else
//! `~/.cache/batchflow`. Best effort: a cache that cannot be read or written is a miss.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an entry is fresh.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// The cache directory, when the environment names a home for it.
pub fn dir(env: &HashMap<String, String>) -> Option<PathBuf> {
    let set = |k: &str| env.get(k).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
    set("XDG_CACHE_HOME")
        .or_else(|| set("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("batchflow"))
}

/// A file name for the parts of a key: a hash, so any text may go in.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    /// Seconds since the epoch.
    saved: u64,
    value: T,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn path(dir: &Path, kind: &str, key: &str) -> PathBuf {
    dir.join(kind).join(format!("{key}.json"))
}

/// The value saved under `kind`/`key` less than `max_age` ago.
pub fn read<T: DeserializeOwned>(dir: &Path, kind: &str, key: &str, max_age: Duration) -> Option<T> {
    let text = std::fs::read_to_string(path(dir, kind, key)).ok()?;
    let entry: Entry<T> = serde_json::from_str(&text).ok()?;
    (now().saturating_sub(entry.saved) < max_age.as_secs()).then_some(entry.value)
}

/// Saves `value` under `kind`/`key`, atomically (a reader never sees half a file).
pub fn write<T: Serialize>(dir: &Path, kind: &str, key: &str, value: &T) {
    let file = path(dir, kind, key);
    let Some(parent) = file.parent() else { return };
    let Ok(text) = serde_json::to_string(&Entry { saved: now(), value }) else {
        return;
    };
    let tmp = parent.join(format!(".{key}.{}.tmp", std::process::id()));
    let saved = std::fs::create_dir_all(parent)
        .and_then(|()| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &file));
    if saved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_until_they_are_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = key(&["https://prices.azure.com", "westeurope", "Standard_D2s_v5", "USD"]);
        assert_eq!(k.len(), 32);
        write(dir.path(), "prices", &k, &vec![1.5f64]);
        assert_eq!(read::<Vec<f64>>(dir.path(), "prices", &k, DAY), Some(vec![1.5]));
        assert_eq!(read::<Vec<f64>>(dir.path(), "prices", &k, Duration::ZERO), None);
        assert_eq!(read::<Vec<f64>>(dir.path(), "prices", "other", DAY), None);
    }

    #[test]
    fn the_directory_follows_xdg_then_home() {
        let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(
            dir(&env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c/batchflow"))
        );
        assert_eq!(dir(&env(&[("HOME", "/h")])), Some(PathBuf::from("/h/.cache/batchflow")));
        assert_eq!(dir(&env(&[])), None);
    }
}
