//! Several vigil processes writing one history database at once, and a writer SIGKILLed in
//! the middle of a big run: every run lands whole or not at all, and SQLite's own
//! integrity check passes after each kill.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::support::history_db::{self, StoredRun};
use crate::support::{self, check, TestResult};

/// Test cases in the report the kill trial imports: big enough that writing it takes a while
/// and spills uncommitted pages into the WAL before the commit.
const BIG: usize = 200_000;

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("history_writers::two_runs_at_once_both_land", two_runs),
        Trial::test("history_writers::concurrent_imports_all_land", imports),
        Trial::test(
            "history_writers::first_opens_of_a_new_database_race_cleanly",
            first_opens,
        ),
        Trial::test(
            "history_writers::sigkill_mid_write_leaves_no_half_run",
            sigkill,
        ),
    ]
}

fn history_arg(db: &Path) -> String {
    db.to_string_lossy().into_owned()
}

/// Five writers creating one new database at once, twenty times over: the first open
/// (switching the file to WAL, migrating) must wait for the others, never fail as locked.
fn first_opens() -> TestResult {
    const WRITERS: usize = 5;
    for round in 0..20 {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("history.db");
        let db_arg = history_arg(&db);
        let args = [
            "--history",
            &db_arg,
            "history",
            "generate",
            "--runs",
            "1",
            "--tests",
            "50",
        ];
        let children: Vec<Child> = (0..WRITERS)
            .map(|_| {
                Command::new(support::vigil_bin())
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        for child in children {
            let out = child.wait_with_output()?;
            check(out.status.success(), || {
                format!("round {round}: {}", String::from_utf8_lossy(&out.stderr))
            })?;
        }
        let runs = history_db::check(&db)?;
        check(runs.len() == WRITERS, || {
            format!("round {round}: want {WRITERS} runs, got {runs:?}")
        })?;
    }
    Ok(())
}

/// Two `vigil run`s on one fixture copy, at the same time, into one `--history`.
fn two_runs() -> TestResult {
    let dir = support::fixture("passing")?;
    let db = dir.path().join("shared").join("history.db");
    let db_arg = history_arg(&db);
    let listed = support::vigil(dir.path(), &["list"])?;
    support::exited(&listed, 0)?;
    let expected = String::from_utf8_lossy(&listed.stdout).lines().count() as i64;
    let args = [
        "run",
        "-j",
        "2",
        "--history",
        &db_arg,
        "--",
        "-p",
        "no:cacheprovider",
    ];
    let outputs = std::thread::scope(|s| {
        let runs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| support::vigil(dir.path(), &args)))
            .collect();
        runs.into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect::<Vec<_>>()
    });
    for output in outputs {
        support::exited(&output?, 0)?;
    }
    let runs = history_db::check(&db)?;
    check(
        runs.len() == 2 && runs.iter().all(|r| r.total == expected),
        || format!("want 2 runs of {expected} results, got {runs:?}"),
    )
}

/// Five imports at once (four processes, one with two files) into one database; the reports
/// share half their test ids, so the processes also race to intern the same names.
fn imports() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("history.db");
    let mut files = Vec::new();
    for i in 0..5 {
        let path = dir.path().join(format!("shard-{i}.xml"));
        let tag = if i % 2 == 0 {
            "shared".to_string()
        } else {
            format!("own{i}")
        };
        std::fs::write(&path, history_db::junit(&tag, 3000))?;
        files.push(path);
    }
    let mut children = Vec::new();
    for group in [&files[0..1], &files[1..2], &files[2..3], &files[3..5]] {
        let mut cmd = import_cmd(&db);
        children.push(
            cmd.args(group)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?,
        );
    }
    for child in children {
        support::exited(&child.wait_with_output()?, 0)?;
    }
    let runs = history_db::check(&db)?;
    check(
        runs.len() == 5 && runs.iter().all(|r| r.total == 3000),
        || format!("want 5 runs of 3000 results, got {runs:?}"),
    )
}

fn import_cmd(db: &Path) -> Command {
    let mut cmd = Command::new(support::vigil_bin());
    cmd.env("NO_COLOR", "1")
        .arg("--history")
        .arg(db)
        .args(["history", "import"]);
    cmd
}

