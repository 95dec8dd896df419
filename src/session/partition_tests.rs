//! The deal a `--partition` run makes from files and history: files whole where balance
//! allows, the fewest files split, dependency groups together, new tests with their file.

use super::*;

fn found<'a>(files: &[(&'a str, u64)], medians: &[(&str, f64)]) -> Found<'a> {
    Found {
        files: files.iter().map(|(f, _)| f.to_string()).collect(),
        sizes: files.iter().copied().collect(),
        groups: vec![],
        native: vec![],
        medians: medians.iter().map(|(id, s)| (id.to_string(), *s)).collect(),
    }
}

fn spec(text: &str) -> Partition {
    text.parse().unwrap()
}

/// Shard (1-based) of each id.
fn shards_of(shard: &Shard, ids: &[&str]) -> Vec<usize> {
    ids.iter().map(|id| shard.shard_of(id) + 1).collect()
}

#[test]
fn balanced_files_stay_whole() {
    let f = found(
        &[("t/a.py", 100), ("t/b.py", 100)],
        &[("t/a.py::x", 1.0), ("t/a.py::y", 1.0), ("t/b.py::z", 2.0)],
    );
    let shard = deal(&f, spec("duration:1/2"));
    assert!(shard.tests.is_empty(), "nothing split: {:?}", shard.tests);
    assert_eq!(
        shards_of(&shard, &["t/a.py::x", "t/a.py::y", "t/a.py::new"]),
        [1, 1, 1]
    );
    assert_eq!(shards_of(&shard, &["t/b.py::z"]), [2]);
    assert_eq!(shard.summary.split_files, 0);
    assert_eq!(
        shard.run_files(Path::new("/r")),
        BTreeSet::from([PathBuf::from("/r/t/a.py")])
    );
}

#[test]
fn a_file_too_large_for_a_balanced_deal_is_split_and_new_tests_follow_its_first() {
    let f = found(
        &[("t/big.py", 100), ("t/small.py", 100)],
        &[
            ("t/big.py::a", 3.0),
            ("t/big.py::b", 3.0),
            ("t/big.py::c", 2.0),
            ("t/small.py::d", 2.0),
        ],
    );
    let one = deal(&f, spec("duration:1/2"));
    assert_eq!(one.summary.split_files, 1);
    let expected: Vec<f64> = one.summary.shards.iter().map(|s| s.expected_secs).collect();
    assert_eq!(expected, [5.0, 5.0]);
    let first = one.shard_of("t/big.py::a");
    assert_eq!(one.shard_of("t/big.py::added_later"), first);
    // Both shards run the split file; the other file only on its own shard.
    let two = deal(&f, spec("duration:2/2"));
    let root = Path::new("/r");
    assert!(one.run_files(root).contains(&root.join("t/big.py")));
    assert!(two.run_files(root).contains(&root.join("t/big.py")));
    assert_eq!(one.run_files(root).len() + two.run_files(root).len(), 3);
}

#[test]
fn files_joined_by_dependencies_are_dealt_together_and_never_split() {
    let mut f = found(
        &[("t/a.py", 10), ("t/b.py", 10), ("t/c.py", 10)],
        &[
            ("t/a.py::x", 5.0),
            ("t/a.py::y", 5.0),
            ("t/b.py::z", 1.0),
            ("t/c.py::w", 1.0),
        ],
    );
    f.groups = vec![BTreeSet::from(["t/a.py".to_string(), "t/b.py".to_string()])];
    let shard = deal(&f, spec("duration:1/2"));
    assert_eq!(shard.shard_of("t/a.py::x"), shard.shard_of("t/b.py::z"));
    assert_eq!(shard.shard_of("t/a.py::x"), shard.shard_of("t/a.py::y"));
    assert!(shard.tests.is_empty());
}

#[test]
fn files_without_history_cost_their_size_at_the_known_rate() {
    let f = found(
        &[("t/known.py", 1000), ("t/new.py", 3000)],
        &[("t/known.py::x", 1.0)],
    );
    let shard = deal(&f, spec("duration:1/2"));
    let unknown = shard
        .summary
        .tests
        .iter()
        .find(|t| t.id == "t/new.py")
        .unwrap();
    assert!(!unknown.measured);
    let known_rate = 1.0 / f.sizes["t/known.py"] as f64;
    assert!((unknown.expected_secs - f.sizes["t/new.py"] as f64 * known_rate).abs() < 1e-9);
}

