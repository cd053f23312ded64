//! Containers and registries: container tasks on plain pools (BF201, BF208), Windows
//! elevation (BF202), registry coverage (BF203), prefetching (BF204), run options
//! (`run_options.rs`), GPU images on CPU sizes (BF115), secrets (BF206) and registry auth (BF207).

use super::runnables::{self, Kind, Runnable};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Elevation, Pool, Workflow};
use crate::image_ref::{normalize_host, validate, ImageRef};
use crate::stdlib::facts::{is_windows_container_pool, size};
use crate::value::has_secret;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for reg in &wf.registries {
        registry_auth(reg, out);
    }
    for pool in &wf.pools {
        for image in pool.containers.iter().flat_map(|c| c.images.iter()) {
            covered(wf, pool, &image.value, image.span, "prefetched image", out);
        }
    }
    for r in runnables::all(wf) {
        let images = r.distinct(|s| s.container.as_ref());
        let Some(pool) = r.pool else { continue };
        if images.is_empty() {
            plain_task(&r, pool, out);
            continue;
        }
        let image_span = r.span_of("container");
        if pool.containers.is_none() {
            let (code, what) = if r.kind == Kind::StartTask {
                (Code::BF208, "start task")
            } else {
                (Code::BF201, r.kind.what())
            };
            out.push(
                Diagnostic::new(
                    code,
                    image_span,
                    format!(
                        "this {what} runs in a container, but pool `{}` has no `containers {{ }}` block",
                        pool.name.value
                    ),
                )
                .with_label(pool.name.span, "a pool without container support")
                .with_help(
                    "add `containers { images = [...] }` to the pool (it must use an image with a container runtime)",
                ),
            );
            continue;
        }
        if is_windows_container_pool(pool) {
            let elevations: Vec<Option<Elevation>> = r.specs.iter().map(|s| s.elevation).collect();
            if elevations.iter().any(|e| *e != Some(Elevation::Admin)) {
                out.push(
                    Diagnostic::new(
                        Code::BF202,
                        r.span_of("elevation"),
                        format!(
                            "a container {} on a Windows pool must run with `elevation = admin`",
                            r.kind.what()
                        ),
                    )
                    .with_label(pool.name.span, "Windows container pool")
                    .with_help("add `elevation = admin`: Batch runs Windows containers only as an elevated user"),
                );
            }
        }
        for image in &images {
            covered(wf, pool, image, image_span, "task image", out);
            if r.kind == Kind::Task && validate(image).is_ok() && !prefetched(pool, image) {
                out.push(
                    Diagnostic::new(Code::BF204, image_span, format!("image `{image}` is not prefetched by pool `{}`", pool.name.value))
                        .with_help(format!("add \"{image}\" to the pool's `containers {{ images = [...] }}` so nodes pull it once, when they start")),
                );
            }
            gpu_image(r.span_of("container"), pool, image, out);
        }
    }
    for r in runnables::all(wf) {
        literal_secrets(&r, out);
    }
    for job in &wf.jobs {
        for var in job
            .env
            .iter()
            .filter(|v| secret_name(&v.name) && !v.value.is_empty() && !has_secret(&v.value))
        {
            out.push(
                Diagnostic::new(
                    Code::BF206,
                    job.attrs.or("env", job.name.span),
                    format!("env `{}` holds a literal secret", var.name),
                )
                .with_help(format!(
                    "read it when the workflow runs: `{} = secret(\"{}\")`",
                    var.name, var.name
                )),
            );
        }
    }
}

/// Environment names that suggest a credential.
fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["password", "secret", "token", "key"].iter().any(|w| lower.contains(w))
}

/// BF215 (a plain task on a container pool) and BF008 (`run_options` with no container).
fn plain_task(r: &Runnable<'_>, pool: &Pool, out: &mut Vec<Diagnostic>) {
    if r.attrs.get("run_options").is_some() && r.attrs.get("container").is_none() {
        out.push(
            Diagnostic::new(
                Code::BF008,
                r.span_of("run_options"),
                format!("`run_options` on a {} without `container`", r.kind.what()),
            )
            .with_help("`run_options` are passed to `docker create`: add `container = \"image\"` or remove them"),
        );
    }
    if r.kind == Kind::Task && pool.containers.is_some() && r.attrs.get("container").is_none() {
        out.push(
            Diagnostic::new(
                Code::BF215,
                r.span,
                format!("this task has no `container`, but pool `{}` runs tasks in containers", pool.name.value),
            )
            .with_label(pool.containers.as_ref().map_or(pool.name.span, |c| c.span), "a container pool")
            .with_help("Batch requires container settings for every task on a container pool: add `container = \"image\"` (start, preparation and release tasks may run on the host)"),
        );
    }
}

/// BF203: an image on a private registry host needs a registry of the pool for that host.
fn covered(wf: &Workflow, pool: &Pool, image: &str, span: crate::source::Span, what: &str, out: &mut Vec<Diagnostic>) {
    let reference = ImageRef::parse(image);
    // An invalid reference is BF222's; its "host" would be a guess.
    if reference.is_public() || validate(image).is_err() {
        return;
    }
    let hosts: Vec<String> = pool
        .containers
        .iter()
        .flat_map(|c| c.registries.iter())
        .filter_map(|r| wf.registry(*r))
        .filter_map(|r| r.server.as_deref())
        .map(normalize_host)
        .collect();
    if hosts.contains(&reference.host) {
        return;
    }
    let declared = wf
        .registries
        .iter()
        .find(|r| r.server.as_deref().map(normalize_host).as_deref() == Some(reference.host.as_str()));
    let help = match declared {
        Some(r) => format!("add `{}` to the pool: `containers {{ registries = [{}] }}`", r.name.value, r.name.value),
        None => format!("declare `registry NAME {{ server = \"{}\" ... }}` with credentials and list it in the pool's `containers {{ registries = [...] }}`", reference.host),
    };
    out.push(
        Diagnostic::new(
            Code::BF203,
            span,
            format!(
                "{what} `{image}` comes from private registry `{}`, which pool `{}` has no credentials for",
                reference.host, pool.name.value
            ),
        )
        .with_help(help),
    );
}

