//! `--changed [--since REV]`: a command's paths become the tests that the work tree's changes
//! since REV (default HEAD: staged, unstaged and untracked) can affect.

use std::path::Path;

use vigil::affected::{changes_since, Selection, Selector, Settings};
use vigil::config::Loaded;
use vigil::discover;

use super::{usage, Failure};

/// Replaces `paths` by the affected tests. `Ok(false)`: nothing is affected (the caller exits
/// 5, as pytest does when nothing is selected). Everything affected leaves `paths` empty.
pub fn narrow(
    paths: &mut Vec<String>,
    since: Option<&str>,
    explain: bool,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<bool, Failure> {
    if !paths.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "--changed chooses the tests itself: give it no paths"
        )));
    }
    let changes = changes_since(invocation_dir, since).map_err(usage)?;
    let discovery = discover::discover(invocation_dir, &[]).map_err(usage)?;
    let tests: Vec<_> = discovery.files.iter().map(|f| f.path.clone()).collect();
    let settings = Settings::from_config(loaded, &discovery.config.rootdir);
    let selection = Selector::new(settings).select(&changes, &tests);
    let rev = since.unwrap_or("HEAD");
    eprintln!("vigil: {}", summary(&selection, changes.len(), rev));
    if explain {
        for reason in &selection.reasons {
            eprintln!("  {reason}");
        }
    }
    if selection.everything {
        return Ok(true);
    }
    *paths = selection.paths();
    Ok(!paths.is_empty())
}

fn summary(selection: &Selection, changed: usize, rev: &str) -> String {
    let files = match changed {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    };
    if selection.everything {
        let why = selection.reasons.iter().find(|r| !r.contains("::"));
        let why = why.map(|r| format!(" ({r})")).unwrap_or_default();
        return format!("{files} changed since {rev}: running everything{why}");
    }
    match selection.paths().len() {
        0 => format!("{files} changed since {rev}: no test is affected"),
        n => format!("{files} changed since {rev}: {n} affected test targets"),
    }
}