#[test]
fn hash_deals_whole_files_by_their_path_and_native_tests_by_id() {
    let mut f = found(&[("t/a.py", 10), ("t/b.py", 10)], &[]);
    f.native = vec!["native:c::b::t".to_string()];
    let shard = deal(&f, spec("hash:1/7"));
    assert_eq!(shard.shard_of("t/a.py::anything"), hash_shard("t/a.py", 7));
    assert_eq!(shard.shard_of("native:c::b::t"), 4);
    // An id the deal never saw (a file discovery did not find) goes by its own hash.
    assert_eq!(
        shard.shard_of("other/x.py::y"),
        hash_shard("other/x.py::y", 7)
    );
}

#[test]
fn one_long_test_is_the_bound_and_stops_the_splitting() {
    let f = found(
        &[("t/a.py", 10), ("t/b.py", 10), ("t/c.py", 10)],
        &[
            ("t/a.py::long", 6.0),
            ("t/b.py::x", 1.0),
            ("t/b.py::y", 1.0),
            ("t/c.py::z", 1.0),
            ("t/c.py::w", 1.0),
        ],
    );
    let shard = deal(&f, spec("duration:1/2"));
    // 6 s on one shard whatever happens; the other files need not be split to reach it.
    assert_eq!(shard.summary.split_files, 0);
    let max = shard
        .summary
        .shards
        .iter()
        .map(|s| s.expected_secs)
        .fold(0.0, f64::max);
    assert_eq!(max, 6.0);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Files with their sizes, known tests with their medians, whether two files are joined.
    type Generated = (Vec<(String, u64)>, Vec<(String, f64)>, bool);

    /// Up to 8 files with up to 6 tests each, some with history, some files joined.
    fn arb_found() -> impl Strategy<Value = Generated> {
        let file = (
            1u64..5000,
            prop::collection::vec(prop::option::of(0.0f64..5.0), 0..6),
        );
        (prop::collection::vec(file, 1..8), any::<bool>()).prop_map(|(files, join)| {
            let mut names = Vec::new();
            let mut medians = Vec::new();
            for (i, (size, tests)) in files.into_iter().enumerate() {
                let name = format!("t/test_{i}.py");
                for (k, seconds) in tests.into_iter().enumerate() {
                    if let Some(s) = seconds {
                        medians.push((format!("{name}::t{k}"), s));
                    }
                }
                names.push((name, size));
            }
            (names, medians, join)
        })
    }

    proptest! {
        /// Every test, known to history or new, lands on exactly one shard, and that shard's
        /// machine runs its file: nothing is lost between the machines, nothing runs twice.
        #[test]
        fn every_test_runs_on_exactly_one_machine(
            (files, medians, join) in arb_found(),
            total in 1usize..6,
            kind in prop_oneof![Just("hash"), Just("slice"), Just("duration")],
        ) {
            let sizes: Vec<(&str, u64)> = files.iter().map(|(f, s)| (f.as_str(), *s)).collect();
            let known: Vec<(&str, f64)> = medians.iter().map(|(id, s)| (id.as_str(), *s)).collect();
            let mut f = found(&sizes, &known);
            if join && files.len() > 1 {
                f.groups = vec![BTreeSet::from([files[0].0.clone(), files[1].0.clone()])];
            }
            let root = Path::new("/r");
            let shards: Vec<Shard> = (1..=total)
                .map(|i| deal(&f, spec(&format!("{kind}:{i}/{total}"))))
                .collect();
            let new_tests = files.iter().map(|(file, _)| format!("{file}::brand_new"));
            for id in medians.iter().map(|(id, _)| id.clone()).chain(new_tests) {
                let owners: Vec<usize> = (0..total).filter(|&i| shards[i].owns(&id)).collect();
                prop_assert_eq!(owners.len(), 1, "{} is owned by {:?}", id, owners);
                let file = root.join(file_part(&id));
                prop_assert!(shards[owners[0]].run_files(root).contains(&file),
                    "{} is dealt to shard {} which does not run its file", id, owners[0] + 1);
            }
        }
    }
}

#[test]
fn the_deal_digest_is_the_same_for_every_shard_and_changes_with_the_deal() {
    let files = [("t/a.py", 100), ("t/b.py", 100), ("t/c.py", 100)];
    let f = found(
        &files,
        &[("t/a.py::x", 1.0), ("t/b.py::y", 1.0), ("t/c.py::z", 2.0)],
    );
    let one = deal(&f, spec("duration:1/2")).summary.deal;
    let two = deal(&f, spec("duration:2/2")).summary.deal;
    assert_eq!(one, two);
    assert_eq!(one.len(), 16);
    // Another history, another deal: c.py no longer weighs as much as a and b together.
    let g = found(
        &files,
        &[("t/a.py::x", 3.0), ("t/b.py::y", 1.0), ("t/c.py::z", 2.0)],
    );
    assert_ne!(deal(&g, spec("duration:1/2")).summary.deal, one);
}
