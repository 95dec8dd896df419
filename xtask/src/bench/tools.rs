//! The four commands compared, exactly as the bench runs them.

use super::suites::Suite;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    Pytest,
    VigilJ1,
    Xdist,
    VigilJ2,
}

impl Tool {
    /// Also the order within each timing round.
    pub const ALL: [Tool; 4] = [Tool::Pytest, Tool::VigilJ1, Tool::Xdist, Tool::VigilJ2];

    pub fn label(self) -> &'static str {
        match self {
            Tool::Pytest => "pytest",
            Tool::VigilJ1 => "vigil -j1",
            Tool::Xdist => "xdist -n2",
            Tool::VigilJ2 => "vigil -j2",
        }
    }

    /// A name fit for file names (logs, JUnit reports).
    pub fn slug(self) -> &'static str {
        match self {
            Tool::Pytest => "pytest",
            Tool::VigilJ1 => "vigil-j1",
            Tool::Xdist => "xdist",
            Tool::VigilJ2 => "vigil-j2",
        }
    }

    fn is_vigil(self) -> bool {
        matches!(self, Tool::VigilJ1 | Tool::VigilJ2)
    }
}

/// Builds the commands for one suite; without a vigil binary only the pytest ones exist.
pub struct Runner<'a> {
    pub suite: &'a Suite,
    pub vigil: Option<&'a Path>,
}

impl Runner<'_> {
    pub fn tools(&self) -> Vec<Tool> {
        Tool::ALL
            .into_iter()
            .filter(|t| self.vigil.is_some() || !t.is_vigil())
            .collect()
    }

    /// The command for `tool`, run from the suite's dir; `junit` asks for a JUnit report.
    /// The cache provider is off everywhere so no run reorders or skips by the last one.
    pub fn command(&self, tool: Tool, junit: Option<&Path>) -> Option<Command> {
        let mut cmd = match tool {
            Tool::Pytest => self.pytest(&[], junit),
            Tool::Xdist => self.pytest(&["-n", "2"], junit),
            Tool::VigilJ1 => self.vigil_run("1", junit)?,
            Tool::VigilJ2 => self.vigil_run("2", junit)?,
        };
        cmd.current_dir(&self.suite.dir);
        Some(cmd)
    }

    fn pytest(&self, extra: &[&str], junit: Option<&Path>) -> Command {
        let mut cmd = Command::new(&self.suite.python);
        // As the user types it (no -q): vigil runs pytest at its default verbosity too, and
        // -q alone makes pytest's own terminal output measurably cheaper (~5 % on click).
        cmd.args(["-m", "pytest", "-p", "no:cacheprovider"])
            .args(extra);
        if let Some(path) = junit {
            cmd.arg(format!("--junitxml={}", path.display()));
        }
        cmd
    }

    fn vigil_run(&self, jobs: &str, junit: Option<&Path>) -> Option<Command> {
        let mut cmd = Command::new(self.vigil?);
        cmd.args(["run", "-j", jobs, "--python"])
            .arg(&self.suite.python);
        if let Some(path) = junit {
            cmd.arg("--junit").arg(path);
        }
        cmd.args(["--", "-p", "no:cacheprovider"]);
        Some(cmd)
    }
}
