//! `batchflow lsp` on the edits editors really send: ranges of text (`change: 2`), counted in
//! UTF-16 code units unless the client offers UTF-8, on lines holding non-ASCII text.

use crate::lsp_client::Client;
use crate::support::Repo;
use serde_json::{json, Value};

/// `n` sits after an emoji (4 UTF-8 bytes, 2 UTF-16 units) and an `é` (2 bytes, 1 unit).
const TEXT: &str = "param n: int = 1\nlet s = \"😀é${n}\"\n";

/// Replaces `line:start..end` (in the negotiated encoding) with `text`.
fn edit(c: &mut Client, uri: &str, version: i64, line: u32, (start, end): (u32, u32), text: &str) {
    let range = json!({ "start": { "line": line, "character": start }, "end": { "line": line, "character": end } });
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": text }] }),
    );
}

fn diagnostics_of(c: &mut Client, uri: &str, version: i64) -> Vec<Value> {
    let uri = uri.to_string();
    let msg = c.wait(move |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["version"] == version
    });
    msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
}

/// Types `m` over the `n` at `column`, checks the unknown name is reported there, types `n`
/// back, and hovers it.
fn retype_the_name(mut c: Client, column: u32) {
    let uri = c.open("pipelines/edits.batchflow", TEXT);
    assert_eq!(diagnostics_of(&mut c, &uri, 1), Vec::<Value>::new());
    edit(&mut c, &uri, 2, 1, (column, column + 1), "m");
    let diags = diagnostics_of(&mut c, &uri, 2);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]["message"].as_str().is_some_and(|m| m.contains("`m`")),
        "{diags:?}"
    );
    assert_eq!(
        diags[0]["range"]["start"],
        json!({ "line": 1, "character": column }),
        "{diags:?}"
    );
    edit(&mut c, &uri, 3, 1, (column, column + 1), "n");
    assert_eq!(diagnostics_of(&mut c, &uri, 3), Vec::<Value>::new());
    let hover = c.at("textDocument/hover", &uri, 1, column);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("param n: int = 1")),
        "{hover}"
    );
    // A new line typed in two pieces, the second inside the first.
    edit(&mut c, &uri, 4, 2, (0, 0), "param k: int = \n");
    edit(&mut c, &uri, 5, 2, (15, 15), "7");
    assert_eq!(diagnostics_of(&mut c, &uri, 5), Vec::<Value>::new());
    let hover = c.at("textDocument/hover", &uri, 2, 6);
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("int: `7`")),
        "{hover}"
    );
    c.stop();
}

#[test]
fn ranged_edits_count_utf16_units_by_default() {
    // `let s = "` is 9 units, 😀 two, é one, `${` two.
    retype_the_name(Client::start(), 14);
}

#[test]
fn ranged_edits_count_bytes_when_the_client_offers_utf8() {
    let caps = json!({ "general": { "positionEncodings": ["utf-8", "utf-16"] } });
    // 9 bytes, 😀 four, é two, `${` two.
    retype_the_name(Client::start_with(Repo::new(), caps), 17);
}
