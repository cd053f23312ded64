//! Errors of the storage layer (`exec::cloud::blob`), their messages in one place. No message
//! ever holds an account key, a token or a SAS: the service's own text is kept only for
//! errors that cannot concern credentials, and a 403 is explained from its code.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

/// How the requests that failed were authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// SharedKey with the account key.
    AccountKey,
    /// A Microsoft Entra ID bearer token.
    Entra,
}

#[derive(Debug)]
pub enum StorageError {
    /// The storage configuration is unusable (a malformed connection string, `http` to a host
    /// that is not this machine, a SAS-only connection string).
    Config(String),
    /// The service answered 403: the credential was refused or lacks a permission.
    Denied {
        account: String,
        via: Via,
        /// Storage's error code (`AuthorizationPermissionMismatch`, `AuthenticationFailed`...).
        code: String,
    },
    /// Another error answer: its status, storage's error code and the first line of its message.
    Service { status: u16, code: String, message: String },
    /// No usable answer after every retry: connection refused or dropped, timeouts, 503s.
    Transport(String),
    /// A Microsoft Entra token could not be had.
    Credential(String),
    /// A local file could not be read or written.
    Io { path: PathBuf, error: std::io::Error },
    /// A file is not what it was when it was hashed (its size or content changed).
    Changed { path: PathBuf, detail: String },
    /// A SAS signed with a user delegation key cannot outlive the key, and a key lives at most
    /// 7 days from when it is asked for.
    DelegationLimit { wanted: SystemTime, limit: SystemTime },
    /// A blob name that cannot be a path under the destination (absolute, or with `..`).
    UnsafeName(String),
}

impl StorageError {
    /// The HTTP status the service answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            StorageError::Denied { .. } => Some(403),
            StorageError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Storage's error code, if the service gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            StorageError::Denied { code, .. } | StorageError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the problem is in the configuration or the environment rather than the run.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            StorageError::Config(_) | StorageError::Credential(_) | StorageError::DelegationLimit { .. }
        )
    }

    /// What to do about it, when there is more to say than the message.
    pub fn help(&self) -> Option<String> {
        match self {
            StorageError::Denied { via: Via::Entra, account, .. } => Some(format!(
                "assign the role with `az role assignment create --role \"Storage Blob Data Contributor\" --assignee <you> --scope <the id of storage account {account}>`; role assignments take a few minutes to apply"
            )),
            StorageError::Denied { via: Via::AccountKey, .. } => Some(
                "set AZURE_STORAGE_KEY (or the AccountKey of AZURE_STORAGE_CONNECTION_STRING) to a current key of the account, or sign in with Microsoft Entra ID (`az login`) and leave the key unset"
                    .into(),
            ),
            StorageError::Changed { .. } => {
                Some("wait until whatever writes the file is done, then run again".into())
            }
            _ => None,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Config(why) | StorageError::Transport(why) | StorageError::Credential(why) => {
                f.write_str(why)
            }
            StorageError::Denied { account, via, code } => f.write_str(&denied(account, *via, code)),
            StorageError::Service { status, code, message } if message.is_empty() => {
                write!(f, "storage answered {code} ({status})")
            }
            StorageError::Service { status, code, message } => {
                write!(f, "storage answered {code} ({status}): {message}")
            }
            StorageError::Io { path, error } => write!(f, "`{}`: {error}", path.display()),
            StorageError::Changed { path, detail } => {
                write!(f, "`{}` changed while it was being uploaded: {detail}", path.display())
            }
            StorageError::DelegationLimit { wanted, limit } => write!(
                f,
                "a SAS signed with a user delegation key (Microsoft Entra ID) lives at most 7 days: \
                 one valid until {} was asked for, the key can last until {}",
                httpdate::fmt_http_date(*wanted),
                httpdate::fmt_http_date(*limit)
            ),
            StorageError::UnsafeName(name) => write!(
                f,
                "blob `{name}` cannot be downloaded under the destination folder: its name is absolute or contains `..`"
            ),
        }
    }
}

/// A 403 in words: which role or credential is missing.
fn denied(account: &str, via: Via, code: &str) -> String {
    let role = format!("`Storage Blob Data Contributor` on account `{account}`");
    match (via, code) {
        (Via::Entra, "AuthorizationFailure") => format!(
            "storage account `{account}` refused the request ({code}): its firewall or private endpoints do not admit this machine, or the Microsoft Entra identity lacks {role}"
        ),
        (Via::Entra, _) => format!(
            "the Microsoft Entra identity lacks a data role on storage account `{account}` ({code}): it needs {role}"
        ),
        (Via::AccountKey, "KeyBasedAuthenticationNotPermitted") => format!(
            "storage account `{account}` does not allow shared key access ({code}): use Microsoft Entra ID instead of the account key"
        ),
        (Via::AccountKey, "AuthorizationFailure") => format!(
            "storage account `{account}` refused the request ({code}): the account key is wrong or was rotated, or the account's firewall does not admit this machine"
        ),
        (Via::AccountKey, _) => format!(
            "storage account `{account}` refused the account key ({code}): the key is wrong or was rotated"
        ),
    }
}

impl std::error::Error for StorageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_names_the_missing_role_or_credential() {
        let entra = StorageError::Denied {
            account: "acct".into(),
            via: Via::Entra,
            code: "AuthorizationPermissionMismatch".into(),
        };
        assert!(entra
            .to_string()
            .contains("Storage Blob Data Contributor` on account `acct`"));
        let key = StorageError::Denied {
            account: "acct".into(),
            via: Via::AccountKey,
            code: "AuthenticationFailed".into(),
        };
        assert!(key.to_string().contains("refused the account key"));
        assert!(key.help().is_some_and(|h| h.contains("AZURE_STORAGE_KEY")));
    }
}
