//! Tests of history exchange on real database files in temp dirs: export → import round trips,
//! idempotent imports, database-to-database imports with a filter, old and new sources, and
//! a corrupt line that writes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::history::exchange_read::run_uids;
use crate::history::fingerprints::tests::{failing, passing, run};
use crate::history::schema::tests::old_database;
use crate::history::{export, export_to_file, read_run, ExportFilter, FixNote};

const F: &str = "00000000000000f1";
const G: &str = "00000000000000f2";

fn store_at(dir: &Path, name: &str) -> Store {
    Store::open(&dir.join(name)).expect("store")
}

/// A run failing with F, a shard's run failing with G, and a merged run (of two shards) with
/// F retried away and G; a fix note for F. Returns the runs' ids.
fn shared_history(store: &mut Store) -> Vec<i64> {
    let mut shard = run(
        2_000,
        "c2",
        false,
        vec![failing("t.py::b", G, 1), passing("t.py::a", 1)],
    );
    shard.partition = Some("duration:1/2".into());
    let mut merged = run(
        3_000,
        "c2",
        false,
        vec![
            failing("t.py::a", F, 1),
            passing("t.py::a", 2),
            failing("t.py::b", G, 1),
        ],
    );
    merged.shards = Some(2);
    let first = run(1_000, "c1", true, vec![failing("t.py::a", F, 1)]);
    let mut ids = Vec::new();
    for mut record in [first, shard, merged] {
        record.tally_results();
        ids.push(store.record(&record).expect("recorded"));
    }
    store
        .record_fix(F, "restart the db", Some("c1"))
        .expect("fix");
    ids
}

/// Every run by uid, its results in (test, attempt) order (ids differ between databases).
fn runs_by_uid(store: &Store) -> BTreeMap<String, ExportedRun> {
    let mut runs = BTreeMap::new();
    for (id, uid) in run_uids(&store.conn).expect("uids") {
        let mut run = read_exported(&store.conn, id)
            .expect("read")
            .expect("there");
        run.results
            .sort_by(|a, b| (&a.test, a.attempt).cmp(&(&b.test, b.attempt)));
        runs.insert(uid.expect("uid"), run);
    }
    runs
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

/// Exports every run of `store` to `dir/name`.
fn exported(store: &Store, dir: &Path, name: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    export_to_file(store, &ExportFilter::default(), &file).expect("exported");
    file
}

#[test]
fn an_export_round_trips_runs_results_verdicts_and_fixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = store_at(dir.path(), "source.db");
    let source_ids = shared_history(&mut source);
    let mut dest = store_at(dir.path(), "dest.db");
    dest.record(&run(500, "c0", false, vec![passing("t.py::z", 1)]))
        .expect("a run of its own");
    let file = exported(&source, dir.path(), "history.jsonl");
    let text = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        text.lines().next(),
        Some(r#"{"vigil_history_export":1,"schema":7}"#)
    );
    assert_eq!(text.lines().count(), 4);
    let summary = import_export(&mut dest, &file).expect("imported");
    let want = ImportSummary {
        imported: 3,
        ..ImportSummary::default()
    };
    assert_eq!(summary, want);
    // Everything but the ids survives: uids, partition, shards, results, verdicts, fixes.
    let theirs = runs_by_uid(&source);
    let ours = runs_by_uid(&dest);
    for (uid, run) in &theirs {
        assert_eq!(ours.get(uid), Some(run), "run {uid}");
    }
    let merged = dest.recent_runs(1).expect("runs").remove(0);
    assert_eq!((merged.shards, merged.partition), (Some(2), None));
    assert_ne!(merged.id, source_ids[2]);
    // The records the lead merges from carry their diagnoses.
    let record = read_run(&dest, merged.id).expect("read");
    assert_eq!(record.uid, merged.uid);
    assert_eq!(record.results[0].fingerprint(), Some(F));
    let history = dest
        .fingerprint_history(F, None)
        .expect("query")
        .expect("seen");
    let fix = FixNote {
        recorded_ms: history.fixes[0].recorded_ms,
        commit: Some("c1".into()),
        note: "restart the db".into(),
    };
    assert_eq!(history.fixes, [fix]);
    assert_eq!(history.runs, 2);
}

