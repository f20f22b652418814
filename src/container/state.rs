//! The run state of a container (`containers/<id>/state.json`): status,
//! pid, exit code, times. Liveness is checked against /proc so a state left
//! "running" by a killed process reads as exited.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
    Removing,
    Dead,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Removing => "removing",
            Status::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    #[serde(default)]
    pub pid: i32,
    /// Start time of `pid` in clock ticks since boot (field 22 of
    /// /proc/<pid>/stat), to tell our process from a reused pid.
    #[serde(default)]
    pub pid_start: u64,
    #[serde(default)]
    pub exit_code: i32,
    /// The kernel OOM-killed a process of the container in its last run.
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: String,
    /// Frozen by `pause` (the process is alive; status stays running).
    /// The user's pause only: `commit`'s freeze is `freezing`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Frozen by a live `commit` (it holds `freeze.lock`): found when the
    /// container is loaded, never stored, so a dead committer's freeze
    /// cannot outlive it in the state (see `freeze.rs`).
    #[serde(skip)]
    pub freezing: bool,
    /// Waiting to run again under its restart policy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarting: bool,
    /// Set by `stop`: the exit that follows is the user's wish, not a
    /// failure for the restart policy to undo.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_requested: bool,
    #[serde(default)]
    pub restart_count: u32,
    /// The process that reaps `pid` and records its exit: the monitor, or
    /// the CLI of a foreground run (with its start time, as for `pid`).
    /// While it lives, a dead `pid` is an exit about to be recorded.
    #[serde(default)]
    pub owner_pid: i32,
    #[serde(default)]
    pub owner_start: u64,
}

/// `State.Error` of an exit nobody saw: the process that reaps the
/// container died first, so its real status is lost.
pub const UNKNOWN_EXIT: &str = "exit status unknown: the process that records it (the container's \
     monitor, or its foreground run) was gone or failed; 137 assumed (killed)";

pub use crate::util::proc_start_time;

impl State {
    /// Docker's status word: "paused" for a paused running container.
    pub fn display_status(&self) -> &'static str {
        if self.status == Status::Running && self.is_paused() {
            "paused"
        } else if self.restarting && self.status == Status::Exited {
            "restarting"
        } else {
            self.status.as_str()
        }
    }

    /// Frozen, by the user's `pause` or a `commit` under way: as docker
    /// shows a container its commit pauses.
    pub fn is_paused(&self) -> bool {
        self.paused || self.freezing
    }

    /// Record an exit whose status nobody saw as docker reports a killed
    /// init (137), saying why, unless a real status is already there.
    pub fn assume_killed(&mut self) {
        if self.exit_code == 0 {
            self.exit_code = 137;
            if self.error.is_empty() {
                self.error = UNKNOWN_EXIT.into();
            }
        }
    }

    /// True when the recorded process is still the one we started.
    pub fn is_alive(&self) -> bool {
        self.status == Status::Running
            && self.pid > 0
            && proc_start_time(self.pid) == Some(self.pid_start)
    }

    /// True while the process that records this container's exit lives.
    /// Unknown (states written before it was recorded) reads as gone.
    pub fn owner_is_alive(&self) -> bool {
        self.owner_pid > 0 && proc_start_time(self.owner_pid) == Some(self.owner_start)
    }

    /// The status as the user should see it: a "running" state whose
    /// process and owner are both gone (the monitor or CLI was killed)
    /// reads as exited, with an unknown status (137). A process that died
    /// under a live owner is still "running" until the owner records its
    /// exit code a moment later.
    pub fn effective(&self) -> State {
        let mut s = self.clone();
        if s.status == Status::Running && !s.is_alive() && !s.owner_is_alive() {
            s.status = Status::Exited;
            s.pid = 0;
            s.paused = false;
            s.assume_killed();
            if s.finished_at.is_none() {
                s.finished_at = s.started_at.clone();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_reused_pid_is_not() {
        let me = std::process::id() as i32;
        let start = proc_start_time(me).unwrap();
        let mut s = State {
            status: Status::Running,
            pid: me,
            pid_start: start,
            ..Default::default()
        };
        assert!(s.is_alive());
        s.pid_start += 1;
        assert!(!s.is_alive());
        assert_eq!(s.effective().status, Status::Exited);
    }

    #[test]
    fn an_exit_nobody_recorded_is_137_with_a_reason() {
        let gone = State {
            status: Status::Running,
            pid: std::process::id() as i32,
            pid_start: 0, // not our process: dead, and no owner
            paused: true,
            ..Default::default()
        };
        let e = gone.effective();
        assert_eq!(
            (e.status, e.exit_code, e.paused),
            (Status::Exited, 137, false)
        );
        assert_eq!(e.error, UNKNOWN_EXIT);
        // Recorded exits keep their status and error.
        let recorded = State {
            status: Status::Exited,
            exit_code: 0,
            ..Default::default()
        };
        assert_eq!(recorded.effective().exit_code, 0);
        assert!(recorded.effective().error.is_empty());
        // The freeze of a commit is never stored.
        let committing = State {
            freezing: true,
            ..Default::default()
        };
        let json = serde_json::to_string(&committing).unwrap();
        assert!(!serde_json::from_str::<State>(&json).unwrap().freezing);
    }

    #[test]
    fn dead_process_with_live_owner_stays_running_until_recorded() {
        let me = std::process::id() as i32;
        let mut s = State {
            status: Status::Running,
            pid: me,
            pid_start: 0, // not our process: dead
            owner_pid: me,
            owner_start: proc_start_time(me).unwrap(),
            ..Default::default()
        };
        assert!(s.owner_is_alive());
        assert_eq!(s.effective().status, Status::Running);
        s.owner_start += 1;
        assert_eq!(s.effective().status, Status::Exited);
    }
}
