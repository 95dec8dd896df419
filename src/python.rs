//! Which Python interpreter runs the tests. Whether it can import pytest is found out by the
//! first worker (see `execute`), so a working setup pays nothing for the check.

use std::path::{Path, PathBuf};

/// Picks the interpreter: `--python`, then `VIGIL_PYTHON`, then config, then a `.venv/` in
/// one of `project_dirs`, then `python3`. A relative path (`.venv/bin/python`) is taken from
/// `cwd` and made absolute without resolving symlinks: a venv's `python` is a symlink, and
/// resolving it would run the base interpreter outside the venv.
pub fn locate(
    cwd: &Path,
    flag: Option<&Path>,
    config: Option<&Path>,
    project_dirs: &[&Path],
) -> PathBuf {
    let env = std::env::var_os("VIGIL_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let venv = || {
        project_dirs
            .iter()
            .map(|d| d.join(".venv/bin/python"))
            .find(|p| p.is_file())
    };
    let chosen = flag
        .map(Path::to_path_buf)
        .or(env)
        .or_else(|| config.map(Path::to_path_buf))
        .or_else(venv)
        .unwrap_or_else(|| PathBuf::from("python3"));
    if chosen.components().count() == 1 {
        chosen // a bare name: looked up on PATH
    } else {
        crate::discover::absolute(cwd, &chosen)
    }
}
