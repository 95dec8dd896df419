//! The `vigil` command as a user types it: exit codes, error messages, listing, and what the
//! terminal and JUnit output look like (insta snapshots, durations normalized).

use std::process::Command;

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "cli::missing_pytest_names_interpreter_and_install_command",
            missing_pytest,
        ),
        Trial::test("cli::unrunnable_python_is_a_usage_error", unrunnable_python),
        Trial::test("cli::relative_python_path_keeps_its_venv", relative_python),
        Trial::test(
            "cli::bare_python_name_is_looked_up_on_path",
            bare_python_name,
        ),
        Trial::test(
            "cli::bad_marker_expression_exits_4_like_pytest",
            bad_marker_expression,
        ),
        Trial::test(
            "cli::unknown_pytest_option_exits_4_like_pytest",
            unknown_pytest_option,
        ),
        Trial::test(
            "cli::nothing_selected_exits_5_like_pytest",
            nothing_selected,
        ),
        Trial::test("cli::missing_path_exits_4_naming_it", missing_path),
        Trial::test(
            "cli::unknown_config_key_names_file_line_and_key",
            unknown_config_key,
        ),
        Trial::test("cli::list_prints_the_ids_pytest_collects", list_ids),
        Trial::test("cli::terminal_output_of_the_example", terminal_snapshot),
        Trial::test("cli::junit_of_the_example", junit_snapshot),
    ]
}

/// `--python NAME` (and the `python3` fallback) is a program on PATH, not a file in the cwd.
fn bare_python_name() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = support::fixture("passing")?;
    let bin = tempfile::tempdir()?;
    let wrapper = bin.path().join("vigil-test-python");
    let script = format!(
        "#!/bin/sh\nexec '{}' \"$@\"\n",
        support::python()?.display()
    );
    std::fs::write(&wrapper, script)?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = support::vigil_env(
        dir.path(),
        &[("PATH", path.as_str())],
        &[
            "run",
            "--python",
            "vigil-test-python",
            "--",
            "-p",
            "no:cacheprovider",
        ],
    )?;
    support::exited(&out, 0)
}

