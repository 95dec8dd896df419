//! `vigil plan`, `vigil list --by-tier`, profiles and tier flags as a user types them: the
//! rendered plan (insta snapshots), JSON a script can read, and usage errors that say what and
//! where.

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("plan::mixed_project_text", plan_mixed),
        Trial::test(
            "plan::dependencies_text_with_two_workers",
            plan_dependencies,
        ),
        Trial::test("plan::ci_profile_json_has_three_waves", plan_json),
        Trial::test("list::by_tier_counts", list_by_tier),
        Trial::test(
            "profiles::unknown_profile_lists_the_known_ones",
            unknown_profile,
        ),
        Trial::test("profiles::wrong_type_names_file_line_and_key", wrong_type),
        Trial::test("profiles::bad_probe_names_file_line_and_key", bad_probe),
        Trial::test("tiers::unknown_tier_is_a_usage_error", unknown_tier),
        Trial::test("cli::bad_vigil_flag_exits_4_not_2", bad_flag),
    ]
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn plan_mixed() -> TestResult {
    let dir = support::fixture("mixed")?;
    let out = support::vigil(dir.path(), &["plan", "-j", "2"])?;
    support::exited(&out, 0)?;
    insta::assert_snapshot!("plan_mixed", stdout(&out));
    Ok(())
}

fn plan_dependencies() -> TestResult {
    let dir = support::fixture("dependencies")?;
    let out = support::vigil(dir.path(), &["plan", "-j", "2"])?;
    support::exited(&out, 0)?;
    insta::assert_snapshot!("plan_dependencies", stdout(&out));
    Ok(())
}

fn plan_json() -> TestResult {
    let dir = support::fixture("tiers")?;
    let out = support::vigil(dir.path(), &["plan", "--profile", "ci", "--format", "json"])?;
    support::exited(&out, 0)?;
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let waves: Vec<Vec<String>> = plan["waves"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| serde_json::from_value(w["tiers"].clone()).unwrap_or_default())
        .collect();
    let want = vec![
        vec!["unit", "performance", "stress", "smoke", "untiered"],
        vec!["integration"],
        vec!["e2e"],
    ];
    check(waves == want, || {
        format!("waves {waves:?}, want {want:?}\n{}", stdout(&out))
    })?;
    let e2e_tests: Vec<&str> = plan["waves"][2]["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|w| w["tests"].as_array().into_iter().flatten())
        .filter_map(|t| t["id"].as_str())
        .collect();
    check(e2e_tests.len() == 4, || {
        format!("the e2e wave holds the 4 e2e tests: {e2e_tests:?}")
    })
}

fn list_by_tier() -> TestResult {
    let dir = support::fixture("tiers")?;
    let out = support::vigil(dir.path(), &["list", "--by-tier"])?;
    support::exited(&out, 0)?;
    let want = "unit         3\nintegration  3\ne2e          4\nperformance  1\nstress       1\n\
                smoke        1\nuntiered     1\ntotal        14\n";
    check(stdout(&out) == want, || {
        format!("got:\n{}want:\n{want}", stdout(&out))
    })
}

fn unknown_profile() -> TestResult {
    let dir = support::fixture("tiers")?;
    let out = support::vigil(dir.path(), &["run", "--profile", "nightlyy"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("no profile named `nightlyy`")
            && text.contains("ci, default, nightly, quick, watch"),
        || text.clone(),
    )
}

fn wrong_type() -> TestResult {
    let dir = support::fixture("tiers")?;
    std::fs::write(
        dir.path().join("vigil.toml"),
        "jobs = 2\n\n[profiles.ci]\ntimeout = \"slow\"\n",
    )?;
    let out = support::vigil(dir.path(), &["run", "--profile", "ci"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("vigil.toml:4:11: `profiles.ci.timeout`: invalid type: string \"slow\""),
        || text.clone(),
    )
}

fn bad_probe() -> TestResult {
    let dir = support::fixture("capabilities")?;
    std::fs::write(
        dir.path().join("vigil.toml"),
        "[capabilities.db]\nprobe = \"udp:127.0.0.1:5\"\n",
    )?;
    let out = support::vigil(dir.path(), &["run"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("vigil.toml:2:9: `capabilities.db.probe`") && text.contains("udp"),
        || text.clone(),
    )
}

fn unknown_tier() -> TestResult {
    let dir = support::fixture("tiers")?;
    let out = support::vigil(dir.path(), &["run", "--tier", "unit,intgration"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("unknown tier `intgration`") && text.contains("smoke"),
        || text.clone(),
    )
}

fn bad_flag() -> TestResult {
    let dir = support::fixture("passing")?;
    let out = support::vigil(dir.path(), &["run", "--jobz", "2"])?;
    support::exited(&out, 4)
}
