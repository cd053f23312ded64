//! Pools and their images: RDMA (BF101-BF103), container support (BF104), node agents
//! (BF105), Windows containers on one core (BF106), unknown sizes (BF107), resource ids
//! (BF109) and managed images (BF114).

use super::Context;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Image, Pool, Workflow};
use crate::stdlib::facts::{self, image_info, is_rdma_image, is_windows_container_pool, pool_os, size};
use crate::stdlib::{self, Date, Os};

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    for pool in &wf.pools {
        rdma(pool, out);
        container_support(pool, out);
        node_agent(pool, out);
        unknown_size(pool, ctx.today, out);
        resource_id(pool, out);
        if is_windows_container_pool(pool) && size(pool).is_some_and(|s| s.vcpus == 1) {
            out.push(
                Diagnostic::new(Code::BF106, pool.attrs.or("vm_size", pool.name.span), "a Windows container pool on a single-core VM size")
                    .with_help("the container-workloads article advises multi-core sizes for Windows containers, e.g. `Standard_D2s_v5`"),
            );
        }
        if let Some(Image::Managed { .. }) = &pool.image {
            out.push(
                Diagnostic::new(
                    Code::BF114,
                    pool.attrs.or("image", pool.name.span),
                    "a managed image: Batch supports one only for API versions 2019-08-01 and earlier",
                )
                .with_help("publish it to an Azure Compute Gallery (`az sig image-version create --resource-group RG --gallery-name GALLERY --gallery-image-definition DEFINITION --gallery-image-version 1.0.0 --managed-image IMAGE_ID`) and use `gallery_image(\"<the version's resource id>\")`"),
            );
        }
    }
}

fn rdma(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let image_span = pool.attrs.or("image", pool.name.span);
    let size_span = pool.attrs.or("vm_size", pool.name.span);
    let size = size(pool);
    let rdma_image = is_rdma_image(pool);
    if let (true, Some(s)) = (rdma_image, size) {
        if !s.rdma {
            out.push(
                Diagnostic::new(
                    Code::BF101,
                    image_span,
                    format!("an `-rdma` image on `{}`, which has no InfiniBand", s.name),
                )
                .with_label(size_span, "no RDMA on this size")
                .with_help("use the image without `-rdma`, or an RDMA size such as `Standard_HB120rs_v3`"),
            );
        }
    }
    let size_rdma = size.is_some_and(|s| s.rdma);
    let windows = is_windows_container_pool(pool);
    let asks_rdma_on_windows = windows && (rdma_image || (pool.inter_node == Some(true) && size_rdma));
    if pool.containers.is_some()
        && size_rdma
        && !rdma_image
        && !asks_rdma_on_windows
        && !pool.image.as_ref().is_some_and(Image::is_custom)
    {
        let image_has_drivers = image_info(pool).is_some_and(|i| i.rdma);
        if windows {
            out.push(
                Diagnostic::new(Code::BF102, size_span, "an RDMA size in a Windows container pool, whose containers cannot use InfiniBand")
                    .with_label(image_span, "a Windows image")
                    .with_help("Batch gives RDMA to containers only on Linux pools: pick a size without InfiniBand and with the same cores (for example `Standard_D16s_v5`), or run the MPI containers in a separate Linux pool"),
            );
        } else if !image_has_drivers {
            out.push(
                Diagnostic::new(Code::BF102, image_span, "an RDMA size in a container pool, but the image has no InfiniBand drivers")
                    .with_label(size_span, "this size has InfiniBand")
                    .with_help("use an image with InfiniBand drivers and a container runtime, such as `images.ubuntu_hpc_2404` (`microsoft-dsvm/ubuntu-hpc/2404`), so containers can use InfiniBand"),
            );
        }
    }
    if asks_rdma_on_windows {
        out.push(
            Diagnostic::new(
                Code::BF103,
                pool.name.span,
                "RDMA is asked for on a Windows container pool",
            )
            .with_help("Batch gives RDMA to containers only on Linux pools: use a Linux image for MPI containers"),
        );
    }
}

