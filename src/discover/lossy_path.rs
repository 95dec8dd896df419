//! Finds the file a lossily decoded path names. vigil holds test ids as UTF-8 text, so a file
//! whose name is not UTF-8 (`test_\xff.py`) appears in ids as `test_\u{FFFD}.py`; handing that
//! back to pytest (a retry by node id) needs the real name, which is looked up on disk.

use std::path::{Component, Path, PathBuf};

/// `path` as it is on disk: each component that does not exist as written is matched against
/// its directory's entries by their lossy form. `path` itself when nothing matches.
pub fn on_disk(path: &Path) -> PathBuf {
    if !path.to_string_lossy().contains('\u{FFFD}') || path.exists() {
        return path.to_path_buf();
    }
    let mut real = PathBuf::new();
    for component in path.components() {
        let next = real.join(component);
        if next.exists() || !matches!(component, Component::Normal(_)) {
            real = next;
            continue;
        }
        match entry_named(&real, &component.as_os_str().to_string_lossy()) {
            Some(name) => real.push(name),
            None => return path.to_path_buf(),
        }
    }
    real
}

/// The entry of `dir` whose name reads as `wanted` once decoded lossily.
fn entry_named(dir: &Path, wanted: &str) -> Option<std::ffi::OsString> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.file_name())
        .find(|name| name.to_string_lossy() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_lossy_name_finds_the_file_with_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join(std::ffi::OsStr::from_bytes(b"d\xfe"));
        std::fs::create_dir(&sub).unwrap();
        let real = sub.join(std::ffi::OsStr::from_bytes(b"test_\xff.py"));
        std::fs::write(&real, "").unwrap();
        let lossy = PathBuf::from(real.to_string_lossy().into_owned());
        assert_ne!(lossy, real);
        assert_eq!(on_disk(&lossy), real);
        let plain = dir.path().join("plain.py");
        assert_eq!(on_disk(&plain), plain);
        let missing = dir.path().join("gone_\u{FFFD}.py");
        assert_eq!(on_disk(&missing), missing);
    }
}
