//! The rollback store against real trees in temporary directories: a property-style round
//! trip over random trees and random edits, dry runs, tampered manifests, verify, incremental
//! snapshots and prune.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::*;

/// xorshift64*: deterministic per seed, no crate needed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
    /// Mostly small files, some up to 200 KB.
    fn size(&mut self) -> usize {
        match self.below(10) {
            0 => self.below(200 << 10),
            1..=4 => self.below(16 << 10),
            _ => self.below(1024),
        }
    }
}

const MODES: [u32; 3] = [0o644, 0o755, 0o600];

/// What a tree holds, outside `.vigil/` and `.git/`: kind, mode, content digest or target.
fn state(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk_state(root, "", &mut out);
    out
}

fn walk_state(root: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
    for child in fs::read_dir(root.join(rel)).unwrap() {
        let name = child.unwrap().file_name().into_string().unwrap();
        if rel.is_empty() && (name == ".vigil" || name == ".git") {
            continue;
        }
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let full = root.join(&path);
        let meta = fs::symlink_metadata(&full).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", fs::read_link(&full).unwrap().display())
        } else if meta.is_dir() {
            walk_state(root, &path, out);
            format!("dir {mode:o}")
        } else {
            let digest = Sha256::digest(fs::read(&full).unwrap());
            format!("file {mode:o} {digest:x}")
        };
        out.insert(path, what);
    }
}

fn write(root: &Path, rel: &str, content: &[u8], mode: u32) {
    let full = root.join(rel);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(&full, content).unwrap();
    fs::set_permissions(&full, fs::Permissions::from_mode(mode)).unwrap();
}

/// A relative link target from the directory of `link` to `target` (both root-relative).
fn relative(link: &str, target: &str) -> String {
    let depth = link.matches('/').count();
    format!("{}{target}", "../".repeat(depth))
}

fn files_in(root: &Path) -> Vec<String> {
    state(root)
        .into_iter()
        .filter(|(_, what)| what.starts_with("file"))
        .map(|(path, _)| path)
        .collect()
}

fn dirs_in(root: &Path) -> Vec<String> {
    state(root)
        .into_iter()
        .filter(|(_, what)| what.starts_with("dir"))
        .map(|(path, _)| path)
        .collect()
}

fn links_in(root: &Path) -> Vec<String> {
    state(root)
        .into_iter()
        .filter(|(_, what)| what.starts_with("link"))
        .map(|(path, _)| path)
        .collect()
}

fn random_tree(root: &Path, rng: &mut Rng, big: bool) {
    let mut dirs = vec![String::new()];
    for i in 0..rng.below(8) + 1 {
        let parent = rng.pick(&dirs).clone();
        let dir = if parent.is_empty() {
            format!("d{i}")
        } else {
            format!("{parent}/d{i}")
        };
        fs::create_dir_all(root.join(&dir)).unwrap();
        dirs.push(dir);
    }
    let files = rng.below(20) + 2;
    for i in 0..files {
        let dir = rng.pick(&dirs).clone();
        let path = if dir.is_empty() {
            format!("f{i}")
        } else {
            format!("{dir}/f{i}")
        };
        let size = rng.size();
        let mode = *rng.pick(&MODES);
        write(root, &path, &rng.bytes(size), mode);
    }
    if big {
        let mut rng = Rng::new(99);
        write(root, "big.bin", &rng.bytes(3 << 20), 0o644);
    }
    let existing = files_in(root);
    for i in 0..rng.below(4) {
        let dir = rng.pick(&dirs).clone();
        let link = if dir.is_empty() {
            format!("l{i}")
        } else {
            format!("{dir}/l{i}")
        };
        let target = relative(&link, rng.pick::<String>(&existing));
        symlink(target, root.join(link)).unwrap();
    }
    fs::create_dir_all(root.join("empty/inner")).unwrap();
    write(root, ".git/HEAD", b"ref: refs/heads/main\n", 0o644);
}

