//! The compact live view of a build on a terminal (`--progress tty`), as
//! BuildKit draws it: a header with the elapsed time, one line per step
//! with its own time, the last lines of a running step's output under it,
//! redrawn in place. On failure the failing step's output is printed
//! after the view, between `------` rules.
//!
//! Hand-written rather than a progress-bar crate: the view is a list of
//! timed lines with a log tail, which those crates do not model, and the
//! whole of it is one redraw routine.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many output lines a running step shows under it.
const TAIL_LINES: usize = 6;
/// How many output lines a failed step prints after the view.
const ERROR_LINES: usize = 20;
/// How many lines of a step's output are kept at all.
const KEPT_LINES: usize = 200;
const REDRAW: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    Running,
    Done,
    Cached,
    Failed,
    Canceled,
}

/// How the build ended, for the last redraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Interrupted (^C): the running step is marked CANCELED.
    Canceled,
}

struct Step {
    name: String,
    started: Instant,
    ended: Option<Instant>,
    state: StepState,
    /// `=> =>` detail lines (naming, writing the image).
    details: Vec<String>,
    log: VecDeque<String>,
    /// Output after the last newline.
    partial: Vec<u8>,
}

impl Step {
    fn elapsed(&self) -> Duration {
        self.ended
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(self.started)
    }

    fn push_output(&mut self, data: &[u8]) {
        self.partial.extend_from_slice(data);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            let text =
                String::from_utf8_lossy(line.split_last().map_or(&[], |(_, l)| l)).into_owned();
            // A bare \r (a progress meter) rewrites the line: keep the last.
            if !text.is_empty() {
                self.log.push_back(text);
                if self.log.len() > KEPT_LINES {
                    self.log.pop_front();
                }
            }
        }
    }

    fn flush_partial(&mut self) {
        if !self.partial.is_empty() {
            let text = String::from_utf8_lossy(&self.partial).into_owned();
            self.partial.clear();
            self.log.push_back(text);
        }
    }
}

struct State {
    started: Instant,
    steps: Vec<Step>,
    /// Lines the last redraw left on screen (to move back over).
    drawn: usize,
    finished: bool,
}

