//! Flags of `cargo xtask bench`.

use anyhow::{bail, ensure, Context, Result};

pub struct Args {
    /// Suite names for fetch.sh; empty means all of them.
    pub suites: Vec<String>,
    pub runs: usize,
    /// Debug aid: skip vigil entirely (no build), time only pytest and pytest-xdist.
    pub only_pytest: bool,
    /// Only the history figures (ingest, trends, bytes per result), no real suites.
    pub history_only: bool,
    /// Only the diagnosis figures (the labeled corpus per traceback style, and their cost).
    pub diagnosis_only: bool,
    /// Only the watch figure (file saved → test process started, vigil and pytest-watcher).
    pub watch_only: bool,
    /// Only the selection figure (mutation trials on real suites).
    pub selection_only: bool,
    /// Only the partition figure (shard balance on real suites' history, shards merged).
    pub partition_only: bool,
    /// Kept mutation trials per suite for the selection figure.
    pub trials: usize,
}

impl Args {
    /// Accepts `--flag value` and `--flag=value`.
    pub fn parse(raw: &[String]) -> Result<Args> {
        let mut args = Args {
            suites: Vec::new(),
            runs: 5,
            only_pytest: false,
            history_only: false,
            diagnosis_only: false,
            watch_only: false,
            selection_only: false,
            partition_only: false,
            trials: super::selection::DEFAULT_TRIALS,
        };
        let mut it = raw.iter().flat_map(|a| split_eq(a));
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--suites" => args.suites = list(&value(&mut it, &flag)?),
                "--runs" => args.runs = runs(&value(&mut it, &flag)?)?,
                "--only-pytest" => args.only_pytest = true,
                "--history-only" => args.history_only = true,
                "--diagnosis-only" => args.diagnosis_only = true,
                "--watch-only" => args.watch_only = true,
                "--selection-only" => args.selection_only = true,
                "--partition-only" => args.partition_only = true,
                "--trials" => args.trials = count("--trials", &value(&mut it, &flag)?)?,
                other => bail!(
                    "unknown bench flag `{other}` \
                     (flags: --suites a,b --runs N --only-pytest --history-only --diagnosis-only \
                     --watch-only --selection-only --partition-only --trials N)"
                ),
            }
        }
        Ok(args)
    }
}

fn split_eq(arg: &str) -> Vec<String> {
    match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => vec![flag.into(), value.into()],
        _ => vec![arg.into()],
    }
}

fn value(it: &mut impl Iterator<Item = String>, flag: &str) -> Result<String> {
    it.next().with_context(|| format!("{flag} needs a value"))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn runs(value: &str) -> Result<usize> {
    let n: usize = value
        .parse()
        .with_context(|| format!("--runs wants a number, got `{value}`"))?;
    ensure!(n >= 1, "--runs must be at least 1");
    Ok(n)
}

/// A count of at least 1 for `flag`.
fn count(flag: &str, value: &str) -> Result<usize> {
    let n: usize = value
        .parse()
        .with_context(|| format!("{flag} wants a number, got `{value}`"))?;
    ensure!(n >= 1, "{flag} must be at least 1");
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args> {
        Args::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_both_flag_forms() {
        let a = parse(&[]).unwrap();
        assert_eq!((a.suites.len(), a.runs, a.only_pytest), (0, 5, false));
        let a = parse(&["--suites", "jinja2,click", "--runs=3", "--only-pytest"]).unwrap();
        assert_eq!(a.suites, ["jinja2", "click"]);
        assert_eq!((a.runs, a.only_pytest, a.history_only), (3, true, false));
        assert!(parse(&["--history-only"]).unwrap().history_only);
        let a = parse(&["--diagnosis-only"]).unwrap();
        assert!(a.diagnosis_only && !a.history_only);
        let a = parse(&["--watch-only"]).unwrap();
        assert!(a.watch_only && !a.diagnosis_only);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--runs"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--trials", "0"]).is_err());
        assert!(parse(&["--trials=many"]).is_err());
        assert!(parse(&["--trials"]).is_err());
    }

    #[test]
    fn selection_flags() {
        let a = parse(&[]).unwrap();
        assert!(!a.selection_only);
        assert_eq!(a.trials, 15);
        let a = parse(&["--selection-only", "--trials=3", "--suites", "click"]).unwrap();
        assert!(a.selection_only && !a.diagnosis_only);
        assert_eq!(
            (a.trials, a.suites.as_slice()),
            (3, &["click".to_string()][..])
        );
    }
}
