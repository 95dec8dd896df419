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
pub(crate) mod tests;
