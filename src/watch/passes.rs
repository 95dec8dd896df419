//! From a run's targets to the passes it makes, previously failing tests first.
//!
//! How "first": when the targets cover tests that were failing and more than those tests' own
//! files, the run makes a quick first pass of just the failing tests (exact node ids), then a
//! second pass of all the targets, in which they run again. The first pass answers "did my
//! change fix it?" in one pytest start-up instead of after the whole selection. Ordering a
//! single pass cannot do that: pytest 9 merges overlapping arguments into tree order, and a
//! run of everything has no paths to order. The failing tests are not deselected from the
//! second pass because pytest's `--deselect` matches node id prefixes (`test_a` would also
//! drop `test_ab`). When the targets are no more than the failing tests' own files, one pass
//! runs them, the failing tests' files first.

use std::path::Path;

use super::NATIVE_PREFIX;

/// What a run covers once selection has answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Every test of the user's selection.
    Everything,
    /// These run paths (absolute files, directories, node ids, `native:` prefixes).
    Paths(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// The run's paths; `None` runs the selection `vigil watch` was started with.
    pub paths: Option<Vec<String>>,
    /// The quick pass of previously failing tests.
    pub failing_first: bool,
}

/// The passes for `targets`; `failing` are the previously failing tests as absolute run paths,
/// `user_paths` the paths `vigil watch` was given (absolute; empty for the whole project).
pub fn passes(targets: &Targets, failing: &[String], user_paths: &[String]) -> Vec<Pass> {
    let scope: &[String] = match targets {
        Targets::Everything => user_paths,
        Targets::Paths(paths) => paths,
    };
    let covered: Vec<String> = failing
        .iter()
        .filter(|f| !f.starts_with(NATIVE_PREFIX))
        .filter(|f| {
            (scope.is_empty() && *targets == Targets::Everything)
                || scope.iter().any(|t| covers(t, f))
        })
        .cloned()
        .collect();
    let quick = Pass {
        paths: Some(covered.clone()),
        failing_first: true,
    };
    match targets {
        Targets::Paths(paths) if paths.is_empty() => vec![],
        Targets::Everything if covered.is_empty() => vec![whole(None)],
        Targets::Everything => vec![quick, whole(None)],
        Targets::Paths(paths) => {
            let ordered = failing_files_first(paths, &covered);
            let own_files = |t: &String| covered.iter().any(|f| file_part(f) == file_part(t));
            if covered.is_empty() || paths.iter().all(own_files) {
                vec![whole(Some(ordered))]
            } else {
                vec![quick, whole(Some(ordered))]
            }
        }
    }
}

fn whole(paths: Option<Vec<String>>) -> Pass {
    Pass {
        paths,
        failing_first: false,
    }
}

/// The targets holding a failing test first, the others after, each group in its own order.
fn failing_files_first(paths: &[String], failing: &[String]) -> Vec<String> {
    let (mut first, rest): (Vec<String>, Vec<String>) = paths
        .iter()
        .cloned()
        .partition(|t| failing.iter().any(|f| covers(t, f)));
    first.extend(rest);
    first
}

/// Whether run path `target` (a file, a directory, a node id) selects test `test`.
pub fn covers(target: &str, test: &str) -> bool {
    if target.starts_with(NATIVE_PREFIX) || test.starts_with(NATIVE_PREFIX) {
        return test.starts_with(target);
    }
    if test == target
        || test.starts_with(&format!("{target}::"))
        || test.starts_with(&format!("{target}["))
    {
        return true;
    }
    !target.contains("::") && Path::new(file_part(test)).starts_with(target)
}

fn file_part(id: &str) -> &str {
    id.split("::").next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn covering_by_file_directory_node_and_parameters() {
        assert!(covers("/p/tests", "/p/tests/t.py::a"));
        assert!(covers("/p/tests/t.py", "/p/tests/t.py::C::a"));
        assert!(covers("/p/tests/t.py::C", "/p/tests/t.py::C::a"));
        assert!(covers("/p/tests/t.py::a", "/p/tests/t.py::a[1-2]"));
        assert!(!covers("/p/tests/t.py::a", "/p/tests/t.py::ab"));
        assert!(!covers("/p/test", "/p/tests/t.py::a"));
        assert!(!covers("/p/tests/u.py", "/p/tests/t.py::a"));
        assert!(covers("native:c::b", "native:c::b::t"));
        assert!(!covers("/p/tests", "native:c::b::t"));
    }

    #[test]
    fn nothing_failing_is_one_pass() {
        assert_eq!(passes(&Targets::Everything, &[], &[]), vec![whole(None)]);
        let paths = strings(&["/p/tests/t.py"]);
        assert_eq!(
            passes(&Targets::Paths(paths.clone()), &[], &[]),
            vec![whole(Some(paths))]
        );
        assert_eq!(passes(&Targets::Paths(vec![]), &[], &[]), vec![]);
    }

    #[test]
    fn everything_runs_the_failing_tests_first_then_everything() {
        let failing = strings(&["/p/tests/t.py::a", "native:c::b::t"]);
        assert_eq!(
            passes(&Targets::Everything, &failing, &[]),
            vec![
                Pass {
                    paths: Some(strings(&["/p/tests/t.py::a"])),
                    failing_first: true
                },
                whole(None)
            ]
        );
        // Outside the paths `vigil watch` was given: not part of this run at all.
        let user = strings(&["/p/other"]);
        assert_eq!(
            passes(&Targets::Everything, &failing, &user),
            vec![whole(None)]
        );
    }

    #[test]
    fn targets_beyond_the_failing_files_get_a_quick_first_pass() {
        let failing = strings(&["/p/tests/t.py::a", "/p/tests/z.py::b"]);
        let targets = Targets::Paths(strings(&["/p/tests/u.py", "/p/tests/t.py"]));
        assert_eq!(
            passes(&targets, &failing, &[]),
            vec![
                Pass {
                    paths: Some(strings(&["/p/tests/t.py::a"])),
                    failing_first: true
                },
                whole(Some(strings(&["/p/tests/t.py", "/p/tests/u.py"])))
            ]
        );
    }

    #[test]
    fn targets_that_are_the_failing_files_are_one_pass() {
        let failing = strings(&["/p/tests/t.py::a", "/p/tests/z.py::b"]);
        let only_failing = Targets::Paths(failing.clone());
        assert_eq!(
            passes(&only_failing, &failing, &[]),
            vec![whole(Some(failing.clone()))]
        );
        let their_file = Targets::Paths(strings(&["/p/tests/t.py"]));
        assert_eq!(
            passes(&their_file, &failing, &[]),
            vec![whole(Some(strings(&["/p/tests/t.py"])))]
        );
    }
}