fn prefetched(pool: &Pool, image: &str) -> bool {
    let wanted = ImageRef::parse(image);
    pool.containers
        .iter()
        .flat_map(|c| c.images.iter())
        .any(|i| ImageRef::parse(&i.value).same_image(&wanted))
}

/// BF115: an image whose name says GPU on a size without one (a name heuristic).
fn gpu_image(span: crate::source::Span, pool: &Pool, image: &str, out: &mut Vec<Diagnostic>) {
    let lower = image.to_ascii_lowercase();
    let gpu_name = lower.contains("-gpu")
        || lower.contains("cuda")
        || lower.starts_with("nvidia/")
        || lower.starts_with("nvcr.io/");
    let Some(s) = size(pool) else { return };
    if gpu_name && !s.has_gpu() {
        out.push(
            Diagnostic::new(
                Code::BF115,
                span,
                format!(
                    "image `{image}` looks like a GPU image (by its name), but `{}` has no GPU",
                    s.name
                ),
            )
            .with_label(pool.attrs.or("vm_size", pool.name.span), "a size without GPUs")
            .with_help("use a GPU size (e.g. `Standard_NC4as_T4_v3`) or the image's CPU variant"),
        );
    }
}

/// BF207: one way to authenticate per registry.
fn registry_auth(reg: &crate::graph::Registry, out: &mut Vec<Diagnostic>) {
    let span = reg.name.span;
    if reg.identity.is_some() && (reg.username.is_some() || reg.password.is_some()) {
        out.push(
            Diagnostic::new(
                Code::BF207,
                reg.attrs.or("identity", span),
                "registry sets both `identity` and a username/password",
            )
            .with_help("use a managed identity or a username and password, not both"),
        );
    } else if reg.username.is_some() != reg.password.is_some() {
        let (has, lacks) = if reg.username.is_some() {
            ("username", "password")
        } else {
            ("password", "username")
        };
        out.push(
            Diagnostic::new(
                Code::BF207,
                reg.attrs.or(has, span),
                format!("registry sets `{has}` without `{lacks}`"),
            )
            .with_help(format!(
                "add `{lacks} = ...` (a password from `secret(\"NAME\")`), or use `identity = \"...\"`"
            )),
        );
    }
    if reg.password.as_deref().is_some_and(|p| !p.is_empty() && !has_secret(p)) {
        out.push(
            Diagnostic::new(
                Code::BF206,
                reg.attrs.or("password", span),
                "the registry password is written in the workflow",
            )
            .with_help("read it when the workflow runs: `password = secret(\"REGISTRY_PASSWORD\")`"),
        );
    }
}

/// BF206 for tasks: secret-looking env values and SAS signatures written as literals.
fn literal_secrets(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let Some(spec) = r.first() else { return };
    for var in spec.env.iter() {
        if secret_name(&var.name) && !var.value.is_empty() && !has_secret(&var.value) {
            out.push(
                Diagnostic::new(
                    Code::BF206,
                    r.span_of("env"),
                    format!("env `{}` holds a literal secret", var.name),
                )
                .with_help(format!(
                    "read it when the workflow runs: `{} = secret(\"{}\")`",
                    var.name, var.name
                )),
            );
        }
    }
    let urls = spec.inputs.iter().chain(spec.outputs.iter()).map(|f| {
        (
            &*f.url,
            if spec.inputs.iter().any(|i| i.url == f.url) {
                "inputs"
            } else {
                "outputs"
            },
        )
    });
    let texts = urls
        .chain(spec.env.iter().map(|v| (&*v.value, "env")))
        .chain(spec.command.iter().map(|c| (&**c, "command")));
    for (text, attr) in texts {
        if literal_sas(text) {
            out.push(
                Diagnostic::new(
                    Code::BF206,
                    r.span_of(attr),
                    "a SAS signature (`sig=`) is written in the workflow",
                )
                .with_help("put the SAS token in a secret: \"https://.../container?${secret(\"SAS\")}\""),
            );
        }
    }
}

/// `sig=` followed by a value that is not a secret placeholder.
fn literal_sas(text: &str) -> bool {
    text.match_indices("sig=").any(|(i, _)| {
        let rest = &text[i + 4..];
        !rest.is_empty() && !rest.starts_with("<secret:") && !rest.starts_with('&')
    })
}

#[cfg(test)]
mod tests {
    use super::literal_sas;

    #[test]
    fn sas_signatures() {
        assert!(literal_sas("https://a.blob.core.windows.net/c?sv=1&sig=abc%3D"));
        assert!(!literal_sas("https://a.blob.core.windows.net/c?<secret:SAS>"));
        assert!(!literal_sas("https://a.blob.core.windows.net/c?sv=1&sig=<secret:SIG>"));
    }
}
