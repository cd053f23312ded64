//! Pool mounts (`mounts { }`): a file system the pool's OS cannot mount (BF233), a mount name
//! used twice (BF234), a Windows share not named by a drive letter (BF235), more mounts than
//! Batch takes (BF119), and keys, passwords and SAS tokens written into the workflow (BF206).

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{BlobAuth, Mount, MountKind, Pool, Workflow};
use crate::stdlib::facts::{image_info, pool_os};
use crate::stdlib::Os;
use crate::value::has_secret;

/// "The maximum number of mounted file systems on a pool is 10." (virtual-file-mount.md)
const MAX_MOUNTS: usize = 10;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for pool in wf.pools.iter().filter(|p| !p.mounts.is_empty()) {
        let windows = pool_os(pool) == Some(Os::Windows);
        for m in &pool.mounts {
            unsupported(pool, m, windows, out);
            if windows {
                drive_letter(pool, m, out);
            }
            literal_secrets(m, out);
        }
        duplicates(pool, windows, out);
        if pool.mounts.len() > MAX_MOUNTS {
            out.push(
                Diagnostic::new(
                    Code::BF119,
                    pool.attrs.or("mounts", pool.name.span),
                    format!(
                        "pool `{}` mounts {} file systems; Batch mounts at most {MAX_MOUNTS}",
                        pool.name.value,
                        pool.mounts.len()
                    ),
                )
                .with_help("mount a parent folder once and reach its parts by path, or split the work over pools"),
            );
        }
    }
}

/// BF233: the support matrix of "Mount a virtual file system on a Batch pool".
fn unsupported(pool: &Pool, m: &Mount, windows: bool, out: &mut Vec<Diagnostic>) {
    let kind = m.kind.word();
    let at = m.attrs.or(kind, m.name.span);
    if windows && !matches!(m.kind, MountKind::AzureFiles { .. }) {
        out.push(
            Diagnostic::new(
                Code::BF233,
                at,
                format!(
                    "a `{kind}` mount on Windows pool `{}`: Batch mounts only Azure Files shares on Windows",
                    pool.name.value
                ),
            )
            .with_label(pool.attrs.or("image", pool.name.span), "a Windows image")
            .with_help("mount an Azure Files share (`azure_files = ...`) instead, or give the mount a Linux pool"),
        );
        return;
    }
    let ubuntu_2204 = image_info(pool).is_some_and(|i| i.distribution.eq_ignore_ascii_case("ubuntu 22.04"));
    if ubuntu_2204 && matches!(m.kind, MountKind::Blobfuse { .. }) {
        out.push(
            Diagnostic::new(
                Code::BF233,
                at,
                format!("a `blobfuse` mount on pool `{}`, whose image runs Ubuntu 22.04, where Batch does not mount blob containers", pool.name.value),
            )
            .with_label(pool.attrs.or("image", pool.name.span), "Ubuntu 22.04")
            .with_help("use an Ubuntu 24.04 image, such as `marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")`, or reach the data with `inputs`"),
        );
    }
}

/// BF235: on Windows, Batch maps an Azure Files share to the drive its name gives ("Windows
/// file shares use a drive letter", compute node environment variables); `C` is the OS disk.
fn drive_letter(pool: &Pool, m: &Mount, out: &mut Vec<Diagnostic>) {
    if !matches!(m.kind, MountKind::AzureFiles { .. }) {
        return; // BF233 already refuses the other kinds on Windows.
    }
    let name = m.name.value.as_str();
    let letter = match name.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some(c.to_ascii_uppercase()),
        _ => None,
    };
    let message = match letter {
        Some(b'C') => format!(
            "mount `{name}` of Windows pool `{}` would take drive C:, the node's OS disk",
            pool.name.value
        ),
        Some(_) => return,
        None => format!(
            "mount `{name}` of Windows pool `{}` is not a drive letter: Windows nodes map an Azure Files share to a drive",
            pool.name.value
        ),
    };
    out.push(
        Diagnostic::new(Code::BF235, m.name.span, message)
            .with_label(pool.attrs.or("image", pool.name.span), "a Windows image")
            .with_help("name the mount after a free drive letter, such as `S { azure_files = ... }`, and reach the share as `S:\\` in commands"),
    );
}

/// BF234: two mounts at one path; Windows paths (drive letters) ignore case.
fn duplicates(pool: &Pool, windows: bool, out: &mut Vec<Diagnostic>) {
    for (i, m) in pool.mounts.iter().enumerate() {
        let same = |o: &&Mount| {
            if windows {
                o.name.value.eq_ignore_ascii_case(&m.name.value)
            } else {
                o.name.value == m.name.value
            }
        };
        let Some(first) = pool.mounts.iter().take(i).find(same) else {
            continue;
        };
        out.push(
            Diagnostic::new(
                Code::BF234,
                m.name.span,
                format!(
                    "mount `{}` is declared twice in pool `{}`",
                    m.name.value, pool.name.value
                ),
            )
            .with_label(first.name.span, "first declared here")
            .with_help(
                "both would mount at the same path below $AZ_BATCH_NODE_MOUNTS_DIR: give each mount its own name",
            ),
        );
    }
}

/// BF206: a key, password or SAS written out instead of read with `secret()`.
fn literal_secrets(m: &Mount, out: &mut Vec<Diagnostic>) {
    let credential = match &m.kind {
        MountKind::AzureFiles { key, .. }
        | MountKind::Blobfuse {
            auth: BlobAuth::Key(key),
            ..
        } => Some(("key", key)),
        MountKind::Blobfuse {
            auth: BlobAuth::Sas(sas),
            ..
        } => Some(("sas", sas)),
        MountKind::Cifs { password, .. } => Some(("password", password)),
        MountKind::Nfs { .. }
        | MountKind::Blobfuse {
            auth: BlobAuth::Identity(_),
            ..
        } => None,
    };
    let Some((attr, value)) = credential else { return };
    if value.is_empty() || has_secret(value) {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::BF206,
            m.attrs.or(attr, m.name.span),
            format!("the `{attr}` of mount `{}` is written in the workflow", m.name.value),
        )
        .with_help(format!(
            "read it when the workflow runs: `{attr} = secret(\"{}_{}\")`",
            m.name.value.to_ascii_uppercase().replace('-', "_"),
            attr.to_ascii_uppercase()
        )),
    );
}
