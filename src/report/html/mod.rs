//! `vigil report --html`: one self-contained HTML file (inline CSS and SVG; no scripts, fonts,
//! images or network, and a Content-Security-Policy that says so) with the run's summary, its
//! failures grouped, pass-rate and duration trend charts, the changes since earlier runs and
//! the flaky tests.

mod charts;
mod data;
mod escape;
mod failures;
mod page;

use std::io::Write;
use std::path::Path;

use crate::diagnose::{Diagnoser, Rules};
use crate::history::{HistoryError, Store};

use super::ReportError;

pub use charts::{DURATION_COLORS, PLOT_BACKGROUND, TIER_COLORS};
pub use escape::escape;

/// Which run the report is about, how far back its trends look, and how to diagnose the
/// failures history kept no diagnosis for.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    pub runs: usize,
    /// A run id; the latest run when `None`.
    pub run: Option<i64>,
    /// The project's rules and root (as `vigil diagnose` builds them), for failures recorded
    /// without a diagnosis (imported runs, runs older than diagnosis).
    pub diagnoser: Diagnoser,
}

impl Default for HtmlOptions {
    /// The built-in rules; "." as the root strips nothing from absolute paths.
    fn default() -> Self {
        HtmlOptions {
            runs: 30,
            run: None,
            diagnoser: Diagnoser::new(Rules::builtin(), Path::new(".")),
        }
    }
}

/// The report page for the history in `store`.
pub fn render_html(store: &Store, options: &HtmlOptions) -> Result<String, HistoryError> {
    Ok(page::page(&data::load(store, options)?))
}

/// Writes `html` to `path` through a temp file in the same directory and a rename, so a
/// browser (or CI artifact upload) never sees half a report; creates missing directories.
pub fn write_html(path: &Path, html: &str) -> Result<(), ReportError> {
    let error = |error: std::io::Error| ReportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(error)?;
    let mut file = tempfile::Builder::new()
        .prefix(".vigil-report-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(error)?;
    file.write_all(html.as_bytes()).map_err(error)?;
    // Temp files are private (0600); a report is meant to be shared like any written file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        file.as_file().set_permissions(mode).map_err(error)?;
    }
    file.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Outcome;
    use crate::history::{ResultRecord, RunRecord};

    /// A hostile test id and message reach the page only escaped: in the failures, the
    /// change tables, the chart legend and the hover titles alike.
    #[test]
    fn test_names_and_messages_are_escaped_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.db")).unwrap();
        let name = r#"t.py::test_x[<script>alert("n")</script>&'q']"#;
        let message = "AssertionError: <script>alert('m')</script> & \"quoted\"\nsecond line";
        let mut run = RunRecord {
            started_ms: 1,
            exit_code: 1,
            results: vec![ResultRecord {
                test: name.into(),
                tier: Some("unit<b>".into()),
                outcome: Outcome::Failed,
                duration: Duration::from_millis(5),
                attempt: 1,
                message: Some(message.into()),
                diagnosis: None,
            }],
            ..RunRecord::default()
        };
        run.tally_results();
        store.record(&run).unwrap();
        let html = render_html(&store, &HtmlOptions::default()).unwrap();
        assert!(!html.contains("<script"), "raw <script> in:\n{html}");
        assert!(!html.contains("unit<b>"), "raw tier markup in:\n{html}");
        let escaped_name =
            "test_x[&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;&amp;&#39;q&#39;]";
        assert!(html.matches(escaped_name).count() >= 3, "{html}");
        assert!(html.contains(
            "&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;\nsecond line"
        ));
    }
}
