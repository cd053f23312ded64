//! Container image references: ones `docker pull` refuses (BF222), and Windows images whose
//! OS build the pool's Windows Server does not start with process isolation (BF223).

use super::runnables;
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Image, Pool, TaskSpec, Workflow};
use crate::image_ref::{split_domain, validate, ImageRef};
use crate::source::Span;
use crate::stdlib::facts::is_windows_container_pool;
use crate::stdlib::{windows_build, windows_build_by_sku_word, windows_build_by_tag, WindowsBuild};

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let all = runnables::all(wf);
    for pool in &wf.pools {
        let host = host_build(pool);
        for image in pool.containers.iter().flat_map(|c| c.images.iter()) {
            if invalid(&image.value, image.span, "prefetched image", out) {
                continue;
            }
            // Images that tasks run are judged where they run, with their run options.
            let wanted = ImageRef::parse(&image.value);
            let run_here = all
                .iter()
                .filter(|r| r.pool.is_some_and(|p| p.name.value == pool.name.value));
            let used = run_here
                .flat_map(|r| r.specs.iter().filter_map(|s| s.container.as_deref()))
                .any(|c| ImageRef::parse(c).same_image(&wanted));
            if let (Some(host), false) = (host, used) {
                mismatch(&image.value, image.span, pool, host, false, out);
            }
        }
    }
    for r in &all {
        let images = r.distinct(|s| s.container.as_ref());
        let span = r.span_of("container");
        // One report per task: a sweep over images repeats the mistake per instance.
        if images
            .iter()
            .any(|i| invalid(i, span, &format!("{} image", r.kind.what()), out))
        {
            continue;
        }
        let Some(pool) = r.pool else { continue };
        let Some(host) = host_build(pool) else { continue };
        let hyperv = r.specs.iter().all(|s| hyperv_isolation(s));
        for image in images {
            if mismatch(image, span, pool, host, hyperv, out) {
                break;
            }
        }
    }
}

/// BF222; true when reported.
fn invalid(image: &str, span: Span, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    let Err(e) = validate(image) else { return false };
    out.push(
        Diagnostic::new(
            Code::BF222,
            span,
            format!(
                "{what} `{image}` is not a reference `docker pull` accepts: {}",
                e.message()
            ),
        )
        .with_help(e.help()),
    );
    true
}

/// `--isolation=hyperv` or `--isolation hyperv` in the task's `run_options`.
fn hyperv_isolation(spec: &TaskSpec) -> bool {
    let Some(opts) = spec.run_options.as_deref() else {
        return false;
    };
    let words: Vec<String> = opts.split_whitespace().map(str::to_ascii_lowercase).collect();
    words.iter().enumerate().any(|(i, w)| {
        w == "--isolation=hyperv" || (w == "--isolation" && words.get(i + 1).is_some_and(|n| n == "hyperv"))
    })
}

/// The Windows Server build of a Windows container pool's marketplace image, from the words
/// of its sku (else its offer): `2022-datacenter`, `win_2022_mcr_20_10`.
fn host_build(pool: &Pool) -> Option<&'static WindowsBuild> {
    if !is_windows_container_pool(pool) {
        return None;
    }
    let Some(Image::Marketplace { offer, sku, .. }) = &pool.image else {
        return None;
    };
    one_build(sku.split(['-', '_', '.']).map(windows_build_by_sku_word))
        .or_else(|| one_build(offer.split(['-', '_', '.']).map(windows_build_by_sku_word)))
}

/// The build an image's tag names: `ltsc2022`, `4.8-windowsservercore-ltsc2019`, `10.0.17763.437`.
fn image_build(image: &str) -> Option<&'static WindowsBuild> {
    let (_, rest) = split_domain(image.trim());
    let name_tag = rest.split('@').next().unwrap_or(rest);
    let (_, tag) = name_tag.rsplit_once(':').filter(|(_, t)| !t.contains('/'))?;
    one_build(tag.split(['-', '_']).map(|word| {
        windows_build_by_tag(word).or_else(|| {
            let build = word.strip_prefix("10.0.")?.split('.').next()?;
            windows_build(build.parse().ok()?)
        })
    }))
}

/// The build the words name, when they name exactly one.
fn one_build(found: impl Iterator<Item = Option<&'static WindowsBuild>>) -> Option<&'static WindowsBuild> {
    let mut builds = found.flatten();
    let first = builds.next()?;
    builds.all(|b| b.build == first.build).then_some(first)
}

/// BF223; true when reported.
fn mismatch(
    image: &str,
    span: Span,
    pool: &Pool,
    host: &WindowsBuild,
    hyperv: bool,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let Some(built) = image_build(image) else { return false };
    let runs = if hyperv {
        built.build <= host.build
    } else {
        host.runs_process_isolated(built.build)
    };
    if runs {
        return false;
    }
    let why = if built.build > host.build {
        "a container newer than its host does not start, with any isolation"
    } else {
        "Windows does not start it with process isolation, Docker's default on Windows Server"
    };
    let help = if built.build < host.build {
        format!(
            "use the image's `{}` variant (build {}), or add `--isolation=hyperv` to `run_options` (Hyper-V isolation runs older images on newer hosts)",
            host.tag(),
            host.build
        )
    } else {
        format!(
            "use the image's `{}` variant (build {}), or a pool image of {}",
            host.tag(),
            host.build,
            built.release
        )
    };
    out.push(
        Diagnostic::new(
            Code::BF223,
            span,
            format!(
                "image `{image}` is built for {}, build {}, but pool `{}` runs {}, build {}: {why}",
                built.release, built.build, pool.name.value, host.release, host.build
            ),
        )
        .with_label(
            pool.attrs.or("image", pool.name.span),
            format!("{}, build {}", host.release, host.build),
        )
        .with_help(help),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::image_build;

    #[test]
    fn tags_name_builds() {
        let build = |i: &str| image_build(i).map(|b| b.build);
        assert_eq!(build("mcr.microsoft.com/windows/servercore:ltsc2022"), Some(20348));
        assert_eq!(
            build("mcr.microsoft.com/dotnet/framework/runtime:4.8-windowsservercore-ltsc2019"),
            Some(17763)
        );
        assert_eq!(
            build("mcr.microsoft.com/windows/nanoserver:10.0.17763.437"),
            Some(17763)
        );
        assert_eq!(
            build("mcr.microsoft.com/windows/nanoserver:1809-KB4493509"),
            Some(17763)
        );
        assert_eq!(build("localhost:5000/app:ltsc2025"), Some(26100));
        assert_eq!(build("contoso.azurecr.io/app:2.3"), None);
        assert_eq!(build("contoso.azurecr.io/app"), None);
        assert_eq!(build("app:ltsc2019-ltsc2022"), None);
    }
}
