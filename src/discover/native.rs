//! Native (libtest) suites: asks cargo which test binaries a package builds, and each binary
//! which tests it holds (`--list --format terse`, the libtest protocol).

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde::Deserialize;

/// Errors a user can act on: which binary or manifest, and what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error(
        "cannot run `{}`: not found; install Rust (https://rustup.rs) or point CARGO at cargo",
        cargo.to_string_lossy()
    )]
    CargoNotFound { cargo: OsString },
    #[error("cannot run `{}`: {error}", cargo.to_string_lossy())]
    Cargo {
        cargo: OsString,
        error: std::io::Error,
    },
    #[error("no Cargo.toml at {}", manifest.display())]
    NoManifest { manifest: PathBuf },
    #[error("cargo could not build the tests of {}:\n{messages}", manifest.display())]
    Build { manifest: PathBuf, messages: String },
    #[error("cannot run test binary {}: {error}", binary.display())]
    Spawn {
        binary: PathBuf,
        error: std::io::Error,
    },
    #[error("test binary {} could not list its tests ({status}):\n{output}", binary.display())]
    List {
        binary: PathBuf,
        status: std::process::ExitStatus,
        output: String,
    },
}

/// One test executable, as cargo built it or as the config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeBinary {
    /// The package the binary belongs to.
    pub crate_name: String,
    /// Cargo's target name: the lib's name for its unit tests, `foo` for `tests/foo.rs`.
    pub binary: String,
    /// Cargo's target kind (`lib`, `test`, `bin`, `bench`, ...); `unknown` for configured paths.
    pub kind: String,
    pub path: PathBuf,
    /// Where the binary runs: the package's manifest dir, as `cargo test` does.
    pub cwd: PathBuf,
}

/// One test inside a binary.
#[derive(Debug, Clone)]
pub struct NativeTest {
    /// `native:{crate}::{binary}::{name}`.
    pub id: String,
    /// libtest's name, e.g. `tests::adds`.
    pub name: String,
    /// `#[ignore]`d: runs only when ignored tests are included.
    pub ignored: bool,
    pub binary: Arc<NativeBinary>,
}

/// Builds the test binaries of `manifest` (`cargo test --no-run`) and returns them sorted.
/// Uses the cargo in `CARGO` (set when vigil itself runs under cargo), else `cargo` on PATH.
pub fn build(manifest: &Path, cargo_args: &[String]) -> Result<Vec<NativeBinary>, NativeError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    build_with(&cargo, manifest, cargo_args)
}

fn build_with(
    cargo: &OsStr,
    manifest: &Path,
    cargo_args: &[String],
) -> Result<Vec<NativeBinary>, NativeError> {
    // Absolute, because cargo runs in the manifest's directory (see below).
    let manifest = std::path::absolute(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    if !manifest.is_file() {
        return Err(NativeError::NoManifest { manifest });
    }
    let mut args: Vec<OsString> = vec![
        "test".into(),
        "--no-run".into(),
        "--message-format=json".into(),
        "--manifest-path".into(),
        manifest.clone().into(),
    ];
    args.extend(cargo_args.iter().map(OsString::from));
    let output = duct::cmd(cargo, args)
        // cargo reads `.cargo/config.toml` from its working directory, not the manifest's.
        .dir(manifest.parent().unwrap_or(Path::new(".")))
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|error| match error.kind() {
            ErrorKind::NotFound => NativeError::CargoNotFound {
                cargo: cargo.to_owned(),
            },
            _ => NativeError::Cargo {
                cargo: cargo.to_owned(),
                error,
            },
        })?;
    let messages = parse_messages(&output.stdout);
    if !output.status.success() {
        return Err(NativeError::Build {
            manifest,
            messages: build_failure(&messages, &output.stderr),
        });
    }
    Ok(binaries(messages))
}

/// The parts of cargo's JSON messages vigil reads.
#[derive(Debug, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum CargoMessage {
    CompilerArtifact(Artifact),
    CompilerMessage {
        message: Diagnostic,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct Artifact {
    package_id: String,
    manifest_path: PathBuf,
    target: Target,
    profile: Profile,
    executable: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    test: bool,
}

#[derive(Debug, Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

/// One message per stdout line; lines that are not cargo's JSON (a build script's noise) are
/// skipped.
fn parse_messages(stdout: &[u8]) -> Vec<CargoMessage> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// What the user needs to see: the compiler's errors (all its messages when none is an
/// error), then cargo's own stderr (`could not compile ...`, manifest errors). A lib is
/// compiled twice (as a dependency and as its own unit-test binary): each error is shown once.
fn build_failure(messages: &[CargoMessage], stderr: &[u8]) -> String {
    let rendered = |errors_only: bool| -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        messages
            .iter()
            .filter_map(|m| match m {
                CargoMessage::CompilerMessage { message } => Some(message),
                _ => None,
            })
            .filter(|d| !errors_only || d.level.starts_with("error"))
            .filter_map(|d| d.rendered.as_deref())
            .filter(|text| seen.insert(*text))
            .collect()
    };
    let mut parts = rendered(true);
    if parts.is_empty() {
        parts = rendered(false);
    }
    let stderr = String::from_utf8_lossy(stderr);
    let mut text: String = parts.concat();
    text.push_str(stderr.trim_end());
    text
}