#[test]
fn importing_the_same_export_twice_adds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = store_at(dir.path(), "source.db");
    shared_history(&mut source);
    let file = exported(&source, dir.path(), "history.jsonl");
    let mut dest = store_at(dir.path(), "dest.db");
    import_export(&mut dest, &file).expect("first");
    let before = (dest.counts().expect("counts"), runs_by_uid(&dest));
    let again = import_export(&mut dest, &file).expect("second");
    let want = ImportSummary {
        already_present: 3,
        ..ImportSummary::default()
    };
    assert_eq!(again, want);
    assert_eq!((dest.counts().expect("counts"), runs_by_uid(&dest)), before);
    assert_eq!(count(&dest, "SELECT COUNT(*) FROM fixes"), 1);
    // Importing the database itself is the same as importing its export.
    let db = dir.path().join("source.db");
    let keep_all = |_: &RunRecord| true;
    assert_eq!(
        import_database(&mut dest, &db, &keep_all).expect("db"),
        want
    );
    assert_eq!(count(&dest, "SELECT COUNT(*) FROM fixes"), 1);
}

#[test]
fn two_ci_copies_of_one_history_combine_with_a_filter_and_the_source_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut shared = store_at(dir.path(), "shared.db");
    shared_history(&mut shared);
    drop(shared);
    for job in ["job1.db", "job2.db"] {
        std::fs::copy(dir.path().join("shared.db"), dir.path().join(job)).expect("copy");
    }
    let mut job1 = store_at(dir.path(), "job1.db");
    let mut shard = run(4_000, "c3", false, vec![passing("t.py::a", 1)]);
    shard.partition = Some("duration:2/2".into());
    job1.record(&shard).expect("shard run");
    job1.record(&run(4_100, "c3", false, vec![failing("t.py::c", G, 1)]))
        .expect("run");
    job1.record_fix(G, "pin the port", None).expect("fix");
    drop(job1);
    let mut job2 = store_at(dir.path(), "job2.db");
    job2.record(&run(5_000, "c4", false, vec![passing("t.py::c", 1)]))
        .expect("run");
    drop(job2);
    let job1_bytes = std::fs::read(dir.path().join("job1.db")).expect("bytes");

    let mut dest = store_at(dir.path(), "shared.db");
    let no_shards = |r: &RunRecord| r.partition.is_none();
    let from_job1 = import_database(&mut dest, &dir.path().join("job1.db"), &no_shards);
    let want = ImportSummary {
        imported: 1,
        already_present: 3,
        left_out: 1,
    };
    assert_eq!(from_job1.expect("job1"), want);
    let from_job2 = import_database(&mut dest, &dir.path().join("job2.db"), &no_shards);
    let want = ImportSummary {
        imported: 1,
        already_present: 3,
        left_out: 0,
    };
    assert_eq!(from_job2.expect("job2"), want);
    let started: Vec<i64> = dest
        .recent_runs(10)
        .expect("runs")
        .iter()
        .map(|r| r.started_ms)
        .collect();
    assert_eq!(started, [5_000, 4_100, 3_000, 2_000, 1_000]);
    // The left-out run's fix note still came across.
    assert_eq!(count(&dest, "SELECT COUNT(*) FROM fixes"), 2);
    let after = std::fs::read(dir.path().join("job1.db")).expect("bytes");
    assert!(after == job1_bytes, "the source database was written");
}

#[test]
fn a_corrupt_line_names_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = store_at(dir.path(), "source.db");
    shared_history(&mut source);
    let file = exported(&source, dir.path(), "history.jsonl");
    let text = std::fs::read_to_string(&file).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let broken = &lines[2][..lines[2].len() / 2];
    lines[2] = broken;
    std::fs::write(&file, lines.join("\n")).expect("write");
    let mut dest = store_at(dir.path(), "dest.db");
    let error = import_export(&mut dest, &file).expect_err("refused");
    let text = error.to_string();
    let at = format!("{}:3: not a run (column ", file.display());
    assert!(text.starts_with(&at), "{text}");
    assert_eq!(dest.counts().expect("counts"), (0, 0));
    assert_eq!(count(&dest, "SELECT COUNT(*) FROM fixes"), 0);
    assert_eq!(count(&dest, "SELECT COUNT(*) FROM fingerprints"), 0);
    // A newer format is refused by its header.
    std::fs::write(&file, "{\"vigil_history_export\":2,\"schema\":9}\n").expect("write");
    let error = import_export(&mut dest, &file).expect_err("refused");
    assert!(
        error.to_string().contains(":1: export format 2 is newer"),
        "{error}"
    );
}

