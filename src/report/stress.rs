//! The terminal lines of a stress series (`vigil run --repeat`): the header before each
//! repetition and the summary after the last.

use crate::stress::{Repeat, StressSummary, TestStress};

use super::text_table::render;

/// "== repeat 3/10 ==", before a repetition's own output.
pub fn render_repeat_header(n: u32, repeat: Repeat) -> String {
    match repeat {
        Repeat::Times(times) => format!("== repeat {n}/{times} =="),
        Repeat::UntilFail { max } => format!("== repeat {n}/{max} (until a failure) =="),
    }
}

/// Repetitions run, then the tests that failed: flaky ones with failures/runs, flip rate and
/// score, and those that failed every time.
pub fn render_stress_summary(summary: &StressSummary) -> String {
    let mut out = format!(
        "\n== stress: {} in series {}: {} with failures{} ==\n",
        plural(summary.repetitions, "repetition"),
        summary.series,
        summary.failed_repetitions,
        if summary.interrupted {
            ", interrupted"
        } else {
            ""
        },
    );
    let (every_time, flaky): (Vec<&TestStress>, Vec<&TestStress>) =
        summary.tests.iter().partition(|t| t.failed_every_time());
    if summary.tests.is_empty() {
        out += "no test failed\n";
    }
    if !flaky.is_empty() {
        out += "flaky (failed some of the time; score = share of repetitions failed)\n";
        out += &indent(&flaky_table(&flaky));
    }
    if !every_time.is_empty() {
        out += "failed every time (deterministic, not flaky)\n";
        out += &indent(&every_time_table(&every_time));
    }
    if summary.recorded && !flaky.is_empty() {
        out += "recorded in history: `vigil trends` lists the flaky tests\n";
    }
    out
}

fn flaky_table(tests: &[&TestStress]) -> String {
    let rows: Vec<Vec<String>> = tests
        .iter()
        .map(|t| {
            vec![
                t.test.clone(),
                format!("{}/{}", t.failures, t.runs),
                format!("{:.2}", t.flip_rate),
                format!("{:.2}", t.score),
            ]
        })
        .collect();
    render(&["test", "failed", "flip rate", "score"], &rows, &[1, 2, 3])
}

fn every_time_table(tests: &[&TestStress]) -> String {
    let rows: Vec<Vec<String>> = tests
        .iter()
        .map(|t| vec![t.test.clone(), format!("{}/{}", t.failures, t.runs)])
        .collect();
    render(&["test", "failed"], &rows, &[1])
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn plural(n: usize, word: &str) -> String {
    match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, failures: usize, passes: usize, flip_rate: f64) -> TestStress {
        let runs = 4;
        TestStress {
            test: name.into(),
            runs,
            failures,
            passes,
            flip_rate,
            score: crate::stress::flakiness_score(failures, passes, runs),
        }
    }

    #[test]
    fn the_summary_separates_flaky_from_failing_every_time() {
        let summary = StressSummary {
            series: "repeat-1-2".into(),
            repetitions: 4,
            failed_repetitions: 4,
            interrupted: false,
            recorded: true,
            tests: vec![
                test("t.py::alternates", 2, 2, 0.75),
                test("t.py::fails", 4, 0, 0.0),
            ],
        };
        assert_eq!(
            render_stress_summary(&summary),
            "\n== stress: 4 repetitions in series repeat-1-2: 4 with failures ==\n\
             flaky (failed some of the time; score = share of repetitions failed)\n\
             \x20 test              failed  flip rate  score\n\
             \x20 t.py::alternates     2/4       0.75   0.50\n\
             failed every time (deterministic, not flaky)\n\
             \x20 test         failed\n\
             \x20 t.py::fails     4/4\n\
             recorded in history: `vigil trends` lists the flaky tests\n"
        );
        assert_eq!(
            render_repeat_header(3, Repeat::UntilFail { max: 100 }),
            "== repeat 3/100 (until a failure) =="
        );
    }

    #[test]
    fn a_clean_interrupted_series_says_so() {
        let summary = StressSummary {
            series: "repeat-1-2".into(),
            repetitions: 1,
            failed_repetitions: 0,
            interrupted: true,
            recorded: false,
            tests: vec![],
        };
        let text = render_stress_summary(&summary);
        assert!(text.contains("1 repetition in series repeat-1-2: 0 with failures, interrupted"));
        assert!(text.ends_with("no test failed\n"), "{text}");
    }
}
