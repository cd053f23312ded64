//! Data staging: repository inputs that do not exist (BF225) or leave the repository (BF226),
//! repository outputs that land on the same file (BF227), `az://` paths with no storage
//! account (BF228), a SAS that expires before the job can end (BF229), and tasks whose input
//! files crowd Batch's request size (BF230).

use super::runnables::{self, Kind, Runnable};
use super::Context;
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{FileMap, Location, Workflow};
use crate::plan::staging::has_wildcard;
use crate::repo::normalize;
use crate::source::Span;
use crate::stdlib::Date;
use crate::value::format_count;
use std::collections::{HashMap, HashSet};

/// Batch's request limit shared by 100 tasks: a task whose resource files take more than this
/// leaves less room than a full collection needs.
const FILES_PER_TASK_BYTES: usize = 1_000_000 / 100;
/// What one resource file adds to a task body besides its path and URL.
const RESOURCE_FILE_OVERHEAD: usize = 40;
/// The length of a blob URL with its SAS, as the run fills it in (roughly).
const BLOB_URL: usize = 250;

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    let mut destinations: HashMap<String, (String, Span)> = HashMap::new();
    for r in runnables::all(wf) {
        // Every instance: a sweep variable can make one instance's path missing.
        let (mut inputs, mut outputs) = (HashSet::new(), HashSet::new());
        for spec in &r.specs {
            for f in spec.inputs.iter().filter(|f| inputs.insert(&*f.url)) {
                input(f, ctx, out);
            }
            for f in spec.outputs.iter().filter(|f| outputs.insert(&*f.url)) {
                output(f, ctx, out);
            }
        }
        sas_expiry(&r, ctx, out);
        if r.kind == Kind::Task {
            resource_file_room(&r, ctx, out);
        }
    }
    collisions(wf, &mut destinations, out);
}

fn input(f: &FileMap, ctx: &Context, out: &mut Vec<Diagnostic>) {
    match &f.location {
        Location::Repo => {
            if outside(f, out) {
                return;
            }
            let Some((_, files)) = ctx.repo.files(&f.url) else {
                return;
            };
            if files.is_empty() {
                let root = match ctx.repo.root.as_deref() {
                    Some("") => "the current folder".to_string(),
                    Some(root) => format!("`{root}`"),
                    None => "where `check` found `pipelines/`, `batchflow.toml` or `.git`".to_string(),
                };
                out.push(
                    Diagnostic::new(Code::BF225, f.span, format!("`{}` matches no file in the repository", f.url))
                        .with_help(format!(
                            "repository paths are relative to its root ({root}); check the name, or write a URL or `az://CONTAINER/PATH` for data that is not in the repository"
                        )),
                );
            }
        }
        Location::Blob { .. } => no_storage(f, ctx, out),
        Location::Url => {}
    }
}

fn output(f: &FileMap, ctx: &Context, out: &mut Vec<Diagnostic>) {
    match &f.location {
        Location::Repo => {
            outside(f, out);
        }
        Location::Blob { .. } => no_storage(f, ctx, out),
        Location::Url => {}
    }
}

/// BF226: a repository path that is absolute or climbs out of the repository.
fn outside(f: &FileMap, out: &mut Vec<Diagnostic>) -> bool {
    if normalize(&f.url).is_some() {
        return false;
    }
    out.push(
        Diagnostic::new(Code::BF226, f.span, format!("`{}` is outside the repository", f.url))
            .with_help("repository paths are relative to its root and stay inside it: no leading `/` and no `..` above the root; for other data write a URL or `az://CONTAINER/PATH`"),
    );
    true
}

/// BF228: an `az://` path with no storage account to resolve it in.
fn no_storage(f: &FileMap, ctx: &Context, out: &mut Vec<Diagnostic>) {
    if ctx.storage.is_some() {
        return;
    }
    out.push(
        Diagnostic::new(Code::BF228, f.span, format!("`{}` names blob storage, but no storage account is configured", f.url))
            .with_help("add `storage { account = \"NAME\" }` to the workflow or `[storage] account = \"NAME\"` to batchflow.toml, or set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT"),
    );
}

