//! Debouncing: file events gathered into one batch of distinct paths, released once no relevant
//! event has come for the quiet time. Time is passed in, so the rules are tested without sleeping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A steady stream of events (a tool rewriting a file every few milliseconds) would hold a
/// batch back forever; it is released this many quiet times after its first event at the latest.
const LONGEST_IN_QUIETS: u32 = 20;
/// ... and never sooner than this, so a short debounce does not cut an editor's save in two.
const LONGEST_AT_LEAST: Duration = Duration::from_secs(1);

pub struct Debouncer {
    quiet: Duration,
    longest: Duration,
    /// Path → whether the batch saw it created (a file that appears and is gone again within
    /// one batch, like `sed -i`'s temporary, changed nothing).
    pending: BTreeMap<PathBuf, bool>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debouncer {
    pub fn new(quiet: Duration) -> Debouncer {
        Debouncer {
            quiet,
            longest: (quiet * LONGEST_IN_QUIETS).max(LONGEST_AT_LEAST),
            pending: BTreeMap::new(),
            first: None,
            last: None,
        }
    }

    /// Adds the relevant paths of one event (and whether the event created them); an event
    /// with none does not restart the wait.
    pub fn push(&mut self, paths: impl IntoIterator<Item = (PathBuf, bool)>, now: Instant) {
        let mut any = false;
        for (path, created) in paths {
            any = true;
            // The first event of a path in the batch says whether it was there before.
            self.pending.entry(path).or_insert(created);
        }
        if !any {
            return;
        }
        // A path seen again still counts as activity: the editor is not done with it.
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// When the pending batch is due, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + self.quiet).min(first + self.longest))
    }

    /// The batch (sorted, each path once) when its deadline has passed, without the paths it
    /// saw created that no longer `exist`. It may come out empty.
    pub fn take_due(
        &mut self,
        now: Instant,
        exists: impl Fn(&Path) -> bool,
    ) -> Option<Vec<PathBuf>> {
        if self.deadline()? > now {
            return None;
        }
        self.first = None;
        self.last = None;
        let batch = std::mem::take(&mut self.pending);
        Some(
            batch
                .into_iter()
                .filter(|(path, created)| !created || exists(path))
                .map(|(path, _)| path)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    /// Events that modified (not created) these paths.
    fn modified(names: &[&str]) -> Vec<(PathBuf, bool)> {
        names.iter().map(|n| (PathBuf::from(n), false)).collect()
    }

    fn all_exist(_: &Path) -> bool {
        true
    }

    #[test]
    fn nothing_pending_means_no_deadline() {
        let mut d = Debouncer::new(ms(50));
        let t0 = Instant::now();
        d.push(vec![], t0);
        assert_eq!(d.deadline(), None);
        assert_eq!(d.take_due(t0 + ms(500), all_exist), None);
    }

    #[test]
    fn a_batch_waits_for_quiet_and_comes_out_deduplicated() {
        let mut d = Debouncer::new(ms(50));
        let t0 = Instant::now();
        d.push(modified(&["b.py", "a.py"]), t0);
        assert_eq!(d.deadline(), Some(t0 + ms(50)));
        // Another event for the same file 30 ms later pushes the deadline back.
        d.push(modified(&["a.py"]), t0 + ms(30));
        assert_eq!(d.deadline(), Some(t0 + ms(80)));
        assert_eq!(d.take_due(t0 + ms(79), all_exist), None);
        assert_eq!(
            d.take_due(t0 + ms(80), all_exist),
            Some(paths(&["a.py", "b.py"]))
        );
        assert_eq!(d.deadline(), None, "a taken batch starts over");
    }

    #[test]
    fn a_steady_stream_is_released_after_the_longest_wait() {
        let mut d = Debouncer::new(ms(50));
        let t0 = Instant::now();
        for i in 0..100 {
            d.push(modified(&["log.txt"]), t0 + ms(i * 20));
        }
        // 20 quiet times = 1 s after the first event, although events never stopped.
        assert_eq!(d.deadline(), Some(t0 + ms(1000)));
        assert_eq!(
            d.take_due(t0 + ms(1000), all_exist),
            Some(paths(&["log.txt"]))
        );
    }

    #[test]
    fn a_long_debounce_stretches_the_longest_wait() {
        let mut d = Debouncer::new(ms(200));
        let t0 = Instant::now();
        d.push(modified(&["a.py"]), t0);
        d.push(modified(&["a.py"]), t0 + ms(3990));
        assert_eq!(d.deadline(), Some(t0 + ms(4000)));
    }

    #[test]
    fn a_file_created_and_gone_within_the_batch_changed_nothing() {
        let mut d = Debouncer::new(ms(50));
        let t0 = Instant::now();
        // `sed -i`: a temporary appears, is renamed over the file; a file is deleted.
        d.push(vec![(PathBuf::from("app/sed0CMq2X"), true)], t0);
        d.push(
            modified(&["app/sed0CMq2X", "app/calc.py", "gone.py"]),
            t0 + ms(1),
        );
        let exists = |p: &Path| p == Path::new("app/calc.py");
        assert_eq!(
            d.take_due(t0 + ms(60), exists),
            Some(paths(&["app/calc.py", "gone.py"]))
        );
        d.push(vec![(PathBuf::from("tmp.py"), true)], t0 + ms(100));
        assert_eq!(d.take_due(t0 + ms(200), |_: &Path| false), Some(vec![]));
    }
}