pub struct TtyView {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking reader thread must not take the view down with it.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The terminal's size on stderr, 80x24 when it cannot be read.
fn term_size() -> (usize, usize) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize we pass.
    let r = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if r != 0 || ws.ws_col == 0 {
        return (80, 24);
    }
    (ws.ws_col as usize, ws.ws_row.max(4) as usize)
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `text` cut to `width` columns (counted in chars: the view is ASCII
/// but for what programs print).
fn fit(text: &str, width: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(width)
        .collect()
}

/// A step line: the text on the left, the time flush right.
fn timed_line(text: &str, time: &str, width: usize) -> String {
    let room = width.saturating_sub(time.len().saturating_add(1));
    let left = fit(text, room);
    let pad = room.saturating_sub(left.chars().count());
    format!("{left}{} {time}", " ".repeat(pad))
}

impl State {
    fn lines(&self, width: usize, height: usize) -> Vec<String> {
        let done = self
            .steps
            .iter()
            .filter(|s| s.state != StepState::Running)
            .count();
        let mut header = format!(
            "[+] Building {} ({}/{})",
            seconds(self.started.elapsed()),
            done,
            self.steps.len()
        );
        if self.finished
            && self
                .steps
                .iter()
                .all(|s| !matches!(s.state, StepState::Failed | StepState::Canceled))
        {
            header.push_str(" FINISHED");
        }
        let mut body = Vec::new();
        for s in &self.steps {
            let mark = match s.state {
                StepState::Cached => "CACHED ",
                StepState::Failed => "ERROR ",
                StepState::Canceled => "CANCELED ",
                _ => "",
            };
            body.push(timed_line(
                &format!(" => {mark}{}", s.name),
                &seconds(s.elapsed()),
                width,
            ));
            for d in &s.details {
                body.push(timed_line(&format!(" => => {d}"), "0.0s", width));
            }
            if s.state == StepState::Running {
                let skip = s.log.len().saturating_sub(TAIL_LINES);
                for l in s.log.iter().skip(skip) {
                    body.push(fit(&format!(" => => # {l}"), width.saturating_sub(1)));
                }
            }
        }
        // Long builds keep their newest steps on screen, as BuildKit.
        let room = height.saturating_sub(2);
        let skip = body.len().saturating_sub(room);
        let mut out = vec![fit(&header, width.saturating_sub(1))];
        out.extend(body.into_iter().skip(skip));
        out
    }

    fn redraw(&mut self) {
        let (width, height) = term_size();
        let lines = self.lines(width, height);
        let mut buf = String::new();
        if self.drawn > 0 {
            // Back to the first line drawn, and clear from there down.
            buf.push_str(&format!("\x1b[{}A\r", self.drawn));
        }
        buf.push_str("\x1b[J");
        for l in &lines {
            buf.push_str(l);
            buf.push('\n');
        }
        self.drawn = lines.len();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(buf.as_bytes());
        let _ = err.flush();
    }

    fn current(&mut self) -> Option<&mut Step> {
        self.steps
            .last_mut()
            .filter(|s| s.state == StepState::Running)
    }

    fn end_current(&mut self, state: StepState) {
        if let Some(s) = self.current() {
            s.ended = Some(Instant::now());
            s.state = state;
            s.flush_partial();
        }
    }
}

impl TtyView {
    /// Start drawing on stderr, redrawn every 100 ms so times tick.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            started: Instant::now(),
            steps: Vec::new(),
            drawn: 0,
            finished: false,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let state = state.clone();
            let stop = stop.clone();
            crate::util::spawn_quiet(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(REDRAW);
                    let mut s = lock(&state);
                    if !s.finished {
                        s.redraw();
                    }
                }
            })
        };
        let view = TtyView {
            state,
            stop,
            ticker: Some(ticker),
        };
        lock(&view.state).redraw();
        view
    }

    /// A new step; the one before it, if still running, is done.
    pub fn step(&self, name: String) {
        let mut s = lock(&self.state);
        s.end_current(StepState::Done);
        s.steps.push(Step {
            name,
            started: Instant::now(),
            ended: None,
            state: StepState::Running,
            details: Vec::new(),
            log: VecDeque::new(),
            partial: Vec::new(),
        });
        s.redraw();
    }

    /// The running step came from the cache.
    pub fn cached(&self) {
        let mut s = lock(&self.state);
        s.end_current(StepState::Cached);
        s.redraw();
    }

    /// The running step is done.
    pub fn done(&self) {
        let mut s = lock(&self.state);
        s.end_current(StepState::Done);
        s.redraw();
    }

    /// A detail line under the running step.
    pub fn detail(&self, text: String) {
        let mut s = lock(&self.state);
        if let Some(step) = s.current() {
            step.details.push(text);
        }
        s.redraw();
    }

    /// A pipe whose read end feeds the running step's output; the thread
    /// ends when every write end is closed.
    pub fn output_pipe(&self) -> std::io::Result<(OwnedFd, JoinHandle<()>)> {
        // Close-on-exec: the step's container gets the write end only as
        // its stdout/stderr (dup2 clears the flag there).
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let state = self.state.clone();
        let reader = crate::util::spawn_quiet(move || {
            let mut file = std::fs::File::from(read);
            let mut buf = [0u8; 8192];
            loop {
                match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let Ok(data) = crate::util::filled(&buf, n) else {
                            break;
                        };
                        let mut s = lock(&state);
                        if let Some(step) = s.current() {
                            step.push_output(data);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        Ok((write, reader))
    }

    /// The last redraw. A step still running failed or was canceled; a
    /// failed one's output is printed after the view.
    pub fn finish(mut self, outcome: Outcome) {
        self.finish_inner(outcome);
    }

    fn finish_inner(&mut self, outcome: Outcome) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        let mut s = lock(&self.state);
        if s.finished {
            return;
        }
        s.end_current(match outcome {
            Outcome::Done => StepState::Done,
            Outcome::Failed => StepState::Failed,
            Outcome::Canceled => StepState::Canceled,
        });
        s.finished = true;
        s.redraw();
        if let Some(failed) = s.steps.iter().find(|st| st.state == StepState::Failed) {
            if !failed.log.is_empty() {
                let mut text = format!("------\n > {}:\n", failed.name);
                let skip = failed.log.len().saturating_sub(ERROR_LINES);
                for l in failed.log.iter().skip(skip) {
                    text.push_str(l);
                    text.push('\n');
                }
                text.push_str("------\n");
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
        }
    }
}

impl Drop for TtyView {
    fn drop(&mut self) {
        // An early return (an error) leaves the view as a failure.
        self.finish_inner(Outcome::Failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, state: StepState) -> Step {
        Step {
            name: name.into(),
            started: Instant::now(),
            ended: (state != StepState::Running).then(Instant::now),
            state,
            details: Vec::new(),
            log: VecDeque::new(),
            partial: Vec::new(),
        }
    }

    #[test]
    fn output_is_split_into_lines_and_carriage_returns_rewrite() {
        let mut s = step("x", StepState::Running);
        s.push_output(b"one\ntw");
        s.push_output(b"o\n10%\r20%\rdone");
        assert_eq!(s.log, ["one", "two", "10%", "20%"]);
        s.flush_partial();
        assert_eq!(s.log.back().map(String::as_str), Some("done"));
    }

    #[test]
    fn lines_mark_cached_and_failed_steps_and_tail_the_running_one() {
        let mut running = step("[2/3] RUN make", StepState::Running);
        for i in 0..10 {
            running.push_output(format!("line {i}\n").as_bytes());
        }
        let st = State {
            started: Instant::now(),
            steps: vec![
                step("[1/3] FROM busybox", StepState::Cached),
                running,
                step("[3/3] RUN false", StepState::Failed),
            ],
            drawn: 0,
            finished: false,
        };
        let lines = st.lines(60, 50);
        assert!(lines[0].starts_with("[+] Building 0.0s (2/3)"), "{lines:?}");
        assert!(lines[1].starts_with(" => CACHED [1/3] FROM busybox "));
        assert!(lines[1].ends_with(" 0.0s"));
        assert_eq!(lines[1].chars().count(), 60);
        assert!(lines[2].starts_with(" => [2/3] RUN make"));
        // The last six lines of output, not the first four.
        assert_eq!(lines[3], " => => # line 4");
        assert_eq!(lines[8], " => => # line 9");
        assert!(lines[9].starts_with(" => ERROR [3/3] RUN false"));
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn a_short_terminal_keeps_the_header_and_the_newest_lines() {
        let st = State {
            started: Instant::now(),
            steps: (1..=30)
                .map(|i| step(&format!("[{i}/30] RUN x"), StepState::Done))
                .collect(),
            drawn: 0,
            finished: true,
        };
        let lines = st.lines(80, 10);
        assert_eq!(lines.len(), 9);
        assert!(lines[0].ends_with("(30/30) FINISHED"), "{lines:?}");
        assert!(lines[8].starts_with(" => [30/30] RUN x"));
    }

    #[test]
    fn long_lines_are_cut_to_the_terminal() {
        let line = timed_line(&"x".repeat(200), "1.5s", 40);
        assert_eq!(line.chars().count(), 40);
        assert!(line.ends_with(" 1.5s"));
    }
}
