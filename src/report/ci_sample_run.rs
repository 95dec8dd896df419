//! Test data for the CI reporters: the events of a realistic failing run (pytest longreprs in
//! the shapes pytest writes them, diagnosed by the built-in rules), and a writer to capture
//! what a reporter prints.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use crate::diagnose::{Diagnoser, Rules};
use crate::events::{Event, Location, Outcome, Phase, Problem, SkipInfo, Tally, TestResult};
use crate::exit::ExitCode;

use super::Reporter;

/// The project's rootdir, inside the checkout `WORKSPACE`.
pub const ROOTDIR: &str = "/ws/shop";
pub const WORKSPACE: &str = "/ws";

const ASSERT_TEXT: &str = "def test_round_currency_half_up():
        # 0.125 rounds half up to 0.13
>       assert round_currency(0.125) == 0.13
E       assert 0.12 == 0.13
E        +  where 0.12 = round_currency(0.125)

tests/unit/test_money.py:14: AssertionError";

const REFUSED_TEXT: &str = "def test_NAME(db):
>       order = create_order(db, total=12)

tests/integration/test_orders.py:LINE: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

db = <Db 127.0.0.1:5432>, total = 12

    def create_order(db, total):
>       conn = db.connect()

app/orders.py:8: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

self = <Db 127.0.0.1:5432>

    def connect(self):
>       return socket.create_connection((self.host, self.port), timeout=1)

app/db.py:12: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

    def create_connection(address, timeout=_GLOBAL_DEFAULT_TIMEOUT,
                          source_address=None, *, all_errors=False):
        host, port = address
>               sock.connect(sa)
E               ConnectionRefusedError: [Errno 111] Connection refused

/usr/lib/python3.12/socket.py:836: ConnectionRefusedError";

const ESCAPES_TEXT: &str = "def test_parse(source, expected):
>       assert parse(source) == expected, f\"expected <Expr {source}> got {parse(source)}\"
E       AssertionError: expected <Expr a|b> got None
E       assert None == <Expr a|b>

tests/unit/test_expr.py:30: AssertionError";

