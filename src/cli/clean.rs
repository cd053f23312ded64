//! `batchflow clean [--older-than AGE]`: removes run folders of the repository, keeping those
//! still running and azure runs that may still have pools on Batch.

use super::{eprint_line, print_out, usage_error, OK};
use batchflow::exec::{runs, state};

pub fn clean(older_than: Option<&str>) -> u8 {
    let age = match older_than.map(|a| (a, batchflow::syntax::duration_seconds(a))) {
        Some((text, None)) => {
            return usage_error(&format!(
                "--older-than {text}: give an age with a unit, such as 7d, 12h or 30m"
            ))
        }
        Some((_, Some(secs))) => Some(secs),
        None => None,
    };
    let root = match std::env::current_dir() {
        Ok(d) => state::runs_root(&d),
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let cleaned = runs::clean(&root, age, runs::now_ms() / 1000);
    for (id, why) in &cleaned.kept {
        eprint_line(&format!("kept {id}: {why}"));
    }
    let text: String = cleaned.removed.iter().map(|id| format!("removed {id}\n")).collect();
    if cleaned.removed.is_empty() {
        eprint_line("no run folders to remove");
    }
    print_out(&text).err().unwrap_or(OK)
}
