// The batchflow extension: highlighting comes from the TextMate grammar; everything else
// (diagnostics, hover, completion, navigation, formatting, quick fixes) from `batchflow lsp`,
// started here over stdio.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const command = vscode.workspace.getConfiguration("batchflow").get("path") || "batchflow";
  const server = { command, args: ["lsp"] };
  const options = {
    documentSelector: [
      { scheme: "file", language: "batchflow" },
      { scheme: "untitled", language: "batchflow" },
    ],
  };
  client = new LanguageClient("batchflow", "batchflow", { run: server, debug: server }, options);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
