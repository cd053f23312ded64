//! BF124: a pool that must carry a user-assigned managed identity is created through Azure
//! Resource Manager, which takes Microsoft Entra ID tokens only; with a shared key it cannot be.

use super::Context;
use crate::auth_mode::AuthMode;
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{BlobAuth, MountKind, Pool, Workflow};
use crate::source::Span;

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    if ctx.auth != Some(AuthMode::SharedKey) {
        return;
    }
    for pool in &wf.pools {
        let registries = pool.containers.iter().flat_map(|c| c.registries.iter());
        for registry in registries.filter_map(|r| wf.registry(*r)) {
            let Some(id) = &registry.identity else { continue };
            out.push(needs_arm(
                pool,
                ("registry", &registry.name.value),
                id,
                registry.attrs.or("identity", registry.name.span),
                "give the registry a username and a secret password",
            ));
        }
        for m in &pool.mounts {
            let MountKind::Blobfuse {
                auth: BlobAuth::Identity(id),
                ..
            } = &m.kind
            else {
                continue;
            };
            out.push(needs_arm(
                pool,
                ("mount", &m.name.value),
                id,
                m.attrs.or("identity", m.name.span),
                "give the mount a `sas = secret(\"NAME\")`",
            ));
        }
    }
}

/// BF124 at `span`: `pool` needs identity `id` for `owner` (`(kind, name)`), which only Azure
/// Resource Manager can set; `otherwise` is the way without an identity.
fn needs_arm(pool: &Pool, (kind, name): (&str, &str), id: &str, span: Span, otherwise: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BF124,
        span,
        format!(
            "pool `{}` needs the user-assigned identity `{id}` of {kind} `{name}`, and the target authenticates with a shared key",
            pool.name.value
        ),
    )
    .with_label(pool.name.span, "created through Azure Resource Manager to carry the identity")
    .with_help(format!("Batch sets a pool's identities only through Azure Resource Manager, which takes Microsoft Entra ID: unset AZURE_BATCH_ACCESS_KEY and sign in with `az login`, a managed identity or a service principal; or {otherwise}"))
}