/// When to SIGKILL the importer.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after it started.
    After(Duration),
    /// Once its frames make the WAL at least this big.
    WalAbove(u64),
    /// Not at all: it finishes, and its run must be there, whole.
    Never,
}

/// A WAL file starts with a 32-byte header; frames come after it.
const WAL_HEADER: u64 = 32;

const KILLS: [Kill; 9] = [
    Kill::After(Duration::ZERO),
    Kill::After(Duration::from_millis(30)),
    Kill::After(Duration::from_millis(300)),
    Kill::WalAbove(1),
    Kill::WalAbove(512 << 10),
    Kill::WalAbove(2 << 20),
    Kill::WalAbove(6 << 20),
    Kill::WalAbove(12 << 20),
    Kill::Never,
];

/// What one kill found.
#[derive(Debug)]
struct Landing {
    kill: Kill,
    /// The importer had not exited when the signal went.
    running: bool,
    /// Bytes in the WAL at the kill (it was emptied before the importer started).
    wal: u64,
    /// Its run is in the database afterwards.
    committed: bool,
}

impl Landing {
    /// Killed while its transaction had written frames but not committed.
    fn mid_write(&self) -> bool {
        self.running && self.wal > WAL_HEADER && !self.committed
    }

    fn describe(&self) -> String {
        format!(
            "kill {:?}: running {}, wal {} bytes, committed {}",
            self.kill, self.running, self.wal, self.committed
        )
    }
}

/// A big import killed at several points; after each kill the database passes
/// `integrity_check` and holds only whole runs, and at least one kill provably landed while
/// the run's transaction was half written.
fn sigkill() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("history.db");
    let small = dir.path().join("small.xml");
    std::fs::write(&small, history_db::junit("small", 100))?;
    support::exited(&import_cmd(&db).arg(&small).output()?, 0)?;
    let big = dir.path().join("big.xml");
    std::fs::write(&big, history_db::junit("big", BIG))?;
    let mut landings = Vec::new();
    for kill in KILLS {
        landings.push(kill_once(&db, &big, kill)?);
    }
    let seen: Vec<String> = landings.iter().map(Landing::describe).collect();
    check(landings.iter().any(Landing::mid_write), || {
        format!(
            "no kill landed mid-write (the check would pass vacuously):\n{}",
            seen.join("\n")
        )
    })
}

/// One import of `big` killed at `kill`, then the checks.
fn kill_once(db: &Path, big: &Path, kill: Kill) -> Result<Landing, libtest_mimic::Failed> {
    history_db::checkpoint(db)?;
    let before = history_db::check(db)?;
    let mut child = import_cmd(db)
        .arg(big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let wal = wait_for(&mut child, db, kill)?;
    let running = child.try_wait()?.is_none();
    child.kill()?; // SIGKILL
    child.wait()?;
    let after = history_db::check(db).map_err(|e| format!("after a kill at {kill:?}: {e}"))?;
    let new: Vec<&StoredRun> = after.iter().filter(|r| !before.contains(r)).collect();
    check(
        after.len() >= before.len() && before.iter().all(|r| after.contains(r)),
        || format!("a kill at {kill:?} changed earlier runs: {before:?} -> {after:?}"),
    )?;
    check(
        new.len() <= 1 && new.iter().all(|r| r.total == BIG as i64),
        || format!("after a kill at {kill:?}: new runs {new:?}"),
    )?;
    check(!matches!(kill, Kill::Never) || new.len() == 1, || {
        format!("the import left alone did not land: {after:?}")
    })?;
    Ok(Landing {
        kill,
        running,
        wal,
        committed: !new.is_empty(),
    })
}

/// Waits until the kill point (or the importer's exit); returns the WAL's size then.
fn wait_for(child: &mut Child, db: &Path, kill: Kill) -> Result<u64, libtest_mimic::Failed> {
    let wal = history_db::wal(db);
    let started = Instant::now();
    let give_up = started + Duration::from_secs(300);
    loop {
        let size = history_db::size(&wal);
        let due = match kill {
            Kill::After(delay) => started.elapsed() >= delay,
            Kill::WalAbove(bytes) => size >= bytes,
            Kill::Never => false,
        };
        if due || child.try_wait()?.is_some() {
            return Ok(size);
        }
        if Instant::now() > give_up {
            return Err(
                format!("vigil history import still running after 300 s ({kill:?})").into(),
            );
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