/// BF227: two repository outputs that land on the same file. Only destinations known to be
/// files are compared: a folder may well receive files of different names from many tasks.
fn collisions(wf: &Workflow, seen: &mut HashMap<String, (String, Span)>, out: &mut Vec<Diagnostic>) {
    for task in &wf.tasks {
        for f in task.spec.outputs.iter().filter(|f| f.location == Location::Repo) {
            if has_wildcard(&f.path) {
                continue;
            }
            let Some(dest) = normalize(&f.url) else { continue };
            let file = if f.url.ends_with('/') {
                let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                format!("{dest}/{name}")
            } else {
                dest
            };
            match seen.get(&file) {
                Some((first, first_span)) if *first != *task.id => {
                    out.push(
                        Diagnostic::new(
                            Code::BF227,
                            f.span,
                            format!("tasks `{first}` and `{}` both bring back `{file}`", task.id),
                        )
                        .with_label(*first_span, format!("`{first}` writes it here"))
                        .with_help("give each task its own destination, for example with the loop variable: `\"results/${s}/\"`"),
                    );
                    return;
                }
                Some(_) => {}
                None => {
                    seen.insert(file, (task.id.to_string(), f.span));
                }
            }
        }
    }
}

/// BF229: a URL whose SAS (`se=`) expires before the job's `max_wall_clock` can run out.
fn sas_expiry(r: &Runnable<'_>, ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(spec) = r.first() else { return };
    let wall = r.job.and_then(|j| j.max_wall_clock).unwrap_or(0);
    // The run starts today at the earliest; its job may run until `max_wall_clock` later.
    let needed = ctx
        .today
        .plus_days(u32::try_from(wall.div_ceil(86_400)).unwrap_or(u32::MAX));
    for f in spec.inputs.iter().chain(spec.outputs.iter()) {
        if f.location != Location::Url {
            continue;
        }
        let Some(expiry) = sas_expiry_date(&f.url) else {
            continue;
        };
        if expiry < needed {
            let when = if expiry < ctx.today { "expired on" } else { "expires on" };
            out.push(
                Diagnostic::new(Code::BF229, f.span, format!("the SAS of this URL {when} {expiry}"))
                    .with_help(format!(
                        "the job may run until {needed} (its `max_wall_clock` from today): issue a SAS that lasts longer, or use a repository path or `az://` and let the run make one"
                    )),
            );
        }
    }
}

/// The date of a URL's `se=` (signed expiry): `se=2026-12-01` or `se=2026-12-01T10:00:00Z`,
/// percent-encoded or not.
fn sas_expiry_date(url: &str) -> Option<Date> {
    let query = url.split_once('?')?.1;
    let se = query.split('&').find_map(|p| p.strip_prefix("se="))?;
    Date::parse(se.get(..10)?)
}

/// BF230: a task whose resource files take more of a request than a full collection leaves.
fn resource_file_room(r: &Runnable<'_>, ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(spec) = r.first() else { return };
    let mut count = 0usize;
    let mut bytes = 0usize;
    for f in spec.inputs.iter() {
        let files: Vec<(usize, usize)> = match &f.location {
            Location::Repo => ctx
                .repo
                .files(&f.url)
                .map(|(_, m)| m.iter().map(|x| (f.path.len() + x.rel.len(), BLOB_URL)).collect())
                .unwrap_or_default(),
            _ => vec![(f.path.len(), f.url.len().max(BLOB_URL))],
        };
        for (path, url) in files {
            count += 1;
            bytes += path + url + RESOURCE_FILE_OVERHEAD;
        }
    }
    if bytes <= FILES_PER_TASK_BYTES {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::BF230,
            r.span_of("inputs"),
            format!(
                "this task's {} input files take about {} bytes of each request",
                format_count(count as u64),
                format_count(bytes as u64)
            ),
        )
        .with_help("Batch takes at most 1 MB per request, so fewer than 100 such tasks fit in one: put the files under one blob prefix and give the task `\"dir/\" = \"az://CONTAINER/PREFIX/\"` (one resource file; the blobs land in `dir/` under their full names)"),
    );
}

#[cfg(test)]
mod tests {
    use super::sas_expiry_date;
    use crate::stdlib::Date;

    #[test]
    fn sas_expiry_is_read_from_the_query() {
        let d = |s: &str| Date::parse(s);
        assert_eq!(
            sas_expiry_date("https://a.blob.core.windows.net/c/x?sv=2025-01-05&se=2026-12-01T10%3A00%3A00Z&sig=x"),
            d("2026-12-01")
        );
        assert_eq!(sas_expiry_date("https://a/c/x?se=2027-01-02&sig=y"), d("2027-01-02"));
        assert_eq!(sas_expiry_date("https://a/c/x?sig=y"), None);
        assert_eq!(sas_expiry_date("https://a/c/x"), None);
    }
}