fn container_support(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let Some(containers) = &pool.containers else { return };
    let Some(Image::Marketplace {
        publisher, offer, sku, ..
    }) = &pool.image
    else {
        return;
    };
    let name = format!("{publisher}/{offer}/{sku}");
    let span = pool.attrs.or("image", pool.name.span);
    let label = (containers.span, "containers asked for here");
    match image_info(pool) {
        Some(info) if !info.containers => {
            let help = if info.os == Os::Windows {
                WINDOWS_CONTAINERS
            } else {
                LINUX_CONTAINERS
            };
            out.push(
                Diagnostic::new(
                    Code::BF104,
                    span,
                    format!("image `{name}` has no container runtime, but this is a container pool"),
                )
                .with_label(label.0, label.1)
                .with_help(help),
            );
        }
        Some(_) => {}
        None if pool_os(pool) == Some(Os::Windows) && publisher.eq_ignore_ascii_case("MicrosoftWindowsServer") => {
            out.push(
                Diagnostic::new(
                    Code::BF104,
                    span,
                    format!("Windows Server image `{name}` has no container runtime, but this is a container pool"),
                )
                .with_label(label.0, label.1)
                .with_help(WINDOWS_CONTAINERS),
            );
        }
        None => {
            let example = if pool_os(pool) == Some(Os::Windows) {
                "`images.windows_2022_containers`"
            } else {
                "`images.linux_containers`"
            };
            out.push(
                Diagnostic::new(Code::BF104, span, format!("the stdlib does not know whether image `{name}` supports containers"))
                    .with_severity(Severity::Warning)
                    .with_label(label.0, label.1)
                    .with_help(format!("check the image's `DockerCompatible` capability (`az batch pool supported-images list`), or use {example} from `import \"std/images\"`")),
            );
        }
    }
}

/// Microsoft's own Windows Server images no longer come with a container runtime.
const WINDOWS_CONTAINERS: &str = "Microsoft removed its Windows Server `-with-containers` images from the Marketplace on 2023-04-30: use `images.windows_2022_containers` from `import \"std/images\"` (Mirantis Container Runtime), or a custom image with a Docker-compatible runtime";

const LINUX_CONTAINERS: &str =
    "use an image with a container runtime, e.g. `images.linux_containers` from `import \"std/images\"`";

fn node_agent(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let Some(agent) = pool.node_agent.as_deref() else {
        return;
    };
    let span = pool.attrs.or("node_agent", pool.name.span);
    if let Some(info) = image_info(pool) {
        if !info.node_agent.eq_ignore_ascii_case(agent.trim()) {
            out.push(
                Diagnostic::new(
                    Code::BF105,
                    span,
                    format!("node agent `{agent}` does not match the image ({})", info.distribution),
                )
                .with_label(pool.attrs.or("image", pool.name.span), "this image")
                .with_help(format!(
                    "write `node_agent = \"{}\"`, or leave it out: the stdlib knows this image",
                    info.node_agent
                )),
            );
        }
        return;
    }
    let (Some(image), false) = (pool.image.as_ref(), pool.image.as_ref().is_some_and(Image::is_custom)) else {
        return;
    };
    let agent_os = stdlib::node_agent(agent).map(|a| a.os).unwrap_or_else(|| {
        if agent.to_ascii_lowercase().contains("windows") {
            Os::Windows
        } else {
            Os::Linux
        }
    });
    if let Some(image_os) = facts::image_os_by_name(image) {
        if image_os != agent_os {
            out.push(
                Diagnostic::new(
                    Code::BF105,
                    span,
                    format!(
                        "node agent `{agent}` is for {}, but the image looks like {} (by its name)",
                        agent_os.as_str(),
                        image_os.as_str()
                    ),
                )
                .with_help(if image_os == Os::Windows {
                    "Windows images take `node_agent = \"batch.node.windows amd64\"`"
                } else {
                    "pick the `batch.node.*` agent of the image's Linux distribution"
                }),
            );
        }
    }
}