fn missing_pytest() -> TestResult {
    let dir = support::fixture("passing")?;
    let venv = dir.path().join("bare-venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()?;
    check(made.success(), || {
        "python3 -m venv --without-pip failed".into()
    })?;
    let python = venv.join("bin/python");
    let out = support::vigil(dir.path(), &["run", "--python", &python.to_string_lossy()])?;
    let text = support::text(&out);
    support::exited(&out, 4)?;
    let install = format!("{} -m pip install pytest", python.display());
    check(
        text.contains("pytest is not importable by") && text.contains(&install),
        || format!("message:\n{text}"),
    )
}

/// `--python .venv/bin/python`: a venv's python is a symlink to the base interpreter, and
/// following it would leave the venv (and its pytest) behind.
fn relative_python() -> TestResult {
    let dir = support::fixture("passing")?;
    let venv = support::python()?
        .parent()
        .and_then(|bin| bin.parent())
        .map(std::path::Path::to_path_buf);
    let venv = venv.ok_or("the suites' python is not in a venv")?;
    std::os::unix::fs::symlink(&venv, dir.path().join("env"))?;
    let out = support::vigil(dir.path(), &["run", "--python", "env/bin/python"])?;
    let text = support::text(&out);
    support::exited(&out, 0)?;
    check(text.contains("6 passed"), || text)
}

fn unrunnable_python() -> TestResult {
    let dir = support::fixture("passing")?;
    let out = support::vigil(dir.path(), &["run", "--python", "/nonexistent/python"])?;
    let text = support::text(&out);
    support::exited(&out, 4)?;
    check(text.contains("/nonexistent/python"), || {
        format!("message does not name the interpreter:\n{text}")
    })
}

/// vigil's exit code and pytest's agree, and vigil shows pytest's error line.
fn same_exit_as_pytest(
    fixture: &str,
    vigil_args: &[&str],
    pytest_args: &[&str],
    expect: i32,
    needle: &str,
) -> TestResult {
    let dir = support::fixture(fixture)?;
    let pytest = support::pytest(dir.path(), pytest_args)?;
    check(pytest.status.code() == Some(expect), || {
        format!("pytest exit {:?}, expected {expect}", pytest.status.code())
    })?;
    let out = support::vigil(dir.path(), vigil_args)?;
    let text = support::text(&out);
    check(out.status.code() == Some(expect), || {
        format!(
            "vigil exit {:?}, expected {expect}\n{text}",
            out.status.code()
        )
    })?;
    check(text.contains(needle), || {
        format!("expected {needle:?} in:\n{text}")
    })
}

fn bad_marker_expression() -> TestResult {
    same_exit_as_pytest(
        "markers",
        &["run", "-m", "slow and"],
        &["-m", "slow and"],
        4,
        "-m",
    )
}

fn unknown_pytest_option() -> TestResult {
    same_exit_as_pytest(
        "passing",
        &["run", "--", "--no-such-option"],
        &["--no-such-option"],
        4,
        "--no-such-option",
    )
}

fn nothing_selected() -> TestResult {
    same_exit_as_pytest(
        "passing",
        &["run", "-k", "matches_nothing_at_all"],
        &["-k", "matches_nothing_at_all"],
        5,
        "no tests ran",
    )
}

fn missing_path() -> TestResult {
    let dir = support::fixture("passing")?;
    let out = support::vigil(dir.path(), &["run", "tests/nope.py"])?;
    let text = support::text(&out);
    support::exited(&out, 4)?;
    check(
        text.contains("file or directory not found: tests/nope.py"),
        || text,
    )
}

fn unknown_config_key() -> TestResult {
    let dir = support::fixture("passing")?;
    std::fs::write(
        dir.path().join("vigil.toml"),
        "jobs = 2\npyhton = \"python3\"\n",
    )?;
    let out = support::vigil(dir.path(), &["run"])?;
    let text = support::text(&out);
    support::exited(&out, 4)?;
    check(
        text.contains("vigil.toml:2:1") && text.contains("pyhton"),
        || text,
    )
}

fn list_ids() -> TestResult {
    let dir = support::fixture("parametrize_ids")?;
    let pytest = support::pytest(dir.path(), &["--collect-only", "-q"])?;
    let expected: Vec<String> = String::from_utf8_lossy(&pytest.stdout)
        .lines()
        .filter(|l| l.contains("::"))
        .map(String::from)
        .collect();
    check(expected.len() > 10, || {
        format!("pytest collected too little: {expected:?}")
    })?;
    let out = support::vigil(dir.path(), &["list"])?;
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    check(listed == expected, || {
        format!(
            "vigil list:\n{}\npytest:\n{}",
            listed.join("\n"),
            expected.join("\n")
        )
    })
}

/// Durations and temp paths vary between runs; everything else in the output must not.
fn normalize(text: &str, dir: &std::path::Path) -> String {
    let text = text.replace(&dir.display().to_string(), "<fixture>");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(&mask_durations(line));
        out.push('\n');
    }
    out
}

/// Replaces `1.23s` / `time="0.004"`-style durations with `<t>`.
fn mask_durations(line: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number =
            chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let number: String = chars[i..j].iter().collect();
            let in_time_attr = i >= 6 && chars[i - 6..i].iter().collect::<String>() == "time=\"";
            let is_duration = number.contains('.') && (chars.get(j) == Some(&'s') || in_time_attr);
            if is_duration {
                out.push_str("<t>");
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn terminal_snapshot() -> TestResult {
    let dir = support::fixture("example")?;
    let out = support::vigil(
        dir.path(),
        &["run", "-j", "1", "--", "-p", "no:cacheprovider"],
    )?;
    support::exited(&out, 1)?;
    let text = normalize(&String::from_utf8_lossy(&out.stdout), dir.path());
    insta::assert_snapshot!("example_terminal", text);
    Ok(())
}

fn junit_snapshot() -> TestResult {
    let dir = support::fixture("example")?;
    let xml = dir.path().join("junit.xml");
    let out = support::vigil(
        dir.path(),
        &[
            "run",
            "-j",
            "2",
            "--junit",
            &xml.to_string_lossy(),
            "--",
            "-p",
            "no:cacheprovider",
        ],
    )?;
    support::exited(&out, 1)?;
    let text = normalize(&std::fs::read_to_string(&xml)?, dir.path());
    insta::assert_snapshot!("example_junit", text);
    Ok(())
}
