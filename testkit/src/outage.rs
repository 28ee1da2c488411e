//! Outages of the stack: stopping a cluster, and starting it again even when
//! the test fails. The tests of a binary run on parallel threads against one
//! stack, so every test takes a turn first: ordinary tests share the stack
//! ([`Stack::shared`]), a test that stops a cluster has it alone
//! ([`Stack::exclusive`]): it waits for the running tests to end, and the
//! tests after it wait until it has started the cluster again. The turns are
//! the stack's; stopping and restarting are the clusters' ([`Clusters`]), and
//! check that the turn is exclusive.

use crate::clusters::Clusters;
use crate::stack::{repo_dir, Stack};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The turns of one test binary: a read lock per ordinary test, the write lock
/// for a test that stops a cluster (tokio's lock is fair: a waiting exclusive
/// turn holds back the shared turns asked for after it).
#[derive(Default)]
pub(crate) struct Turns {
    lock: RwLock<()>,
    /// Set while an exclusive turn is held: only then may a cluster stop.
    exclusive_held: AtomicBool,
}

/// An ordinary test's turn: no cluster stops while it is held.
#[must_use = "the turn ends when dropped: hold it for the whole test"]
pub struct SharedTurn {
    _lock: RwLockReadGuard<'static, ()>,
}

/// A disruptive test's turn: no other test of the binary runs while it is held.
#[must_use = "the turn ends when dropped: hold it for the whole test"]
pub struct ExclusiveTurn {
    _lock: RwLockWriteGuard<'static, ()>,
    held: &'static AtomicBool,
}

impl Drop for ExclusiveTurn {
    fn drop(&mut self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

/// Starts a cluster again when dropped, also when the test panics: a test that
/// stops a cluster never leaves it down for the tests after it. Take it after
/// the exclusive turn, so that it drops (and the cluster starts) first.
pub struct RestartOnDrop(char);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        stack_sh(&["pg-start", &self.0.to_string()]);
    }
}

/// Server settings changed on one cluster (ALTER SYSTEM and a restart), reset
/// and restarted again when dropped, also when the test panics.
pub struct SettingOnDrop {
    cluster: char,
    names: Vec<&'static str>,
}

impl Drop for SettingOnDrop {
    fn drop(&mut self) {
        let c = self.cluster.to_string();
        stack_sh(&["pg-start", &c]);
        for name in &self.names {
            stack_sh(&["psql", &c, "-q", "-c", &format!("ALTER SYSTEM RESET {name}")]);
        }
        stack_sh(&["pg-stop", &c]);
        stack_sh(&["pg-start", &c]);
    }
}

impl Clusters {
    /// Restarts `cluster` with `settings` (ALTER SYSTEM), e.g. B at
    /// `max_connections` 50; the returned guard resets them and restarts again.
    /// Names are GUC names, values plain numbers or words (checked: no quoting needed).
    #[track_caller]
    pub fn restart_with(&self, cluster: char, settings: &[(&'static str, &str)]) -> SettingOnDrop {
        self.assert_exclusive("restart_with");
        for (name, value) in settings {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "restart_with: {name} = {value} is not a plain setting"
            );
        }
        let c = cluster.to_string();
        let guard = SettingOnDrop {
            cluster,
            names: settings.iter().map(|(name, _)| *name).collect(),
        };
        for (name, value) in settings {
            stack_sh(&["psql", &c, "-q", "-c", &format!("ALTER SYSTEM SET {name} = '{value}'")]);
        }
        stack_sh(&["pg-stop", &c]);
        stack_sh(&["pg-start", &c]);
        guard
    }
}

impl Stack {
    /// Waits until no test has the stack alone, then shares it until the turn drops.
    pub async fn shared(&'static self) -> SharedTurn {
        SharedTurn {
            _lock: self.clusters.turns.lock.read().await,
        }
    }

    /// Waits until every other test of the binary is done with the stack, then
    /// has it alone until the turn drops. Needed to stop a cluster.
    pub async fn exclusive(&'static self) -> ExclusiveTurn {
        let lock = self.clusters.turns.lock.write().await;
        self.clusters.turns.exclusive_held.store(true, Ordering::SeqCst);
        ExclusiveTurn {
            _lock: lock,
            held: &self.clusters.turns.exclusive_held,
        }
    }
}

impl Clusters {
    /// A guard that starts `cluster` ('a' or 'b') again when dropped; take it before stopping the cluster.
    #[track_caller]
    pub fn restart_on_drop(&self, cluster: char) -> RestartOnDrop {
        self.assert_exclusive("restart_on_drop");
        RestartOnDrop(cluster)
    }

    /// Stops one cluster (same port when it comes back). Blocking: it waits for the server to stop.
    #[track_caller]
    pub fn stop_cluster(&self, cluster: char) {
        self.assert_exclusive("stop_cluster");
        stack_sh(&["pg-stop", &cluster.to_string()]);
    }

    /// Stops `cluster` now and starts it again `length` later, in the
    /// background, so that the test can start work while it is down (as a
    /// failover or a reboot of an Aurora cluster does to its endpoint: refused
    /// until the new writer answers). Take [`Self::restart_on_drop`] first.
    #[track_caller]
    pub fn outage(&self, cluster: char, length: Duration) -> ClusterOutage {
        self.assert_exclusive("outage");
        let name = cluster.to_string();
        stack_sh(&["pg-stop", &name]);
        let down_at = Instant::now();
        let back = tokio::spawn(async move {
            tokio::time::sleep(length).await;
            tokio::task::spawn_blocking(move || stack_sh(&["pg-start", &name]))
                .await
                .expect("starting the cluster again");
            down_at.elapsed()
        });
        ClusterOutage { cluster, down_at, back }
    }

    #[track_caller]
    fn assert_exclusive(&self, what: &str) {
        assert!(
            self.turns.exclusive_held.load(Ordering::SeqCst),
            "{what} outside an exclusive turn: other tests of this binary use the clusters; \
             take `stack.exclusive().await` first"
        );
    }
}

/// Runs `stack/stack.sh` (failure-injection commands of the local stack).
/// How long the failover tests keep a cluster down: `FDW_OUTAGE_SECONDS`, 30 s
/// unless set (Aurora's failovers typically end well under a minute).
pub fn outage_length() -> Duration {
    let seconds = std::env::var("FDW_OUTAGE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

/// A cluster that is down until [`ClusterOutage::end`] says it is back.
pub struct ClusterOutage {
    pub cluster: char,
    pub down_at: Instant,
    back: tokio::task::JoinHandle<Duration>,
}

impl ClusterOutage {
    /// Waits until the cluster is started again; how long it was down.
    pub async fn end(self) -> Duration {
        self.back.await.expect("the outage's restart")
    }
}

fn stack_sh(args: &[&str]) {
    let script = repo_dir().join("stack/stack.sh");
    let status = std::process::Command::new(&script)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(status.success(), "stack/stack.sh {args:?} failed");
}