fn unknown_size(pool: &Pool, today: Date, out: &mut Vec<Diagnostic>) {
    let Some(name) = pool.vm_size.as_deref() else { return };
    if stdlib::vm_size(name).is_some() {
        return;
    }
    let lower = name.to_ascii_lowercase();
    // Never suggest a size Batch can no longer allocate.
    let mut close: Vec<(usize, &str)> = stdlib::vm_sizes()
        .iter()
        .filter(|s| !s.is_retired(today))
        .map(|s| {
            (
                strsim::damerau_levenshtein(&lower, &s.name.to_ascii_lowercase()),
                s.name.as_str(),
            )
        })
        .collect();
    close.sort();
    let names: Vec<String> = close.iter().take(3).map(|(_, n)| format!("`{n}`")).collect();
    // `D2s_v5` for `Standard_D2s_v5`: Batch wants the size's full name.
    let prefixed = format!("standard_{lower}");
    let full = close
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(&prefixed))
        .map(|(_, n)| *n);
    let help = match full {
        Some(full) => format!("write `{full}`: VM sizes are named with their `Standard_` prefix"),
        None => format!(
            "closest known sizes: {}; if the size is new, its GPU, RDMA and core checks are skipped",
            names.join(", ")
        ),
    };
    out.push(
        Diagnostic::new(
            Code::BF107,
            pool.attrs.or("vm_size", pool.name.span),
            format!("VM size `{name}` is not in the stdlib table"),
        )
        .with_help(help),
    );
}

fn resource_id(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let (id, gallery) = match &pool.image {
        Some(Image::Managed { resource_id }) => (resource_id, false),
        Some(Image::Gallery { resource_id }) => (resource_id, true),
        _ => return,
    };
    if valid_resource_id(id, gallery) {
        return;
    }
    let want = if gallery {
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{gallery}/images/{definition}[/versions/{version}]"
    } else {
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}"
    };
    out.push(
        Diagnostic::new(
            Code::BF109,
            pool.attrs.or("image", pool.name.span),
            format!(
                "`{id}` is not a valid {} resource id",
                if gallery { "gallery image" } else { "managed image" }
            ),
        )
        .with_help(format!("the form is {want}")),
    );
}

/// Checks the fixed segments (case-insensitively) and that every name segment is non-empty.
pub fn valid_resource_id(id: &str, gallery: bool) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    let fixed = |i: usize, want: &str| parts.get(i).is_some_and(|p| p.eq_ignore_ascii_case(want));
    let named = |i: usize| {
        parts
            .get(i)
            .is_some_and(|p| !p.is_empty() && !p.contains(char::is_whitespace))
    };
    let base = parts.first() == Some(&"")
        && fixed(1, "subscriptions")
        && named(2)
        && fixed(3, "resourceGroups")
        && named(4)
        && fixed(5, "providers")
        && fixed(6, "Microsoft.Compute");
    if !base {
        return false;
    }
    if gallery {
        let head = fixed(7, "galleries") && named(8) && fixed(9, "images") && named(10);
        head && (parts.len() == 11 || (parts.len() == 13 && fixed(11, "versions") && named(12)))
    } else {
        parts.len() == 9 && fixed(7, "images") && named(8)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_resource_id;

    #[test]
    fn resource_ids() {
        assert!(valid_resource_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/img",
            false
        ));
        assert!(!valid_resource_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/image/img",
            false
        ));
        assert!(!valid_resource_id(
            "subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/img",
            false
        ));
        assert!(valid_resource_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d",
            true
        ));
        assert!(valid_resource_id(
            "/subscriptions/s/resourceGroups/rg/providers/microsoft.compute/galleries/g/images/d/versions/1.0.0",
            true
        ));
        assert!(!valid_resource_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/",
            true
        ));
    }
}