fn random_edits(root: &Path, rng: &mut Rng) {
    for n in 0..rng.below(12) + 1 {
        let files = files_in(root);
        let dirs = dirs_in(root);
        let links = links_in(root);
        match rng.below(10) {
            0 | 1 if !files.is_empty() => {
                let file = rng.pick(&files).clone();
                let size = fs::metadata(root.join(&file)).unwrap().len() as usize;
                // Same size half the time: the diff must look at content, not just length.
                let size = if rng.below(2) == 0 { size } else { rng.size() };
                fs::write(root.join(file), rng.bytes(size)).unwrap();
            }
            2 if !files.is_empty() => fs::remove_file(root.join(rng.pick(&files))).unwrap(),
            3 if !dirs.is_empty() => fs::remove_dir_all(root.join(rng.pick(&dirs))).unwrap(),
            4 => {
                let dir = if dirs.is_empty() {
                    String::new()
                } else {
                    rng.pick(&dirs).clone()
                };
                let path = format!("{dir}/new{n}/added{n}");
                let size = rng.size();
                write(root, path.trim_start_matches('/'), &rng.bytes(size), 0o644);
            }
            5 if !files.is_empty() => {
                let file = root.join(rng.pick(&files));
                fs::set_permissions(
                    file,
                    fs::Permissions::from_mode(*rng.pick(&[0o700, 0o444, 0o640])),
                )
                .unwrap();
            }
            6 if !links.is_empty() && !files.is_empty() => {
                let link = rng.pick(&links).clone();
                fs::remove_file(root.join(&link)).unwrap();
                symlink(
                    relative(&link, rng.pick::<String>(&files)),
                    root.join(&link),
                )
                .unwrap();
            }
            7 if !files.is_empty() => {
                // A file becomes a directory.
                let file = rng.pick(&files).clone();
                fs::remove_file(root.join(&file)).unwrap();
                write(root, &format!("{file}/inside"), b"x", 0o644);
            }
            8 if !dirs.is_empty() => {
                // A directory becomes a link to elsewhere in the tree.
                let dir = rng.pick(&dirs).clone();
                fs::remove_dir_all(root.join(&dir)).unwrap();
                symlink(".", root.join(&dir)).unwrap();
            }
            9 if !dirs.is_empty() => {
                let dir = root.join(rng.pick(&dirs));
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
            }
            _ => write(root, &format!("top{n}"), &rng.bytes(10), 0o600),
        }
    }
}

#[test]
fn random_trees_round_trip() {
    let started = std::time::Instant::now();
    let mut actions = BTreeMap::new();
    for case in 0..50u64 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut rng = Rng::new(case + 1);
        random_tree(root, &mut rng, case == 0 || case == 25);
        let original = state(root);
        let store = SnapshotStore::open(root).unwrap();
        let info = store.create(&[], Some("case")).unwrap();
        assert!(
            store.diff(&info.id).unwrap().is_empty(),
            "case {case}: diff of an untouched tree"
        );
        random_edits(root, &mut rng);
        let edited = state(root);
        let diff = store.diff(&info.id).unwrap();
        assert_eq!(diff.is_empty(), edited == original, "case {case}: {diff:?}");

        let dry = store.restore(&info.id, true).unwrap();
        assert_eq!(
            state(root),
            edited,
            "case {case}: the dry run changed the tree"
        );
        let done = store.restore(&info.id, false).unwrap();
        assert_eq!(dry.actions, done.actions, "case {case}");
        for action in &done.actions {
            let name = format!("{action:?}");
            *actions
                .entry(name[..name.find('(').unwrap_or(0)].to_string())
                .or_insert(0) += 1;
        }
        assert!(!done.dry_run && dry.dry_run);
        assert_eq!(
            state(root),
            original,
            "case {case}: restore did not bring the tree back"
        );
        assert!(store.diff(&info.id).unwrap().is_empty(), "case {case}");
        assert!(
            store.restore(&info.id, false).unwrap().actions.is_empty(),
            "case {case}"
        );
        assert_eq!(store.interrupted_restore().unwrap(), None);
        assert_eq!(
            fs::read(root.join(".git/HEAD")).unwrap(),
            b"ref: refs/heads/main\n"
        );
    }
    eprintln!("50 round trips in {:?}: {actions:?}", started.elapsed());
    // Not vacuous: every kind of action was exercised.
    assert_eq!(actions.len(), 5, "{actions:?}");
}

