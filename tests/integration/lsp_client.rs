//! A language-server client for the tests: it starts `batchflow lsp` (through the support
//! builder, so with the tests' environment), speaks JSON-RPC to it over its stdin and stdout,
//! and keeps the notifications it sends in order.

use crate::support::Repo;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long one answer may take (a debug build analyzing a 10 MB file is slow).
pub const PATIENCE: Duration = Duration::from_secs(120);

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    /// Notifications received while waiting for something else.
    pub notes: Vec<Value>,
    next_id: i64,
    pub repo: Repo,
}

impl Client {
    /// A server for a fresh repository, initialized (UTF-16 positions, as most editors use).
    pub fn start() -> Client {
        Client::start_in(Repo::new())
    }

    pub fn start_in(repo: Repo) -> Client {
        Client::start_with(repo, json!({}))
    }

    /// A server for `repo`, initialized with the client capabilities `capabilities`.
    pub fn start_with(repo: Repo, capabilities: Value) -> Client {
        let mut child = repo
            .test()
            .arg("lsp")
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("batchflow lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, inbox) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            inbox,
            notes: Vec::new(),
            next_id: 1,
            repo,
        };
        let init = client.request("initialize", json!({ "capabilities": capabilities, "processId": null }));
        assert!(init["result"]["capabilities"].is_object(), "{init}");
        client.notify("initialized", json!({}));
        client
    }

    pub fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its response (the whole message, `result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait(|m| m["id"] == json!(id))
    }

    /// The `result` of a request that must succeed.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.request(method, params);
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// The next message that `want` accepts; others that are notifications are kept.
    pub fn wait(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.notes.iter().position(&want) {
            return self.notes.remove(i);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .inbox
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no answer from the server ({e}); kept: {:?}", self.notes));
            if want(&msg) {
                return msg;
            }
            self.notes.push(msg);
        }
    }

    /// Opens `text` as the document at `path` (relative to the repository) and returns its URI.
    pub fn open(&mut self, path: &str, text: &str) -> String {
        let full = self.repo.path().join(path);
        let uri = file_uri(&full);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "batchflow", "version": 1, "text": text } }),
        );
        uri
    }

    /// Replaces the whole text of a document.
    pub fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    /// The next diagnostics published for `uri`.
    pub fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let uri = uri.to_string();
        let msg = self.wait(move |m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri);
        msg["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    /// The diagnostics' codes, in order.
    pub fn codes(&mut self, uri: &str) -> Vec<String> {
        self.diagnostics(uri)
            .iter()
            .map(|d| d["code"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// A request about a position of a document.
    pub fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let mut params =
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
        if method == "textDocument/references" {
            params["context"] = json!({ "includeDeclaration": true });
        }
        self.result(method, params)
    }

    /// Shuts the server down as an editor does and checks that it exits with 0.
    pub fn stop(mut self) {
        let answer = self.request("shutdown", Value::Null);
        assert_eq!(answer["result"], Value::Null, "{answer}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "the server exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The line and column (UTF-16, as the client asked) of the first `needle` on the line of the
/// first `line_with`, plus `shift` characters.
pub fn pos(text: &str, line_with: &str, needle: &str, shift: u32) -> (u32, u32) {
    let (n, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(line_with))
        .unwrap_or_else(|| panic!("no line with `{line_with}`"));
    let at = line.find(needle).unwrap_or_else(|| panic!("no `{needle}` in `{line}`"));
    let column: usize = line[..at].chars().map(char::len_utf16).sum();
    (
        u32::try_from(n).expect("line"),
        u32::try_from(column).expect("column") + shift,
    )
}

pub fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_str().expect("utf-8 path").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length:") {
            length = n.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}
