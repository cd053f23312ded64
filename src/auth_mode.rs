//! How a Batch target authenticates: what the checker needs to know of it (BF112: custom
//! images need Microsoft Entra ID) and what the azure backend's credentials resolve to.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    SharedKey,
    EntraId,
}
