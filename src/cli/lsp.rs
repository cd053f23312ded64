//! `batchflow lsp`: the language server on stdin and stdout, for editors.

use super::{eprint_line, options, USAGE};

pub fn run() -> u8 {
    let options = match options(&[]) {
        Ok(o) => o,
        Err(e) => return super::usage_error(&e),
    };
    match batchflow::lsp::run_stdio(options) {
        Ok(()) => super::OK,
        Err(e) => {
            // stdout is the protocol's: what went wrong goes to stderr, which editors log.
            eprint_line(&format!("error: batchflow lsp: {e}"));
            USAGE
        }
    }
}
