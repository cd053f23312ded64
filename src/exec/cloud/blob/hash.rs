//! A local file as content: its size and SHA-256, which name its blob (`cas/<sha256>`).

use crate::exec::error::StorageError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A local file to upload, as it was when it was hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    pub path: PathBuf,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

impl LocalFile {
    /// The content-addressed blob name: `cas/<sha256>`.
    pub fn cas_name(&self) -> String {
        format!("cas/{}", self.sha256)
    }
}

/// Reads `path` through once (blocking: call it from a blocking thread in async code) and
/// returns its size and SHA-256.
pub fn hash_file(path: &Path) -> Result<LocalFile, StorageError> {
    let io = |error| StorageError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(LocalFile {
        path: path.to_path_buf(),
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// Hashes `paths` on blocking threads, as many at once as there are cores, and returns them
/// in the same order. The first file that cannot be read stops it.
pub async fn hash_files(paths: &[PathBuf]) -> Result<Vec<LocalFile>, StorageError> {
    use futures::{StreamExt, TryStreamExt};
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    futures::stream::iter(paths.iter().cloned())
        .map(|path| async move {
            tokio::task::spawn_blocking(move || hash_file(&path))
                .await
                .unwrap_or_else(|e| Err(StorageError::Transport(format!("a hashing thread failed: {e}"))))
        })
        .buffered(cores)
        .try_collect()
        .await
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_file_as_sha256sum_does() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, b"abc").expect("write");
        let f = hash_file(&path).expect("hashed");
        assert_eq!(f.size, 3);
        assert_eq!(
            f.cas_name(),
            "cas/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let missing = hash_file(&dir.path().join("nope")).expect_err("no such file");
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