#[test]
fn restore_of_some_paths_leaves_the_rest_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "data/a.txt", b"a", 0o644);
    write(root, "data/sub/b.txt", b"b", 0o644);
    write(root, "other.txt", b"o", 0o644);
    let store = SnapshotStore::open(root).unwrap();
    let info = store
        .create(&[PathBuf::from("data"), PathBuf::from("./data/sub")], None)
        .unwrap();
    assert_eq!(info.paths, vec!["data"]);
    fs::write(root.join("other.txt"), b"changed").unwrap();
    fs::write(root.join("data/a.txt"), b"changed").unwrap();
    write(root, "data/new.txt", b"new", 0o644);
    let diff = store.diff(&info.id[..10]).unwrap();
    assert_eq!(diff.modified, vec![PathBuf::from("data/a.txt")]);
    assert_eq!(diff.added, vec![PathBuf::from("data/new.txt")]);
    store.restore(&info.id, false).unwrap();
    assert_eq!(fs::read(root.join("data/a.txt")).unwrap(), b"a");
    assert!(!root.join("data/new.txt").exists());
    assert_eq!(fs::read(root.join("other.txt")).unwrap(), b"changed");
    // A covered directory deleted with its parents comes back.
    fs::remove_dir_all(root.join("data")).unwrap();
    store.restore(&info.id, false).unwrap();
    assert_eq!(fs::read(root.join("data/sub/b.txt")).unwrap(), b"b");
}

#[test]
fn paths_outside_the_root_are_refused_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    for bad in ["../x", "/etc/passwd", ".vigil", ".git/HEAD"] {
        let error = store.create(&[PathBuf::from(bad)], None).unwrap_err();
        assert!(
            matches!(
                error,
                RollbackError::OutsideRoot { .. } | RollbackError::UnsafePath { .. }
            ),
            "{bad}: {error}"
        );
    }
    assert!(matches!(
        store.create(&[PathBuf::from("missing")], None),
        Err(RollbackError::NoSuchPath(_))
    ));
}

/// A project with one snapshot and a change since, plus a directory outside the root.
struct Tampered {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    store: SnapshotStore,
    id: String,
}

impl Tampered {
    fn new() -> Tampered {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        write(&root, "data/a.txt", b"original", 0o644);
        write(&root, "data/b.txt", b"bee", 0o644);
        let store = SnapshotStore::open(&root).unwrap();
        let id = store.create(&[], None).unwrap().id;
        fs::write(root.join("data/a.txt"), b"edited").unwrap();
        fs::remove_file(root.join("data/b.txt")).unwrap();
        Tampered {
            _dir: dir,
            root,
            outside,
            store,
            id,
        }
    }

    fn manifest_file(&self) -> PathBuf {
        store_dir(&self.root)
            .join("manifests")
            .join(format!("{}.json", self.id))
    }

    fn edit(&self, change: impl FnOnce(&mut serde_json::Value)) {
        let path = self.manifest_file();
        let mut value: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        change(&mut value);
        fs::write(path, serde_json::to_vec(&value).unwrap()).unwrap();
    }

    fn add_entry(&self, path: &str) {
        let digest = self.store.manifest(&self.id).unwrap().entries[1]
            .digest
            .clone();
        self.edit(|m| {
            m["entries"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "path": path, "kind": "file", "size": 8, "mode": 420, "digest": digest,
                }))
        });
    }

    /// Restore must fail and change nothing, inside or outside the root.
    fn refused(&self) -> RollbackError {
        let before = (state(&self.root), state(&self.outside));
        let error = self.store.restore(&self.id, false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Refused, "{error}");
        assert_eq!((state(&self.root), state(&self.outside)), before, "{error}");
        assert_eq!(self.store.interrupted_restore().unwrap(), None);
        error
    }
}

