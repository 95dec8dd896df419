//! `vigil run` as GitHub Actions runs it (fixtures/failing checked out below a workspace, stdout
//! a terminal as some runners give): `::error` annotations with repository paths after the
//! summary, plain lines instead of a progress bar, and a Markdown summary appended to the
//! step summary file. Outside CI the same terminal gets its progress bar.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "ci_output::github_actions_gets_annotations_and_a_step_summary",
            github_actions,
        ),
        Trial::test(
            "ci_output::outside_ci_a_terminal_gets_the_progress_bar",
            outside_ci,
        ),
    ]
}

/// What a run on a terminal printed, with the terminal's `\r\n` line ends as `\n`.
struct PtyRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs vigil in `dir` with stdout on a fresh pseudo-terminal, no CI variables but `env`.
fn vigil_on_pty(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<PtyRun, Failed> {
    let (master, slave) = open_pty()?;
    let mut cmd = Command::new(support::vigil_bin());
    for name in vigil::report::ci::SERVICE_VARS
        .iter()
        .chain(&vigil::report::ci::OUTPUT_VARS)
    {
        cmd.env_remove(name);
    }
    cmd.current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1")
        .env("VIGIL_PYTHON", support::python()?)
        .env_remove("PYTEST_ADDOPTS")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let child = cmd.spawn()?;
    // The reader sees the end (EIO) only once no process holds the terminal's other side.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut file = File::from(master);
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        bytes
    });
    let output = child.wait_with_output()?;
    let bytes = reader
        .join()
        .map_err(|_| Failed::from("the terminal reader panicked"))?;
    Ok(PtyRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&bytes).replace("\r\n", "\n"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// A pseudo-terminal 120 columns wide: (master, slave).
fn open_pty() -> Result<(OwnedFd, OwnedFd), Failed> {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors it opened into `master` and `slave`; the name
    // and termios pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if rc != 0 {
        return Err(format!("openpty: {}", std::io::Error::last_os_error()).into());
    }
    // SAFETY: both descriptors were just opened and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

/// The annotations GitHub gets for fixtures/failing checked out at `services/shop`:
/// (test, file, line) of the failures whose place is known.
const EXPECTED: [(&str, &str, u32); 5] = [
    (
        "tests/test_exceptions.py%3A%3Atest_value_error",
        "services/shop/tests/test_exceptions.py",
        13,
    ),
    (
        "tests/test_exceptions.py%3A%3Atest_custom_exception",
        "services/shop/tests/test_exceptions.py",
        22,
    ),
    (
        "tests/test_exceptions.py%3A%3Atest_raised_from_helper",
        "services/shop/inventory.py",
        15,
    ),
    (
        "tests/test_assertions.py%3A%3Atest_int_equal",
        "services/shop/tests/test_assertions.py",
        5,
    ),
    (
        "tests/test_assertions.py%3A%3Atest_list_diff",
        "services/shop/tests/test_assertions.py",
        19,
    ),
];

fn github_actions() -> TestResult {
    let fixture = support::fixture("failing")?;
    let workspace = tempfile::tempdir()?;
    let project = workspace.path().join("services/shop");
    std::fs::create_dir_all(workspace.path().join("services"))?;
    std::fs::rename(fixture.keep(), &project)?;
    let summary = workspace.path().join("step_summary.md");
    let earlier = "## Build\n\nbuilt in 12s\n";
    std::fs::write(&summary, earlier)?;
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("CI", "true"),
        ("GITHUB_WORKSPACE", &*workspace.path().to_string_lossy()),
        ("GITHUB_STEP_SUMMARY", &*summary.to_string_lossy()),
    ];
    let args = ["run", "--no-history", "--", "-p", "no:cacheprovider"];
    let run = vigil_on_pty(&project, &env, &args)?;
    let shown = format!("{}\n--- stderr\n{}", run.stdout, run.stderr);
    check(run.code == Some(1), || {
        format!("exit {:?}\n{shown}", run.code)
    })?;
    check(!run.stdout.contains(['\u{1b}', '\r']), || {
        format!("a progress bar's control characters in a CI log:\n{shown:?}")
    })?;
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    check(errors.len() == 9, || {
        format!("one annotation per failing test:\n{shown}")
    })?;
    for (test, file, line) in EXPECTED {
        let start = format!("::error file={file},line={line},title={test} failed (");
        check(errors.iter().any(|l| l.starts_with(&start)), || {
            format!("no line starting {start:?}:\n{shown}")
        })?;
    }
    let counts = run.stdout.find("9 failed, 3 passed").unwrap_or(usize::MAX);
    let first = run.stdout.find("::error ").unwrap_or(0);
    check(counts < first, || {
        format!("annotations come after the summary:\n{shown}")
    })?;
    let markdown = std::fs::read_to_string(&summary)?;
    check(markdown.starts_with(earlier), || {
        format!("the earlier content is kept:\n{markdown}")
    })?;
    let expected = [
        "## ❌ vigil: 9 failed, 3 passed in ",
        "### Failures (9)",
        "| <code>tests/test\\_exceptions.py::test\\_raised\\_from\\_helper</code> | <code>inventory.py:15</code> |",
    ];
    for part in expected {
        check(markdown.contains(part), || {
            format!("{part:?} missing from the summary:\n{markdown}")
        })?;
    }
    Ok(())
}

/// The control for the test above: the same terminal outside CI draws a progress bar, so the
/// absence of one there is CI detection's doing.
fn outside_ci() -> TestResult {
    let dir = support::fixture("passing")?;
    let args = ["run", "--no-history", "--", "-p", "no:cacheprovider"];
    let run = vigil_on_pty(dir.path(), &[], &args)?;
    let shown = format!("{}\n--- stderr\n{}", run.stdout, run.stderr);
    check(run.code == Some(0), || {
        format!("exit {:?}\n{shown}", run.code)
    })?;
    check(run.stdout.contains('\u{1b}'), || {
        format!("no progress bar on a terminal outside CI:\n{shown:?}")
    })?;
    check(!run.stdout.lines().any(|l| l.starts_with("::")), || {
        format!("annotations outside GitHub Actions:\n{shown}")
    })
}
