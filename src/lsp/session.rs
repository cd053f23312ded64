//! What the server does with each message: documents opened, changed and closed, analyses
//! started and finished, requests answered now or once their document is analyzed.

use super::server::{Doc, Event, Job, Server};
use super::{handlers, lines::Lines, publish, uri};
use crate::source::SrcId;
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentFormattingParams,
    PublishDiagnosticsParams, TextEdit, Uri,
};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// The protocol's "request failed" (LSP 3.17).
const REQUEST_FAILED: i32 = -32803;

impl Server {
    pub(super) fn run(&mut self, inbox: &Receiver<Event>) {
        while let Ok(event) = inbox.recv() {
            if !self.event(event) {
                return;
            }
            // Everything already waiting first: a burst of edits is analyzed once.
            while let Ok(event) = inbox.try_recv() {
                if !self.event(event) {
                    return;
                }
            }
            self.start_analysis();
            self.answer_waiting();
        }
    }

    /// Handles one event; false when the server should stop.
    fn event(&mut self, event: Event) -> bool {
        match event {
            Event::Closed => false,
            Event::Analyzed(job, result) => {
                self.analyzed(job, result);
                true
            }
            Event::Editor(Message::Request(req)) => {
                self.request(req);
                true
            }
            Event::Editor(Message::Notification(n)) => self.notification(n),
            Event::Editor(Message::Response(_)) => true,
        }
    }