#[test]
fn tampered_manifests_are_refused_whole() {
    let t = Tampered::new();
    t.add_entry("../escape");
    let error = t.refused().to_string();
    assert!(error.contains("\"../escape\""), "{error}");

    let t = Tampered::new();
    t.add_entry("/tmp/absolute");
    assert!(t.refused().to_string().contains("absolute path"));

    // A link in the snapshot with an entry below it.
    let t = Tampered::new();
    let outside = t.outside.to_str().unwrap().to_string();
    t.edit(|m| {
        let entries = m["entries"].as_array_mut().unwrap();
        entries.push(
            serde_json::json!({"path": "link", "kind": "symlink", "mode": 511, "target": outside}),
        );
    });
    t.add_entry("link/evil");
    assert!(t.refused().to_string().contains("\"link/evil\""));

    let t = Tampered::new();
    t.edit(|m| m["entries"][1]["digest"] = serde_json::json!("ab".repeat(32)));
    assert!(matches!(t.refused(), RollbackError::MissingBlob { .. }));

    let t = Tampered::new();
    t.edit(|m| m["entries"][1]["digest"] = serde_json::json!("not hex"));
    assert!(matches!(t.refused(), RollbackError::BadManifest { .. }));
}

#[test]
fn a_covered_directory_replaced_by_a_link_out_of_the_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let outside = dir.path().join("outside");
    write(&outside, "keep.txt", b"keep", 0o644);
    write(&root, "data/inner/a.txt", b"a", 0o644);
    let store = SnapshotStore::open(&root).unwrap();
    let id = store
        .create(&[PathBuf::from("data/inner")], None)
        .unwrap()
        .id;
    fs::remove_dir_all(root.join("data")).unwrap();
    symlink(&outside, root.join("data")).unwrap();
    let error = store.restore(&id, false).unwrap_err();
    assert!(
        matches!(error, RollbackError::UnsafeParent { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("data/inner"), "{error}");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    assert!(store.diff(&id).is_err());
}

#[test]
fn a_corrupt_blob_is_refused_before_any_change() {
    let t = Tampered::new();
    let digest = t.store.manifest(&t.id).unwrap().entries[1]
        .digest
        .clone()
        .unwrap();
    let blob = store_dir(&t.root)
        .join("blobs")
        .join(&digest[..2])
        .join(&digest[2..]);
    fs::write(&blob, b"Original").unwrap();
    assert!(matches!(t.refused(), RollbackError::CorruptBlob { .. }));
}

#[test]
fn verify_finds_flipped_and_missing_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.txt", &Rng::new(1).bytes(5000), 0o644);
    write(root, "b.txt", b"bbb", 0o644);
    write(root, "c.txt", b"ccc", 0o644);
    let store = SnapshotStore::open(root).unwrap();
    let first = store.create(&[], None).unwrap().id;
    fs::write(root.join("c.txt"), b"changed").unwrap();
    let second = store.create(&[], None).unwrap().id;
    assert!(store.verify(None).unwrap().is_ok());

    let manifest = store.manifest(&first).unwrap();
    let blob = |name: &str| {
        let entry = manifest.entries.iter().find(|e| e.path == name).unwrap();
        let digest = entry.digest.clone().unwrap();
        (
            store_dir(root)
                .join("blobs")
                .join(&digest[..2])
                .join(&digest[2..]),
            digest,
        )
    };
    let (a_blob, a_digest) = blob("a.txt");
    let mut bytes = fs::read(&a_blob).unwrap();
    bytes[2500] ^= 0x01;
    fs::write(&a_blob, bytes).unwrap();
    let (c_blob, c_digest) = blob("c.txt");
    fs::remove_file(c_blob).unwrap();

    let report = store.verify(None).unwrap();
    assert_eq!(report.blobs_checked, 4);
    assert_eq!(report.problems.len(), 2, "{report:?}");
    let flipped = report
        .problems
        .iter()
        .find(|p| p.digest == a_digest)
        .unwrap();
    assert!(matches!(flipped.problem, Problem::Corrupt { .. }));
    assert_eq!(flipped.snapshots, vec![first.clone(), second.clone()]);
    let missing = report
        .problems
        .iter()
        .find(|p| p.digest == c_digest)
        .unwrap();
    assert_eq!(missing.problem, Problem::Missing);
    assert_eq!(missing.snapshots, vec![first.clone()]);
    assert_eq!(missing.paths, vec!["c.txt".to_string()]);
    assert_eq!(store.verify(Some(&second)).unwrap().problems.len(), 1);
}

