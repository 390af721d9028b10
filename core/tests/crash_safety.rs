//! Killing the process while it saves never leaves a corrupt or half-written
//! configuration: a child process saves a growing configuration in a loop,
//! is killed with SIGKILL at different moments, and the file must always
//! load as one complete version.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sipsimple_core::storage::{ConfigNode, ConfigTree, ConfigurationBackend, FileBackend};

const CHILD_ENV: &str = "SIPSIMPLE_CRASH_WRITER_DIR";

fn version_tree(version: usize) -> ConfigTree {
    // Each version is large enough that a write takes several system calls.
    let mut accounts = ConfigTree::new();
    for i in 0..200 {
        let mut account = ConfigTree::new();
        account.insert("version".into(), ConfigNode::Scalar(Some(version.to_string())));
        account.insert("display_name".into(), ConfigNode::Scalar(Some(format!("User {i}, \"quoted\" = {version}"))));
        account.insert("codecs".into(), ConfigNode::List(vec!["opus".into(), "PCMU".into(), version.to_string()]));
        accounts.insert(format!("user{i}@example.com"), ConfigNode::Group(account));
    }
    ConfigTree::from([("Accounts".to_owned(), ConfigNode::Group(accounts))])
}

/// The child side: saves versions 0, 1, 2... until killed. Does nothing in a
/// normal test run.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let backend = FileBackend::new(std::path::Path::new(&dir).join("config"));
    for version in 0.. {
        backend.save(&version_tree(version)).expect("save");
        println!("saved {version}");
    }
}

#[test]
fn killed_during_save_leaves_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..12 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_writer_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it complete a different number of saves each round, then kill it mid-write.
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = 3 + round * 7;
        for line in lines {
            let line = line.unwrap();
            if line.strip_prefix("saved ").and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n >= target) {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let tree = FileBackend::new(dir.path().join("config")).load().expect("the file must load after a kill");
        let Some(ConfigNode::Group(accounts)) = tree.get("Accounts") else { panic!("no Accounts group") };
        let Some(ConfigNode::Group(first)) = accounts.get("user0@example.com") else { panic!("no account") };
        let Some(ConfigNode::Scalar(Some(v))) = first.get("version") else { panic!("no version") };
        let version: usize = v.parse().unwrap();
        assert_eq!(tree, version_tree(version), "round {round}: the file mixes versions");
        assert!(version + 1 >= 3 + round * 7, "round {round}: an older version than was saved ({version})");
    }
}
