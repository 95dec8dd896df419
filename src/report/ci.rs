//! Which CI a run is in, read from the environment, and the reporters that CI gets on top of
//! the terminal: GitHub Actions annotations and the job step summary.

use std::path::PathBuf;

use super::github_annotations::GithubAnnotations;
use super::step_summary::StepSummary;
use super::Reporter;

/// A CI service, as its runners announce themselves in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GithubActions,
    Gitlab,
    Buildkite,
    CircleCi,
    Jenkins,
    AzurePipelines,
    /// `CI` is set, but to no service vigil knows by name.
    Generic,
}

impl Ci {
    pub fn name(self) -> &'static str {
        match self {
            Ci::GithubActions => "GitHub Actions",
            Ci::Gitlab => "GitLab CI",
            Ci::Buildkite => "Buildkite",
            Ci::CircleCi => "CircleCI",
            Ci::Jenkins => "Jenkins",
            Ci::AzurePipelines => "Azure Pipelines",
            Ci::Generic => "CI",
        }
    }
}

/// The variables [`detect`] reads.
pub const SERVICE_VARS: [&str; 7] = [
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "JENKINS_URL",
    "TF_BUILD",
    "CI",
];

/// The variables that make vigil write CI output (annotations, the step summary). vigil's
/// own suites clear them, so the vigils they start print the same in CI as elsewhere.
pub const OUTPUT_VARS: [&str; 3] = ["GITHUB_ACTIONS", "GITHUB_WORKSPACE", "GITHUB_STEP_SUMMARY"];

/// The environment as a lookup, so detection is testable without touching the process's own.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for [`detect`] and [`ci_reporters`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The CI this process runs in, or `None` on a developer's machine.
pub fn detect(env: Env) -> Option<Ci> {
    let is_true = |name: &str| env(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let non_empty = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    // Azure writes `TF_BUILD=True`, the others lowercase `true`: compared without case.
    let named = [
        (is_true("GITHUB_ACTIONS"), Ci::GithubActions),
        (non_empty("GITLAB_CI"), Ci::Gitlab),
        (is_true("BUILDKITE"), Ci::Buildkite),
        (is_true("CIRCLECI"), Ci::CircleCi),
        (non_empty("JENKINS_URL"), Ci::Jenkins),
        (is_true("TF_BUILD"), Ci::AzurePipelines),
    ];
    if let Some((_, ci)) = named.into_iter().find(|(found, _)| *found) {
        return Some(ci);
    }
    env("CI")
        .filter(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
        .map(|_| Ci::Generic)
}

/// The reporters the CI of `env` gets besides the terminal: annotations under GitHub Actions
/// (left out with `annotations` false, when stdout belongs to another format such as JSON
/// lines), and a Markdown summary appended to the file `GITHUB_STEP_SUMMARY` names (GitHub,
/// Gitea and Forgejo set it). They read the event stream only, so a replay of recorded events
/// drives them as well as a live run.
pub fn ci_reporters(env: Env, annotations: bool) -> Vec<Box<dyn Reporter>> {
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if annotations && detect(env) == Some(Ci::GithubActions) {
        let workspace = set("GITHUB_WORKSPACE").map(PathBuf::from);
        let out = Box::new(std::io::stdout());
        reporters.push(Box::new(GithubAnnotations::new(out, workspace)));
    }
    if let Some(path) = set("GITHUB_STEP_SUMMARY") {
        reporters.push(Box::new(StepSummary::new(PathBuf::from(path))));
    }
    reporters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn detected(pairs: &[(&str, &str)]) -> Option<Ci> {
        detect(&env_of(pairs))
    }

    #[test]
    fn each_service_is_known_by_its_own_variable() {
        let cases = [
            (("GITHUB_ACTIONS", "true"), Ci::GithubActions),
            (("GITLAB_CI", "true"), Ci::Gitlab),
            (("BUILDKITE", "true"), Ci::Buildkite),
            (("CIRCLECI", "true"), Ci::CircleCi),
            (("JENKINS_URL", "https://jenkins.example/"), Ci::Jenkins),
            (("TF_BUILD", "True"), Ci::AzurePipelines),
        ];
        for ((name, value), ci) in cases {
            assert_eq!(
                detected(&[(name, value), ("CI", "true")]),
                Some(ci),
                "{name}"
            );
        }
    }

    #[test]
    fn a_named_service_wins_over_the_generic_variable() {
        assert_eq!(
            detected(&[("CI", "1"), ("GITLAB_CI", "true")]),
            Some(Ci::Gitlab)
        );
    }

    #[test]
    fn ci_alone_counts_unless_it_says_no() {
        assert_eq!(detected(&[("CI", "true")]), Some(Ci::Generic));
        assert_eq!(detected(&[("CI", "1")]), Some(Ci::Generic));
        assert_eq!(detected(&[("CI", "woodpecker")]), Some(Ci::Generic));
        for no in ["", "0", "false", "FALSE"] {
            assert_eq!(detected(&[("CI", no)]), None, "CI={no:?}");
        }
        assert_eq!(detected(&[]), None);
    }

    #[test]
    fn switched_off_flags_are_not_a_service() {
        assert_eq!(detected(&[("GITHUB_ACTIONS", "false")]), None);
        assert_eq!(detected(&[("BUILDKITE", "")]), None);
        assert_eq!(detected(&[("JENKINS_URL", "")]), None);
    }

    #[test]
    fn reporters_follow_the_environment() {
        let github = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", "/tmp/summary.md"),
        ]);
        assert_eq!(ci_reporters(&github, true).len(), 2);
        // JSON lines own stdout: no annotations, the summary file still gets written.
        assert_eq!(ci_reporters(&github, false).len(), 1);
        let forgejo = env_of(&[("CI", "true"), ("GITHUB_STEP_SUMMARY", "/tmp/s.md")]);
        assert_eq!(ci_reporters(&forgejo, true).len(), 1);
        let gitlab = env_of(&[("GITLAB_CI", "true")]);
        assert!(ci_reporters(&gitlab, true).is_empty());
    }
}
