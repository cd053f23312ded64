//! What the stdlib tables say about a pool: its size, its image, its OS and node agent.
//! Where a table has no row, a name heuristic answers and the callers say so.

use super::{self as stdlib, ImageInfo, Os, VmSize};
use crate::graph::{Image, Pool};

pub fn size(pool: &Pool) -> Option<&'static VmSize> {
    pool.vm_size.as_deref().and_then(stdlib::vm_size)
}

/// The stdlib's row for a marketplace image.
pub fn image_info(pool: &Pool) -> Option<&'static ImageInfo> {
    match pool.image.as_ref()? {
        Image::Marketplace {
            publisher, offer, sku, ..
        } => stdlib::image(publisher, offer, sku),
        _ => None,
    }
}

/// The marketplace offer, lowercase.
pub fn offer(pool: &Pool) -> Option<String> {
    match pool.image.as_ref()? {
        Image::Marketplace { offer, .. } => Some(offer.to_ascii_lowercase()),
        _ => None,
    }
}

pub fn is_rdma_image(pool: &Pool) -> bool {
    offer(pool).is_some_and(|o| o.ends_with("-rdma"))
}

/// The node agent Batch will get: as written, or inferred from the image table.
pub fn effective_node_agent(pool: &Pool) -> Option<String> {
    pool.node_agent
        .clone()
        .or_else(|| image_info(pool).map(|i| i.node_agent.clone()))
}

/// The pool's OS: from the image table, else the node agent, else the image's name.
pub fn pool_os(pool: &Pool) -> Option<Os> {
    if let Some(info) = image_info(pool) {
        return Some(info.os);
    }
    if let Some(agent) = pool.node_agent.as_deref() {
        if let Some(row) = stdlib::node_agent(agent) {
            return Some(row.os);
        }
        return Some(if agent.to_ascii_lowercase().contains("windows") {
            Os::Windows
        } else {
            Os::Linux
        });
    }
    image_os_by_name(pool.image.as_ref()?)
}

/// Name heuristic for images missing from the table.
pub fn image_os_by_name(image: &Image) -> Option<Os> {
    match image {
        Image::Marketplace {
            publisher, offer, sku, ..
        } => {
            let all = format!("{publisher} {offer} {sku}").to_ascii_lowercase();
            Some(if all.contains("windows") {
                Os::Windows
            } else {
                Os::Linux
            })
        }
        _ => None,
    }
}

/// A Windows pool with `containers { }`.
pub fn is_windows_container_pool(pool: &Pool) -> bool {
    pool.containers.is_some() && pool_os(pool) == Some(Os::Windows)
}