const COLLECT_TEXT: &str = "/usr/lib/python3.12/ast.py:50: in parse
    return compile(source, filename, mode, flags,
E     File \"/ws/shop/tests/test_reports.py\", line 3
E       totals = (1,
E                ^
E   SyntaxError: '(' was never closed";

const CRASH_TEXT: &str = "worker crashed while running this test (killed by signal 6 (SIGABRT))

Fatal Python error: Aborted

Current thread 0x00007f6216e7eb80 (most recent call first):
  File \"/ws/shop/tests/test_native.py\", line 9 in test_abort";

const RESET_TEXT: &str = "def test_warm(cache):
>       assert cache.get(\"k\") == \"v\"
E       ConnectionResetError: [Errno 104] Connection reset by peer

tests/integration/test_cache.py:21: ConnectionResetError";

fn problem(message: &str, location: Option<(&str, Option<u32>)>, text: &str) -> Problem {
    Problem {
        phase: Phase::Call,
        is_error: false,
        message: message.into(),
        location: location.map(|(path, line)| Location {
            path: path.into(),
            line,
        }),
        longrepr: text.into(),
    }
}

fn result(id: &str, outcome: Outcome, millis: u64, problems: Vec<Problem>) -> TestResult {
    let mut result = TestResult::bare(id.into(), outcome, problems, None, 0);
    result.duration = Duration::from_millis(millis);
    result
}

fn refused(name: &str, line: u32) -> TestResult {
    let text = REFUSED_TEXT
        .replace("NAME", name)
        .replace("LINE", &line.to_string());
    let id = format!("tests/integration/test_orders.py::test_{name}");
    let message = "ConnectionRefusedError: [Errno 111] Connection refused";
    let at = Some(("/usr/lib/python3.12/socket.py", Some(836)));
    result(&id, Outcome::Failed, 310, vec![problem(message, at, &text)])
}

/// The results, in the order they finish (a retry's result after its first attempt).
fn results() -> Vec<TestResult> {
    let mut collect = problem(
        "SyntaxError: '(' was never closed",
        Some(("tests/test_reports.py", None)),
        COLLECT_TEXT,
    );
    (collect.phase, collect.is_error) = (Phase::Collect, true);
    let mut skipped = result(
        "tests/unit/test_money.py::test_fx",
        Outcome::Skipped,
        1,
        vec![],
    );
    skipped.skip = Some(SkipInfo {
        message: "requires env FX_API_KEY".into(),
        location: None,
    });
    let mut warm_again = result(
        "tests/integration/test_cache.py::test_warm",
        Outcome::Passed,
        52,
        vec![],
    );
    warm_again.attempt = 2;
    vec![
        result("tests/test_reports.py", Outcome::Error, 0, vec![collect]),
        result(
            "tests/unit/test_money.py::test_round_down",
            Outcome::Passed,
            12,
            vec![],
        ),
        result(
            "tests/unit/test_money.py::test_round_currency_half_up",
            Outcome::Failed,
            15,
            vec![problem(
                "assert 0.12 == 0.13\n +  where 0.12 = round_currency(0.125)",
                Some(("tests/unit/test_money.py", Some(14))),
                ASSERT_TEXT,
            )],
        ),
        skipped,
        result(
            "tests/unit/test_expr.py::test_parse[a|b, 50%]",
            Outcome::Failed,
            9,
            vec![problem(
                "AssertionError: expected <Expr a|b> got None\nassert None == <Expr a|b>",
                Some(("tests/unit/test_expr.py", Some(30))),
                ESCAPES_TEXT,
            )],
        ),
        refused("create", 7),
        refused("list", 12),
        refused("cancel", 17),
        result(
            "tests/integration/test_cache.py::test_warm",
            Outcome::Failed,
            48,
            vec![problem(
                "ConnectionResetError: [Errno 104] Connection reset by peer",
                Some(("tests/integration/test_cache.py", Some(21))),
                RESET_TEXT,
            )],
        ),
        warm_again,
        result(
            "tests/integration/test_checkout.py::test_page",
            Outcome::Passed,
            1250,
            vec![],
        ),
        result(
            "tests/test_native.py::test_abort",
            Outcome::Crashed,
            0,
            vec![problem(
                "worker crashed while running this test (killed by signal 6 (SIGABRT))",
                None,
                CRASH_TEXT,
            )],
        ),
    ]
}

/// The whole run as the fan-out sends it: diagnosed failures, the retry, the tally.
pub fn events() -> Vec<Event> {
    let diagnoser = Diagnoser::new(Rules::builtin(), Path::new(ROOTDIR));
    let mut events = vec![Event::RunStarted {
        rootdir: PathBuf::from(ROOTDIR),
        files: 6,
        workers: 2,
    }];
    let mut tally = Tally::default();
    let mut last: Vec<TestResult> = Vec::new();
    for mut result in results() {
        result.diagnosis = diagnoser.diagnose(&result);
        match last.iter().position(|r| r.id == result.id) {
            Some(i) => {
                tally.replace(last[i].outcome, result.outcome);
                events.push(Event::TestRetrying {
                    id: result.id.clone(),
                    attempt: result.attempt,
                    reason: "the diagnosis says transient (network)".into(),
                });
            }
            None => tally.add(result.outcome),
        }
        last.push(result.clone());
        events.push(Event::TestFinished(result));
    }
    events.push(Event::RunFinished {
        tally,
        exit: ExitCode::TestsFailed,
        duration: Duration::from_millis(3210),
    });
    events
}

/// Feeds `events` to `reporter` and finishes it, as a session does.
pub fn replay(reporter: &mut dyn Reporter, events: &[Event]) {
    for event in events {
        reporter.on_event(event);
    }
    reporter
        .finish()
        .expect("the reporter finishes without error");
}

/// A writer whose bytes the test keeps a handle on.
#[derive(Clone, Default)]
pub struct Captured(Rc<RefCell<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
