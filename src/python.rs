//! Which Python interpreter runs the tests, and whether it can import pytest.

use std::path::{Path, PathBuf};

/// Where the interpreter came from, so an error can say why that one was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Config,
    ProjectVenv,
    Path,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--python",
            Source::Environment => "VIGIL_PYTHON",
            Source::Config => "the `python` key of vigil's config",
            Source::ProjectVenv => "the project's .venv",
            Source::Path => "python3 on PATH",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    pub path: PathBuf,
    pub source: Source,
}

#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    #[error("cannot run {} (from {}): {error}", python.display(), origin.describe())]
    NotRunnable { python: PathBuf, origin: Source, error: std::io::Error },
    #[error(
        "pytest is not importable by {} (from {}).\nInstall it with:\n    {} -m pip install pytest",
        python.display(), origin.describe(), python.display()
    )]
    PytestMissing { python: PathBuf, origin: Source },
}

/// Picks the interpreter: `--python`, then `VIGIL_PYTHON`, then config, then a `.venv/` in
/// one of `project_dirs`, then `python3`.
pub fn locate(flag: Option<&Path>, config: Option<&Path>, project_dirs: &[&Path]) -> Python {
    let env = std::env::var_os("VIGIL_PYTHON").filter(|v| !v.is_empty()).map(PathBuf::from);
    let venv = project_dirs.iter().map(|d| d.join(".venv/bin/python")).find(|p| p.is_file());
    let candidates = [
        (flag.map(Path::to_path_buf), Source::Flag),
        (env, Source::Environment),
        (config.map(Path::to_path_buf), Source::Config),
        (venv, Source::ProjectVenv),
    ];
    candidates
        .into_iter()
        .find_map(|(path, source)| path.map(|path| Python { path, source }))
        .unwrap_or(Python { path: PathBuf::from("python3"), source: Source::Path })
}

/// Asks the interpreter for pytest's version; the error names the exact install command.
pub fn pytest_version(python: &Python) -> Result<String, PythonError> {
    let output = duct::cmd!(&python.path, "-c", "import pytest; print(pytest.__version__)")
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|error| PythonError::NotRunnable { python: python.path.clone(), origin: python.source, error })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(PythonError::PytestMissing { python: python.path.clone(), origin: python.source })
    }
}
