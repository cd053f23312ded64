//! The staging upload engine as a program, for `bench/staging.py`: uploads the files under the
//! given paths (folders are walked) content-addressed into a container of the account in
//! `AZURE_STORAGE_CONNECTION_STRING`, hashing them as it goes (`upload_paths`), or first and
//! then uploading (`--hashed-first`: `hash_files` then `upload_files`), and prints one JSON
//! line of figures.
//!
//!     cargo run --release --example stage-upload -- [--hashed-first] CONTAINER PATH...

use batchflow::exec::cloud::blob::{hash_files, upload_files, upload_paths, Container, StorageAccount, UploadOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

async fn upload(c: &Container, paths: &[PathBuf], hashed_first: bool) -> Result<String, String> {
    let options = UploadOptions::default();
    let start = Instant::now();
    let (files, hash_s, up) = if hashed_first {
        let files = hash_files(paths).await.map_err(|e| e.to_string())?;
        let hash_s = start.elapsed().as_secs_f64();
        let up = upload_files(c, &files, &options, &|_| {})
            .await
            .map_err(|e| e.to_string())?;
        (files, hash_s, up)
    } else {
        let (files, up) = upload_paths(c, paths, &options, &|_| {})
            .await
            .map_err(|e| e.to_string())?;
        (files, 0.0, up)
    };
    let total_s = start.elapsed().as_secs_f64();
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    Ok(format!(
        "{{\"files\": {}, \"bytes\": {bytes}, \"hash_s\": {hash_s:.4}, \"total_s\": {total_s:.4}, \"files_sent\": {}, \"bytes_sent\": {}, \"files_skipped\": {}, \"bytes_skipped\": {}}}",
        files.len(),
        up.files_sent,
        up.bytes_sent,
        up.files_skipped,
        up.bytes_skipped
    ))
}

async fn run(args: &[String]) -> Result<String, String> {
    let hashed_first = args.first().is_some_and(|a| a == "--hashed-first");
    let args = &args[usize::from(hashed_first)..];
    let Some((container, roots)) = args.split_first().filter(|(_, r)| !r.is_empty()) else {
        return Err("usage: stage-upload [--hashed-first] CONTAINER PATH...".into());
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let account = StorageAccount::from_env(&env)
        .map_err(|e| e.to_string())?
        .ok_or("set AZURE_STORAGE_CONNECTION_STRING")?;
    let mut paths = Vec::new();
    for r in roots {
        walk(Path::new(r), &mut paths).map_err(|e| format!("{r}: {e}"))?;
    }
    let c = account.container(container);
    c.ensure().await.map_err(|e| e.to_string())?;
    upload(&c, &paths, hashed_first).await
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
