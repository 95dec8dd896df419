//! pytest's `fnmatch_ex`: a pattern without `/` matches the file name, one with `/` matches the
//! whole path; `*` crosses directory separators, as Python's `fnmatch` does.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

/// A compiled pytest path pattern.
#[derive(Debug, Clone)]
pub struct PathPattern {
    matcher: GlobMatcher,
    whole_path: bool,
}

impl PathPattern {
    pub fn new(pattern: &str) -> Result<Self, globset::Error> {
        let whole_path = pattern.contains('/');
        let mut glob = escape_braces(pattern);
        if whole_path && !pattern.starts_with('/') {
            glob = format!("*/{glob}");
        }
        let matcher = GlobBuilder::new(&glob)
            .literal_separator(false)
            .backslash_escape(false)
            .build()?
            .compile_matcher();
        Ok(PathPattern {
            matcher,
            whole_path,
        })
    }

    /// `path` must be absolute, as pytest's collection paths are.
    pub fn matches(&self, path: &Path) -> bool {
        if self.whole_path {
            self.matcher.is_match(path)
        } else {
            path.file_name()
                .is_some_and(|name| self.matcher.is_match(name))
        }
    }
}

/// fnmatch has no `{a,b}` alternation (pytest's default `norecursedirs` holds a literal `{arch}`).
fn escape_braces(pattern: &str) -> String {
    pattern.replace('{', "[{]").replace('}', "[}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        PathPattern::new(pattern).unwrap().matches(Path::new(path))
    }

    #[test]
    fn name_patterns_match_the_file_name_only() {
        assert!(m("test_*.py", "/r/tests/test_a.py"));
        assert!(m("*_test.py", "/r/a_test.py"));
        assert!(!m("test_*.py", "/r/test_dir/a.py"));
    }

    #[test]
    fn path_patterns_match_anywhere_below_with_star_crossing_slashes() {
        assert!(m(
            "tests/**/doc/test*.py",
            "/r/tests/foo/bar/doc/test_foo.py"
        ));
        assert!(m("sub/*.py", "/r/sub/deeper/x.py"));
    }

    #[test]
    fn braces_are_literal() {
        assert!(m("{arch}", "/r/{arch}"));
        assert!(!m("{arch}", "/r/arch"));
    }
}