fn blob_count(root: &Path) -> usize {
    blobs::Blobs::new(&store_dir(root)).all().unwrap().len()
}

#[test]
fn an_unchanged_tree_adds_no_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    random_tree(root, &mut Rng::new(7), false);
    write(root, "dup1", b"same", 0o644);
    write(root, "dup2", b"same", 0o600);
    let store = SnapshotStore::open(root).unwrap();
    let first = store.create(&[], None).unwrap();
    let blobs = blob_count(root);
    assert!(first.new_blobs > 0 && blobs == first.new_blobs && blobs < first.files);
    // Every blob file and its modification time: a second snapshot must rewrite none.
    let stamps = || -> Vec<(String, std::time::SystemTime)> {
        let mut out: Vec<_> = blobs::Blobs::new(&store_dir(root))
            .all()
            .unwrap()
            .into_iter()
            .map(|(digest, _)| {
                let path = store_dir(root)
                    .join("blobs")
                    .join(&digest[..2])
                    .join(&digest[2..]);
                (digest, fs::metadata(path).unwrap().modified().unwrap())
            })
            .collect();
        out.sort();
        out
    };
    let before = stamps();
    let second = store.create(&[], None).unwrap();
    assert_eq!(second.new_blobs, 0);
    assert_eq!(blob_count(root), blobs);
    assert_eq!(second.files, first.files);
    assert_eq!(stamps(), before);
    fs::write(root.join("dup1"), b"different").unwrap();
    assert_eq!(store.create(&[], None).unwrap().new_blobs, 1);
    let listed: Vec<String> = store.list().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], first.id);
}

#[test]
fn prune_keeps_the_newest_and_their_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "shared.txt", b"shared", 0o644);
    let store = SnapshotStore::open(root).unwrap();
    let mut ids = Vec::new();
    for round in 0..4 {
        write(
            root,
            "changing.txt",
            format!("round {round}").as_bytes(),
            0o644,
        );
        ids.push(store.create(&[], None).unwrap().id);
    }
    assert_eq!(blob_count(root), 5);
    // What a snapshot killed while storing a blob leaves in staging.
    let staged = store_dir(root).join("blobs/tmp/.tmpKILLED");
    fs::write(&staged, b"half a blob").unwrap();
    let report = store.prune(2).unwrap();
    assert!(!staged.exists());
    assert_eq!(report.removed, ids[..2].to_vec());
    assert_eq!(report.kept, ids[2..].to_vec());
    assert_eq!(report.blobs_removed, 2);
    assert_eq!(blob_count(root), 3);
    assert!(store.verify(None).unwrap().is_ok());
    assert!(matches!(
        store.restore(&ids[0], false),
        Err(RollbackError::UnknownSnapshot(_))
    ));
    write(root, "changing.txt", b"later", 0o644);
    store.restore(&ids[2], false).unwrap();
    assert_eq!(fs::read(root.join("changing.txt")).unwrap(), b"round 2");
    assert_eq!(store.prune(5).unwrap().blobs_removed, 0);
}

#[test]
fn an_interrupted_restore_is_reported_and_finished_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.txt", b"a", 0o644);
    let store = SnapshotStore::open(root).unwrap();
    let id = store.create(&[], None).unwrap().id;
    fs::write(root.join("a.txt"), b"edited").unwrap();
    // What a kill mid-restore leaves: the journal and a temporary file beside its target.
    fs::write(
        store_dir(root).join("restore.journal"),
        format!("{{\"id\":\"{id}\"}}"),
    )
    .unwrap();
    fs::write(root.join(".vigil-restore-123abc"), b"half").unwrap();
    assert_eq!(store.interrupted_restore().unwrap(), Some(id.clone()));
    let report = store.restore(&id, false).unwrap();
    assert_eq!(report.interrupted, Some(id.clone()));
    assert!(report
        .actions
        .contains(&Action::Remove(".vigil-restore-123abc".into())));
    assert_eq!(store.interrupted_restore().unwrap(), None);
    assert_eq!(state(root).len(), 1);
}
