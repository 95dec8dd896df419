//! Native discovery against a real cargo build of `fixtures/native_crate`, and the fixture
//! itself, built once per test run and shared with the execute tests.

use super::*;
use std::sync::OnceLock;

/// `fixtures/native_crate`, copied to a temp dir and built there once per test run; the
/// execute tests run its tests.
pub(crate) struct Fixture {
    dir: PathBuf,
    pub root: PathBuf,
    pub binaries: Vec<NativeBinary>,
    pub tests: Vec<NativeTest>,
}

impl Fixture {
    /// A test of the fixture by binary (`native_crate` or `api`) and libtest name.
    pub fn test(&self, binary: &str, name: &str) -> &NativeTest {
        self.tests
            .iter()
            .find(|t| t.binary.binary == binary && t.name == name)
            .unwrap_or_else(|| panic!("no test {binary}::{name} in the fixture"))
    }
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

pub(crate) fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("vigil-native-")
            .tempdir()
            .unwrap()
            .keep();
        // A static is never dropped: remove the copy and its build when the test binary exits.
        // SAFETY: registers a plain extern "C" function; nothing is shared with it but FIXTURE.
        unsafe { libc::atexit(remove_fixture) };
        let root = dir.join("native_crate");
        copy_crate(&fixture_source(), &root);
        let binaries = build(&root.join("Cargo.toml"), &target_dir(&dir)).unwrap();
        let tests = binaries
            .iter()
            .flat_map(|b| list(&Arc::new(b.clone())).unwrap())
            .collect();
        Fixture {
            dir,
            root,
            binaries,
            tests,
        }
    })
}

extern "C" fn remove_fixture() {
    if let Some(fixture) = FIXTURE.get() {
        let _ = std::fs::remove_dir_all(&fixture.dir);
    }
}

fn fixture_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/native_crate")
}

/// Builds go to a target dir inside `dir`, never into the fixture's source tree.
fn target_dir(dir: &Path) -> Vec<String> {
    vec![
        "--target-dir".to_string(),
        dir.join("target").to_string_lossy().into_owned(),
    ]
}

/// Copies the crate's sources, leaving out a stray `target/` or `Cargo.lock`.
fn copy_crate(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_crate(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn build_finds_the_unit_and_integration_test_binaries() {
    let fixture = fixture();
    let found: Vec<(&str, &str, &str)> = fixture
        .binaries
        .iter()
        .map(|b| (b.crate_name.as_str(), b.binary.as_str(), b.kind.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("native_crate", "native_crate", "lib"),
            ("native_crate", "api", "test")
        ]
    );
    for binary in &fixture.binaries {
        assert_eq!(binary.cwd, fixture.root);
        assert!(binary.path.is_file(), "{}", binary.path.display());
        assert!(binary.path.starts_with(fixture.dir.join("target")));
    }
}

#[test]
fn list_names_every_test_and_marks_the_ignored_ones() {
    let fixture = fixture();
    let lib: Vec<(&str, bool)> = fixture
        .tests
        .iter()
        .filter(|t| t.binary.binary == "native_crate")
        .map(|t| (t.name.as_str(), t.ignored))
        .collect();
    assert_eq!(
        lib,
        [
            ("tests::aborts", false),
            ("tests::adds", false),
            ("tests::assert_fails", false),
            ("tests::hanging", false),
            ("tests::ignored_with_reason", true),
            ("tests::ignored_without_reason", true),
            ("tests::panics_with_message", false),
            ("tests::prints_and_passes", false),
            ("tests::should_panic_passes", false),
        ]
    );
    let api: Vec<&str> = fixture
        .tests
        .iter()
        .filter(|t| t.binary.binary == "api")
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(api.len(), 9);
    assert!(api.contains(&"native:native_crate::api::adds"));
    assert_eq!(
        fixture.test("native_crate", "tests::adds").id,
        "native:native_crate::native_crate::tests::adds"
    );
}

#[test]
fn a_build_failure_carries_the_compiler_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("broken");
    copy_crate(&fixture_source(), &root);
    let lib = root.join("src/lib.rs");
    let mut source = std::fs::read_to_string(&lib).unwrap();
    source.push_str("\npub fn broken() -> u32 {\n    \"not a number\"\n}\n");
    std::fs::write(&lib, source).unwrap();
    let manifest = root.join("Cargo.toml");
    let error = build(&manifest, &target_dir(dir.path())).unwrap_err();
    let NativeError::Build { messages, .. } = &error else {
        panic!("expected a build error, got {error:?}");
    };
    // Once, though cargo reports it for the lib and for its unit-test build.
    let errors = messages.matches("error[E0308]: mismatched types").count();
    assert_eq!(errors, 1, "{messages}");
    assert!(messages.contains("--> src/lib.rs:"), "{messages}");
    assert!(
        messages.contains("could not compile `native_crate`"),
        "{messages}"
    );
    let shown = error.to_string();
    assert!(shown.starts_with(&format!(
        "cargo could not build the tests of {}:\n",
        manifest.display()
    )));
}

#[test]
fn a_missing_cargo_is_named() {
    let manifest = fixture_source().join("Cargo.toml");
    let error = build_with(OsStr::new("/nonexistent/cargo"), &manifest, &[]).unwrap_err();
    assert!(matches!(error, NativeError::CargoNotFound { .. }));
    assert!(error
        .to_string()
        .starts_with("cannot run `/nonexistent/cargo`: not found"));
}

#[test]
fn a_missing_manifest_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    let error = build(&manifest, &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("no Cargo.toml at {}", manifest.display())
    );
}

