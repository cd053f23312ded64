//! The guides an installed binary carries, so its user has the documentation without a
//! checkout: `batchflow explain language` prints `docs/language.md`, and so on. Messages point
//! here (`batchflow explain TOPIC`), never at a path of the repository.

/// (topic, what it is, the page).
pub const TOPICS: [(&str, &str, &str); 8] = [
    (
        "tutorial",
        "from a laptop sweep to the same sweep on Azure Batch",
        include_str!("../docs/tutorial.md"),
    ),
    (
        "language",
        "the language reference",
        include_str!("../docs/language.md"),
    ),
    ("cli", "every command and flag", include_str!("../docs/cli.md")),
    (
        "run",
        "running on this machine, resuming, the run folder",
        include_str!("../docs/run.md"),
    ),
    (
        "azure",
        "running on Azure Batch: account, sign-in, status, cancel",
        include_str!("../docs/azure.md"),
    ),
    ("plan", "the plan's format", include_str!("../docs/plan.md")),
    (
        "mpi",
        "the MPI launch helper: what it writes, with sources",
        include_str!("../docs/mpi.md"),
    ),
    (
        "editors",
        "batchflow lsp in VS Code, Neovim, Helix and Emacs",
        include_str!("../docs/editors.md"),
    ),
];

/// The page of a topic.
pub fn page(topic: &str) -> Option<&'static str> {
    TOPICS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(topic))
        .map(|(_, _, page)| *page)
}

/// The topics, a line each, for `batchflow explain` without a topic.
pub fn index() -> String {
    let mut out = String::from("guides (`batchflow explain TOPIC`):\n\n");
    for (name, what, _) in TOPICS {
        out.push_str(&format!("  batchflow explain {name:<9} {what}\n"));
    }
    out
}
