//! The table of rule codes: one line per rule with its problem-style name and default
//! severity. Codes are never reused; a retired rule keeps its number.

use super::Severity;
use serde::{Serialize, Serializer};

macro_rules! codes {
    ($($code:ident $name:literal $sev:ident,)*) => {
        codes!(@for_each ($) $($code)*);

        /// A stable rule code such as `BF101`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($code,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }

            /// The problem-style name, e.g. `rdma-image-on-non-rdma-size`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$code => $name,)*
                }
            }

            pub fn default_severity(self) -> Severity {
                match self {
                    $(Code::$code => Severity::$sev,)*
                }
            }

            /// The rule's page, `docs/rules/CODE.md`.
            pub fn doc(self) -> &'static str {
                match self {
                    $(Code::$code => include_str!(concat!("../../docs/rules/", stringify!($code), ".md")),)*
                }
            }

            /// Where the rule's page is published: the page of the main branch on the
            /// repository named in Cargo.toml, `…/blob/main/docs/rules/CODE.md`.
            pub fn help_uri(self) -> &'static str {
                match self {
                    $(Code::$code => concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/rules/", stringify!($code), ".md"),)*
                }
            }

            /// The rule's fixtures: a workflow where it fires and the same one fixed.
            pub fn examples(self) -> (&'static str, &'static str) {
                match self {
                    $(Code::$code => (
                        include_str!(concat!("../../tests/fixtures/rules/", stringify!($code), "/fires.batchflow")),
                        include_str!(concat!("../../tests/fixtures/rules/", stringify!($code), "/passes.batchflow")),
                    ),)*
                }
            }
        }
    };
    // `$d` is a `$` passed in, so the generated macro can have metavariables of its own.
    (@for_each ($d:tt) $($code:ident)*) => {
        /// Calls `$m!(BF001, BF002, ...)` with every rule code of the table, in order: code
        /// generated per rule, as the one test per rule fixture of the integration tests.
        #[macro_export]
        macro_rules! for_each_rule {
            ($d m:ident) => {
                $d m!($($code),*);
            };
        }
    };
}

codes! {
    BF001 "syntax-error" Error,
    BF002 "unknown-name" Error,
    BF003 "duplicate-name" Error,
    BF004 "invalid-id" Error,
    BF005 "dependency-cycle" Error,
    BF006 "wrong-type" Error,
    BF007 "missing-attribute" Error,
    BF008 "unknown-attribute" Error,
    BF009 "cross-job-dependency" Error,
    BF010 "bad-param-override" Error,
    BF011 "hook-script-error" Error,
    BF012 "sweep-too-large" Error,
    BF101 "rdma-image-on-non-rdma-size" Error,
    BF102 "rdma-size-without-rdma-image" Warning,
    BF103 "rdma-on-windows-containers" Error,
    BF104 "image-without-container-support" Error,
    BF105 "node-agent-mismatch" Error,
    BF106 "single-core-windows-containers" Warning,
    BF107 "unknown-vm-size" Warning,
    BF108 "gpus-in-run-options" Error,
    BF109 "malformed-image-resource-id" Error,
    BF110 "custom-image-pool-too-large" Error,
    BF111 "custom-image-resize-timeout" Warning,
    BF112 "custom-image-with-shared-key" Error,
    BF113 "autoscale-with-fixed-size" Error,
    BF114 "managed-image-not-gallery" Error,
    BF115 "gpu-image-on-cpu-size" Warning,
    BF116 "retired-image" Error,
    BF117 "inter-node-with-mixed-priority" Error,
    BF118 "too-many-task-slots" Error,
    BF119 "value-out-of-range" Error,
    BF120 "retired-vm-size" Error,
    BF122 "pool-without-nodes" Error,
    BF123 "inter-node-pool-too-large" Error,
    BF124 "pool-identity-with-shared-key" Error,
    BF201 "container-task-on-plain-pool" Error,
    BF202 "windows-container-task-not-admin" Error,
    BF203 "private-registry-without-credentials" Error,
    BF204 "image-not-prefetched" Info,
    BF205 "runtime-in-run-options" Warning,
    BF206 "literal-secret" Warning,
    BF207 "conflicting-registry-auth" Error,
    BF208 "container-start-task-on-plain-pool" Error,
    BF209 "empty-command" Info,
    BF210 "slots-exceed-task-slots" Error,
    BF211 "timeout-beyond-job-wall-clock" Warning,
    BF212 "invalid-multi-instance" Error,
    BF213 "insecure-url" Warning,
    BF214 "dependency-list-too-long" Info,
    BF215 "plain-task-on-container-pool" Error,
    BF216 "output-not-writable" Error,
    BF217 "output-not-blob" Warning,
    BF218 "env-var-without-shell" Warning,
    BF219 "shell-for-other-os" Error,
    BF220 "release-task-without-prep" Error,
    BF221 "container-name-in-run-options" Error,
    BF222 "invalid-image-reference" Error,
    BF223 "windows-container-version-mismatch" Warning,
    BF224 "autoscale-formula-syntax" Error,
    BF225 "input-not-found" Error,
    BF226 "path-outside-repository" Error,
    BF227 "output-collision" Error,
    BF228 "storage-not-configured" Error,
    BF229 "sas-expires-before-job" Warning,
    BF230 "too-many-input-files" Warning,
    BF231 "mpi-over-ethernet" Warning,
    BF232 "mpi-modules-missing" Error,
    BF233 "mount-unsupported-by-os" Error,
    BF234 "duplicate-mount" Error,
    BF235 "mount-not-a-drive-letter" Error,
    BF301 "core-quota-exceeded" Error,
    BF302 "pool-quota-exceeded" Error,
    BF303 "job-quota-exceeded" Error,
    BF304 "vm-size-not-in-region" Error,
    BF305 "image-not-supported-by-account" Error,
    BF306 "custom-image-unavailable" Error,
    BF307 "identity-not-found" Error,
    BF308 "online-check-skipped" Warning,
}

impl Code {
    /// Looks a code up by its text (`BF101`, `bf101`) or its name (`dependency-cycle`).
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text) || c.name() == text)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let names: HashSet<_> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), Code::ALL.len());
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn parse_accepts_code_or_name() {
        assert_eq!(Code::parse("bf101"), Some(Code::BF101));
        assert_eq!(Code::parse("dependency-cycle"), Some(Code::BF005));
        assert_eq!(Code::parse("BF999"), None);
    }
}