/// Test executables among the artifacts, deduplicated and in a stable order.
fn binaries(messages: Vec<CargoMessage>) -> Vec<NativeBinary> {
    let mut found: Vec<NativeBinary> = messages
        .into_iter()
        .filter_map(|m| match m {
            CargoMessage::CompilerArtifact(a) if a.profile.test => Some(a),
            _ => None,
        })
        .filter_map(|a| {
            let path = a.executable?;
            Some(NativeBinary {
                crate_name: package_name(&a.package_id),
                binary: a.target.name,
                kind: a.target.kind.first().cloned().unwrap_or_default(),
                path,
                cwd: a
                    .manifest_path
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf(),
            })
        })
        .collect();
    found.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    found.dedup_by(|a, b| a.path == b.path);
    found
}

fn sort_key(b: &NativeBinary) -> (&str, &str, &str, &Path) {
    (&b.crate_name, &b.kind, &b.binary, &b.path)
}

/// The package name in a cargo package id: the old `name version (source)` form, or the
/// package-id-spec form `source#name@version`, or `source#version` where the name is the last
/// segment of the source's path.
fn package_name(package_id: &str) -> String {
    if let Some((name, rest)) = package_id.split_once(' ') {
        if rest.ends_with(')') {
            return name.to_string();
        }
    }
    let (source, fragment) = package_id.rsplit_once('#').unwrap_or((package_id, ""));
    if let Some((name, _version)) = fragment.split_once('@') {
        return name.to_string();
    }
    let path = source.split(['?', '#']).next().unwrap_or(source);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_string()
}

/// Binaries named in the config (relative paths are relative to `cwd`, where they also run).
pub fn from_paths(paths: &[PathBuf], cwd: &Path) -> Vec<NativeBinary> {
    paths
        .iter()
        .map(|p| {
            let path = cwd.join(p);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = strip_cargo_hash(&stem).to_string();
            NativeBinary {
                crate_name: name.clone(),
                binary: name,
                kind: "unknown".to_string(),
                path,
                cwd: cwd.to_path_buf(),
            }
        })
        .collect()
}

/// `api-22c89a01380b7cdf` → `api`: cargo names test binaries `<target>-<16 hex digits>`.
fn strip_cargo_hash(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((name, hash))
            if !name.is_empty()
                && hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            name
        }
        _ => stem,
    }
}

/// The tests of `binary`, in libtest's order, with `#[ignore]`d ones marked.
pub fn list(binary: &Arc<NativeBinary>) -> Result<Vec<NativeTest>, NativeError> {
    let all = list_names(binary, false)?;
    let ignored: std::collections::HashSet<String> =
        list_names(binary, true)?.into_iter().collect();
    Ok(all
        .into_iter()
        .map(|name| NativeTest {
            id: format!("native:{}::{}::{name}", binary.crate_name, binary.binary),
            ignored: ignored.contains(&name),
            name,
            binary: Arc::clone(binary),
        })
        .collect())
}

fn list_names(binary: &NativeBinary, ignored: bool) -> Result<Vec<String>, NativeError> {
    let mut args = vec!["--list", "--format", "terse"];
    if ignored {
        args.push("--ignored");
    }
    let output = duct::cmd(&binary.path, args)
        .dir(&binary.cwd)
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|error| NativeError::Spawn {
            binary: binary.path.clone(),
            error,
        })?;
    if !output.status.success() {
        return Err(NativeError::List {
            binary: binary.path.clone(),
            status: output.status,
            output: combined(&output),
        });
    }
    Ok(parse_terse(&String::from_utf8_lossy(&output.stdout)))
}

/// libtest's terse listing: one `name: test` or `name: benchmark` line each; only tests count.
fn parse_terse(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

fn combined(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    text.trim_end().to_string()
}

#[cfg(test)]
pub(crate) mod tests {
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
        let missing =
            Arc::new(from_paths(&[PathBuf::from("no-such-binary")], dir.path()).remove(0));
        let error = list(&missing).unwrap_err();
        assert!(matches!(error, NativeError::Spawn { .. }), "{error:?}");
        assert!(error.to_string().contains("no-such-binary"));
    }
}