#[test]
fn package_name_reads_old_and_new_package_ids() {
    for (id, name) in [
        ("native_crate 0.1.0 (path+file:///tmp/nc)", "native_crate"),
        (
            "serde 1.0.219 (registry+https://github.com/rust-lang/crates.io-index)",
            "serde",
        ),
        ("path+file:///tmp/nc#native_crate@0.1.0", "native_crate"),
        ("path+file:///tmp/native_crate#0.1.0", "native_crate"),
        (
            "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219",
            "serde",
        ),
        (
            "git+https://github.com/o/repo.git?branch=main#my-crate@0.2.0",
            "my-crate",
        ),
        ("git+https://github.com/o/tool?rev=abc#1.0.0", "tool"),
    ] {
        assert_eq!(package_name(id), name, "{id}");
    }
}

#[test]
fn from_paths_strips_cargo_hashes_and_resolves_relative_paths() {
    let found = from_paths(
        &[
            PathBuf::from("target/debug/deps/api-22c89a01380b7cdf"),
            PathBuf::from("/opt/bin/my-suite"),
        ],
        Path::new("/repo"),
    );
    let seen: Vec<(&str, &str, &Path, &Path)> = found
        .iter()
        .map(|b| {
            (
                b.crate_name.as_str(),
                b.binary.as_str(),
                b.path.as_path(),
                b.cwd.as_path(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "api",
                "api",
                Path::new("/repo/target/debug/deps/api-22c89a01380b7cdf"),
                Path::new("/repo")
            ),
            (
                "my-suite",
                "my-suite",
                Path::new("/opt/bin/my-suite"),
                Path::new("/repo")
            ),
        ]
    );
}

#[test]
fn terse_listing_leaves_out_benchmarks() {
    let text = "a::b: test\nbench_x: benchmark\nc: test\n\n3 tests, 1 benchmarks\n";
    assert_eq!(parse_terse(text), ["a::b", "c"]);
}

#[test]
fn list_reports_binaries_that_fail_or_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(from_paths(&[PathBuf::from("/bin/false")], dir.path()).remove(0));
    let error = list(&failing).unwrap_err();
    assert!(matches!(error, NativeError::List { .. }), "{error:?}");
    assert!(error
        .to_string()
        .starts_with("test binary /bin/false could not list its tests (exit status: 1)"));
    let missing = Arc::new(from_paths(&[PathBuf::from("no-such-binary")], dir.path()).remove(0));
    let error = list(&missing).unwrap_err();
    assert!(matches!(error, NativeError::Spawn { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-binary"));
}
