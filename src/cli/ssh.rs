//! `batchflow ssh RUN [TASK|NODE]`: logs in to a node of an azure run. The library finds the
//! node and adds and deletes the node user (`exec::azure::ssh`); this runs `ssh` (or
//! `BATCHFLOW_SSH`), or prints the command, or for a Windows node the Remote Desktop details.

use super::status::{connect, open};
use super::{eprint_line, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::azure::ssh::{self, NewUser, SSH_PROGRAM};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn ssh(run: &str, target: Option<&str>, key: &str, print: bool) -> u8 {
    let (run_dir, st) = match open(run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if st.target == "local" {
        return usage_error(&format!(
            "run `{}` ran on this machine: its nodes are folders under {}; `batchflow ssh` logs in to the nodes of a run on Azure Batch",
            st.run_id,
            run_dir.path.join("nodes").display()
        ));
    }
    let remote = match connect(&run_dir, &st) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (client, rt) = (&remote.client, &remote.rt);
    let node = match rt.block_on(ssh::find(client, &remote.plan, &st, target)) {
        Ok(n) => n,
        Err(e) => return usage_error(&e.to_string()),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expiry = ssh::expiry(now);
    let name = ssh::user_name();
    let key_path = expand_home(key);
    let (password, public_key) = if node.windows {
        (Some(ssh::password()), None)
    } else {
        match std::fs::read_to_string(&key_path) {
            Ok(text) if !text.trim().is_empty() => (None, Some(text.trim().to_string())),
            _ => {
                return usage_error(&format!(
                    "no SSH public key at {}: create one with `ssh-keygen -t ed25519`, or name one with --key",
                    key_path.display()
                ))
            }
        }
    };
    let user = NewUser {
        name: name.clone(),
        is_admin: true,
        expiry_time: expiry.clone(),
        password: password.clone(),
        ssh_public_key: public_key,
    };
    if let Err(e) = rt.block_on(ssh::add_user(client, &node, &user)) {
        return usage_error(&e.to_string());
    }
    let login = match rt.block_on(ssh::remote_login(client, &node)) {
        Ok(l) => l,
        Err(e) => {
            let _ = rt.block_on(ssh::delete_user(client, &node, &name));
            return usage_error(&e.to_string());
        }
    };
    let at = format!("node `{}` of pool `{}`", node.id, node.pool);
    if let Some(password) = password {
        let text = format!(
            "{at} runs Windows: connect with Remote Desktop to {}:{}\n  user:     {name}\n  password: {password}\nthe user expires at {expiry}\n",
            login.address, login.port
        );
        return print_out(&text).err().unwrap_or(OK);
    }
    let program = std::env::var("BATCHFLOW_SSH")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| SSH_PROGRAM.to_string());
    let args = ssh::ssh_args(&login, &name, &key_path, &run_dir.path.join("known_hosts"));
    if print {
        let words: Vec<&str> = std::iter::once(program.as_str())
            .chain(args.iter().map(String::as_str))
            .collect();
        eprint_line(&format!("user `{name}` on {at} expires at {expiry}"));
        let line = shlex::try_join(words).unwrap_or_default();
        return print_out(&format!("{line}\n")).err().unwrap_or(OK);
    }
    eprint_line(&format!(
        "logging in to {at} as `{name}`; the user is deleted when the session ends"
    ));
    // A Ctrl-C in the session is the remote shell's; batchflow stays to delete the user.
    let _ = ctrlc::set_handler(|| {});
    let status = std::process::Command::new(&program).args(&args).status();
    if let Err(e) = rt.block_on(ssh::delete_user(client, &node, &name)) {
        eprint_line(&format!("warning: {e}; the user expires at {expiry}"));
    }
    match status {
        Ok(s) if s.success() => OK,
        Ok(_) => FOUND_ERRORS,
        Err(e) => usage_error(&format!(
            "cannot run `{program}`: {e}; install OpenSSH's client, or name one with BATCHFLOW_SSH"
        )),
    }
}

/// `~/...` from `HOME`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
