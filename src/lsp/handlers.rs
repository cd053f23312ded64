//! Answers to the editor's requests about one analyzed document: each parses its parameters,
//! turns the position into a byte offset (none outside the text: an empty answer), and calls
//! the pure function that knows the answer.

use super::analysis::Analysis;
use super::{actions, completion, hover, navigate};
use crate::stdlib::Date;
use lsp_types::{
    CodeActionParams, CompletionParams, DocumentSymbolParams, GotoDefinitionParams, Hover, HoverContents, HoverParams,
    MarkupContent, MarkupKind, Position, ReferenceParams, RenameParams, TextDocumentPositionParams,
};
use serde_json::Value;

/// The answer to `method`, or an error message for the client.
pub fn answer(method: &str, params: Value, a: &Analysis, text: &str, today: Date) -> Result<Value, String> {
    let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| e.to_string());
    let offset = |pos: Position| a.lines.offset(&a.text, pos);
    match method {
        "textDocument/hover" => {
            let p: HoverParams = parse(params)?;
            let tdp = p.text_document_position_params;
            let found = offset(tdp.position).and_then(|o| hover::hover(a, o, today));
            json(serde_json::to_value(found.map(|(md, (s, e))| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: md,
                }),
                range: Some(a.lines.range(&a.text, s, e)),
            })))
        }
        "textDocument/completion" => {
            let p: CompletionParams = parse(params)?;
            let pos = p.text_document_position.position;
            // Completion reads the text as typed; the analysis is only asked for hook names.
            let lines = super::lines::Lines::new(text, a.lines.encoding());
            let items = lines
                .offset(text, pos)
                .map(|o| completion::complete(text, o, a, today))
                .unwrap_or_default();
            json(serde_json::to_value(items))
        }
        "textDocument/definition" => {
            let p: GotoDefinitionParams = parse(params)?;
            let tdp = p.text_document_position_params;
            let found = offset(tdp.position).and_then(|o| navigate::definition(a, &tdp.text_document.uri, o));
            json(serde_json::to_value(found))
        }
        "textDocument/references" => {
            let p: ReferenceParams = parse(params)?;
            let tdp = p.text_document_position;
            let with_decl = p.context.include_declaration;
            let found = offset(tdp.position)
                .map(|o| navigate::references(a, &tdp.text_document.uri, o, with_decl))
                .unwrap_or_default();
            json(serde_json::to_value(found))
        }
        "textDocument/prepareRename" => {
            let p: TextDocumentPositionParams = parse(params)?;
            match offset(p.position) {
                Some(o) => json(serde_json::to_value(navigate::prepare_rename(a, o)?)),
                None => Ok(Value::Null),
            }
        }
        "textDocument/rename" => {
            let p: RenameParams = parse(params)?;
            let tdp = p.text_document_position;
            match offset(tdp.position) {
                Some(o) => json(serde_json::to_value(navigate::rename(
                    a,
                    &tdp.text_document.uri,
                    o,
                    &p.new_name,
                )?)),
                None => Ok(Value::Null),
            }
        }
        "textDocument/documentSymbol" => {
            let _: DocumentSymbolParams = parse(params)?;
            json(serde_json::to_value(navigate::outline(a)))
        }
        "textDocument/codeAction" => {
            let p: CodeActionParams = parse(params)?;
            let (start, end) = (offset(p.range.start), offset(p.range.end));
            let found = match (start, end) {
                (Some(s), Some(e)) => actions::actions(a, &p.text_document.uri, s, e, today),
                _ => Vec::new(),
            };
            json(serde_json::to_value(found))
        }
        _ => Err(format!("no method `{method}`")),
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, String> {
    serde_json::from_value(params).map_err(|e| format!("invalid parameters: {e}"))
}

/// The methods [`answer`] knows; each needs the document analyzed.
pub const METHODS: [&str; 8] = [
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/prepareRename",
    "textDocument/rename",
    "textDocument/documentSymbol",
    "textDocument/codeAction",
];