    fn notification(&mut self, n: Notification) -> bool {
        match n.method.as_str() {
            "exit" => return false,
            "textDocument/didOpen" => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let doc = p.text_document;
                    let path = uri::to_path(&doc.uri).unwrap_or_else(|| PathBuf::from("untitled.batchflow"));
                    self.docs.insert(
                        doc.uri,
                        Doc {
                            version: doc.version,
                            text: Arc::from(doc.text),
                            path,
                            analysis: None,
                            fresh: false,
                            dirty: true,
                        },
                    );
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    let encoding = self.encoding;
                    if let Some(doc) = self.docs.get_mut(&p.text_document.uri) {
                        let mut text = doc.text.to_string();
                        for change in p.content_changes {
                            apply(&mut text, change, encoding);
                        }
                        doc.text = Arc::from(text);
                        doc.version = p.text_document.version;
                        doc.fresh = false;
                        doc.dirty = true;
                    }
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(&p.text_document.uri);
                    self.publish(p.text_document.uri, Vec::new(), None);
                }
            }
            "workspace/didChangeWatchedFiles" => {
                // A hook script or batchflow.toml changed on disk: every open workflow again.
                for doc in self.docs.values_mut() {
                    doc.dirty = true;
                }
            }
            "$/cancelRequest" => {
                let id = n.params.get("id").cloned();
                let id: Option<RequestId> = id.and_then(|v| serde_json::from_value(v).ok());
                if let Some(i) = self.waiting.iter().position(|(_, r)| Some(&r.id) == id.as_ref()) {
                    let (_, req) = self.waiting.remove(i);
                    self.error(req.id, ErrorCode::RequestCanceled as i32, "cancelled".into());
                }
            }
            _ => {}
        }
        true
    }

    fn request(&mut self, req: Request) {
        if self.shutdown {
            self.error(
                req.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            );
            return;
        }
        match req.method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                self.reply(req.id, Value::Null);
            }
            "textDocument/formatting" => {
                let edits = serde_json::from_value::<DocumentFormattingParams>(req.params)
                    .ok()
                    .and_then(|p| self.docs.get(&p.text_document.uri))
                    .map(|d| format_edits(&d.text, self.encoding));
                self.reply(req.id, serde_json::to_value(edits).unwrap_or(Value::Null));
            }
            m if handlers::METHODS.contains(&m) => {
                let uri = req
                    .params
                    .get("textDocument")
                    .and_then(|d| d.get("uri"))
                    .and_then(Value::as_str)
                    .and_then(|u| Uri::from_str(u).ok());
                match uri {
                    // About a document the editor never opened: nothing to say.
                    Some(u) if self.docs.contains_key(&u) => self.waiting.push((u, req)),
                    _ => self.reply(req.id, empty(&req.method)),
                }
            }
            _ => self.error(
                req.id,
                ErrorCode::MethodNotFound as i32,
                format!("no method `{}`", req.method),
            ),
        }
    }

    /// Starts analyzing the next changed document, unless an analysis is running.
    fn start_analysis(&mut self) {
        if self.busy {
            return;
        }
        let Some((uri, doc)) = self.docs.iter_mut().find(|(_, d)| d.dirty) else {
            return;
        };
        doc.dirty = false;
        let job = Job {
            uri: uri.clone(),
            version: doc.version,
            path: doc.path.clone(),
            text: Arc::clone(&doc.text),
        };
        self.busy = self.jobs.send(job).is_ok();
    }

    fn analyzed(&mut self, job: Job, result: Result<Box<super::analysis::Analysis>, String>) {
        self.busy = false;
        let Some(doc) = self.docs.get_mut(&job.uri) else { return };
        let current = doc.version == job.version && Arc::ptr_eq(&doc.text, &job.text);
        match result {
            Ok(a) => {
                let a: Arc<super::analysis::Analysis> = Arc::from(a);
                doc.analysis = Some(Arc::clone(&a));
                doc.fresh = current;
                if current {
                    let diags = publish::diagnostics(&a, &job.uri);
                    self.publish(job.uri, diags, Some(job.version));
                }
            }
            Err(why) => {
                // A bug in batchflow: say so where the user looks, and keep serving.
                doc.fresh = false;
                let d = lsp_types::Diagnostic {
                    message: format!("batchflow could not analyze this file ({why}); please report it"),
                    source: Some("batchflow".into()),
                    severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                    ..lsp_types::Diagnostic::default()
                };
                let waiting: Vec<Request> = self.take_waiting(&job.uri);
                for req in waiting {
                    self.reply(req.id, empty(&req.method));
                }
                self.publish(job.uri, vec![d], Some(job.version));
            }
        }
    }

    fn take_waiting(&mut self, uri: &Uri) -> Vec<Request> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(u, _)| u == uri);
        self.waiting = rest;
        mine.into_iter().map(|(_, r)| r).collect()
    }

    /// Answers the requests whose document's analysis is of its current text.
    fn answer_waiting(&mut self) {
        let ready: Vec<Uri> = self
            .waiting
            .iter()
            .filter(|(u, _)| self.docs.get(u).is_none_or(|d| d.fresh))
            .map(|(u, _)| u.clone())
            .collect();
        for uri in ready {
            for req in self.take_waiting(&uri) {
                let Some(doc) = self.docs.get(&uri) else {
                    self.reply(req.id, empty(&req.method));
                    continue;
                };
                let (Some(a), text) = (doc.analysis.clone(), Arc::clone(&doc.text)) else {
                    self.reply(req.id, empty(&req.method));
                    continue;
                };
                let today = self.options.today;
                let method = req.method.clone();
                let answer = catch_unwind(AssertUnwindSafe(|| {
                    handlers::answer(&method, req.params, &a, &text, today)
                }));
                match answer {
                    Ok(Ok(v)) => self.reply(req.id, v),
                    Ok(Err(why)) => self.error(req.id, REQUEST_FAILED, why),
                    Err(_) => self.error(
                        req.id,
                        ErrorCode::InternalError as i32,
                        "batchflow failed to answer".into(),
                    ),
                }
            }
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        let n = Notification::new("textDocument/publishDiagnostics".into(), params);
        let _ = self.conn.sender.send(n.into());
    }

    fn reply(&self, id: RequestId, result: Value) {
        let _ = self.conn.sender.send(Response::new_ok(id, result).into());
    }

    fn error(&self, id: RequestId, code: i32, message: String) {
        let _ = self.conn.sender.send(Response::new_err(id, code, message).into());
    }
}

/// The answer to a request that has nothing to say: `[]` for lists, `null` otherwise.
fn empty(method: &str) -> Value {
    match method {
        "textDocument/completion"
        | "textDocument/references"
        | "textDocument/documentSymbol"
        | "textDocument/codeAction" => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// The edits that format `text`; none when it does not parse (its diagnostics say why).
fn format_edits(text: &str, encoding: super::lines::Encoding) -> Vec<TextEdit> {
    let Ok(formatted) = crate::format::format_text(SrcId(0), text) else {
        return Vec::new();
    };
    let lines = Lines::new(text, encoding);
    crate::format::edits(text, &formatted)
        .into_iter()
        .map(|e| TextEdit::new(lines.range(text, e.range.start, e.range.end), e.text))
        .collect()
}

/// Applies one change from the editor; a range outside the text is clamped to it.
fn apply(text: &mut String, change: lsp_types::TextDocumentContentChangeEvent, encoding: super::lines::Encoding) {
    let Some(range) = change.range else {
        *text = change.text;
        return;
    };
    let lines = Lines::new(text, encoding);
    let start = lines.offset(text, range.start).unwrap_or(text.len());
    let end = lines.offset(text, range.end).unwrap_or(text.len()).max(start);
    text.replace_range(start..end, &change.text);
}
