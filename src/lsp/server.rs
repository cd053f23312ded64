//! The language server's loop: JSON-RPC over stdio (rust-analyzer's `lsp-server`), open
//! documents, and one analysis thread.
//!
//! Typing fast queues no work: the loop takes every message already waiting before it acts,
//! so a burst of changes becomes one analysis of the last text; at most one analysis runs,
//! and its result is dropped if the text changed meanwhile (the newest text is analyzed
//! next). Requests about a document wait for the analysis of its current text, so answers
//! never refer to positions of an older one. Nothing the editor sends ends the server but
//! `exit`: a panic while analyzing or answering becomes a diagnostic or an error response.

use super::analysis::{analyze, Analysis};
use super::lines::Encoding;
use crate::compile::CompileOptions;
use lsp_server::{Connection, Message, Request, RequestId};
use lsp_types::{InitializeParams, PositionEncodingKind, Uri};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

/// Serves on stdin and stdout until the editor says `exit` or closes the pipe.
pub fn run_stdio(options: CompileOptions) -> Result<(), String> {
    let (connection, io) = Connection::stdio();
    serve(connection, options)?;
    io.join().map_err(|e| e.to_string())
}

/// Serves on `connection`.
pub fn serve(connection: Connection, options: CompileOptions) -> Result<(), String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let init: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let watch = init
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files)
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);
    let utf8 = init
        .capabilities
        .general
        .and_then(|g| g.position_encodings)
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let encoding = if utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
    connection
        .initialize_finish(id, initialize_result(encoding))
        .map_err(|e| e.to_string())?;
    if watch {
        // Hook scripts and settings change what a workflow means: ask to hear of them.
        let watchers = json!({ "registrations": [{
            "id": "batchflow-surroundings",
            "method": "workspace/didChangeWatchedFiles",
            "registerOptions": { "watchers": [{ "globPattern": "**/*.rhai" }, { "globPattern": "**/batchflow.toml" }] },
        }]});
        let register = Request::new(
            RequestId::from("watch".to_string()),
            "client/registerCapability".into(),
            watchers,
        );
        let _ = connection.sender.send(register.into());
    }
    let (events, inbox) = channel();
    let from_editor = events.clone();
    let receiver = connection.receiver.clone();
    std::thread::spawn(move || {
        for msg in receiver {
            if from_editor.send(Event::Editor(msg)).is_err() {
                return;
            }
        }
        let _ = from_editor.send(Event::Closed);
    });
    let jobs = spawn_analyzer(events, options.clone(), encoding);
    let mut server = Server {
        conn: connection,
        docs: HashMap::new(),
        waiting: Vec::new(),
        jobs,
        busy: false,
        encoding,
        options,
        shutdown: false,
    };
    server.run(&inbox);
    Ok(())
}

fn initialize_result(encoding: Encoding) -> Value {
    let position_encoding = match encoding {
        Encoding::Utf8 => "utf-8",
        Encoding::Utf16 => "utf-16",
    };
    json!({
        "capabilities": {
            "positionEncoding": position_encoding,
            "textDocumentSync": { "openClose": true, "change": 2 },
            "hoverProvider": true,
            "completionProvider": { "triggerCharacters": ["\"", ".", "="] },
            "definitionProvider": true,
            "referencesProvider": true,
            "renameProvider": { "prepareProvider": true },
            "documentSymbolProvider": true,
            "documentFormattingProvider": true,
            "codeActionProvider": { "codeActionKinds": ["quickfix"] },
        },
        "serverInfo": { "name": "batchflow", "version": env!("CARGO_PKG_VERSION") },
    })
}

pub(super) enum Event {
    Editor(Message),
    Closed,
    Analyzed(Job, Result<Box<Analysis>, String>),
}

pub(super) struct Job {
    pub uri: Uri,
    pub version: i32,
    pub path: PathBuf,
    pub text: Arc<str>,
}

fn spawn_analyzer(events: Sender<Event>, options: CompileOptions, encoding: Encoding) -> Sender<Job> {
    let (jobs, inbox) = channel::<Job>();
    std::thread::spawn(move || {
        for job in inbox {
            let result = catch_unwind(AssertUnwindSafe(|| {
                Box::new(analyze(&job.path, &job.text, encoding, &options))
            }))
            .map_err(panic_text);
            if events.send(Event::Analyzed(job, result)).is_err() {
                return;
            }
        }
    });
    jobs
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

pub(super) struct Doc {
    pub version: i32,
    pub text: Arc<str>,
    pub path: PathBuf,
    /// The newest analysis, and whether it is of `text`.
    pub analysis: Option<Arc<Analysis>>,
    pub fresh: bool,
    /// Changed since its last analysis was started.
    pub dirty: bool,
}

pub(super) struct Server {
    pub conn: Connection,
    pub docs: HashMap<Uri, Doc>,
    /// Requests waiting for their document's analysis.
    pub waiting: Vec<(Uri, Request)>,
    pub jobs: Sender<Job>,
    pub busy: bool,
    pub encoding: Encoding,
    pub options: CompileOptions,
    pub shutdown: bool,
}