#[test]
fn the_verdict_of_the_most_recent_run_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dest = store_at(dir.path(), "dest.db");
    dest.record(&run(5_000, "c5", false, vec![failing("t::now", F, 1)]))
        .expect("run");
    let message = |store: &Store| -> String {
        let detail: String = store
            .conn
            .query_row(
                "SELECT detail FROM fingerprints WHERE fingerprint = ?1",
                [F],
                |r| r.get(0),
            )
            .expect("verdict");
        let diagnosis: crate::diagnose::Diagnosis =
            serde_json::from_str(&detail).expect("diagnosis");
        diagnosis.message
    };
    for (started, test, kept) in [
        (1_000, "t::older", "t::now"),
        (9_000, "t::newer", "t::newer"),
    ] {
        let mut source = store_at(dir.path(), &format!("{started}.db"));
        source
            .record(&run(started, "c", false, vec![failing(test, F, 1)]))
            .expect("run");
        let file = exported(&source, dir.path(), &format!("{started}.jsonl"));
        import_export(&mut dest, &file).expect("imported");
        assert_eq!(message(&dest), format!("{kept} refused (attempt 1)"));
    }
}

#[test]
fn the_export_filter_picks_runs_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store_at(dir.path(), "h.db");
    let ids = shared_history(&mut store);
    let mut dev = run(4_000, "c9", false, vec![passing("t.py::a", 1)]);
    dev.git.branch = Some("dev".into());
    let dev_id = store.record(&dev).expect("run");
    let started = |filter: ExportFilter| -> Result<Vec<i64>, HistoryError> {
        let mut out = Vec::new();
        let n = export(&store, &filter, &mut out)?;
        let text = String::from_utf8(out).expect("utf-8");
        let runs: Vec<i64> = text
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str::<ExportedRun>(l).expect(l).started_ms)
            .collect();
        assert_eq!(runs.len(), n);
        Ok(runs)
    };
    let last = |n| ExportFilter {
        last: Some(n),
        ..ExportFilter::default()
    };
    assert_eq!(started(last(2)).ok(), Some(vec![3_000, 4_000]));
    let some = ExportFilter {
        runs: vec![dev_id, ids[0]],
        ..ExportFilter::default()
    };
    assert_eq!(started(some).ok(), Some(vec![1_000, 4_000]));
    let main = ExportFilter {
        branch: Some("main".into()),
        last: Some(1),
        ..ExportFilter::default()
    };
    assert_eq!(started(main).ok(), Some(vec![3_000]));
    let missing = ExportFilter {
        runs: vec![99],
        ..ExportFilter::default()
    };
    let error = started(missing).expect_err("refused");
    assert!(
        error.to_string().contains("no run 99 in history"),
        "{error}"
    );
}

#[test]
fn an_older_source_is_read_through_a_migrated_copy_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, copy) = (dir.path().join("old.db"), dir.path().join("copy.db"));
    old_database(&old, 2).expect("old database");
    old_database(&copy, 2).expect("old database");
    let mut dest = store_at(dir.path(), "dest.db");
    let keep_all = |_: &RunRecord| true;
    let first = import_database(&mut dest, &old, &keep_all).expect("imported");
    assert_eq!((first.imported, first.already_present), (2, 0));
    let version: i64 = rusqlite::Connection::open(&old)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, 2);
    // Another copy of the same old database: its runs get the same uids.
    let second = import_database(&mut dest, &copy, &keep_all).expect("imported");
    assert_eq!((second.imported, second.already_present), (0, 2));
}

#[test]
fn a_newer_or_foreign_source_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dest = store_at(dir.path(), "dest.db");
    let keep_all = |_: &RunRecord| true;
    let newer = dir.path().join("newer.db");
    let conn = rusqlite::Connection::open(&newer).expect("open");
    conn.pragma_update(None, "user_version", 99)
        .expect("version");
    drop(conn);
    let error = import_database(&mut dest, &newer, &keep_all).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("newer.db: schema version 99, newer"),
        "{text}"
    );
    let foreign = dir.path().join("foreign.db");
    let conn = rusqlite::Connection::open(&foreign).expect("open");
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("table");
    drop(conn);
    let error = import_database(&mut dest, &foreign, &keep_all).expect_err("refused");
    assert!(error.to_string().contains("not a vigil history"), "{error}");
}

#[test]
fn imports_are_told_apart_by_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_at(dir.path(), "h.db");
    store.checkpoint().expect("checkpoint");
    let export = exported(&store, dir.path(), "runs.txt");
    let junit = dir.path().join("report.db");
    std::fs::write(&junit, "<testsuites/>").expect("write");
    let kind = |p: &Path| import_kind(p).expect("kind");
    assert_eq!(kind(&dir.path().join("h.db")), ImportKind::Database);
    assert_eq!(kind(&export), ImportKind::Export);
    assert_eq!(kind(&junit), ImportKind::Other);
}
