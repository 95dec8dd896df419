//! vigil's own rule table, most specific first. Exception patterns are anchored to the type's
//! last name (`(?:^|\.)Name$`); message patterns are searched. Causes and advice may use the
//! named groups of the message pattern and `{addr}` (the address the failure names).

use std::sync::LazyLock;

use crate::events::Outcome;

use super::category::{Category, Nature};
use super::rules::{compile, Rule, RuleSpec};

use Category::*;
use Nature::*;

/// One built-in rule as written.
struct Builtin {
    name: &'static str,
    category: Category,
    nature: Nature,
    confidence: f32,
    exception: Option<&'static str>,
    message: Option<&'static str>,
    trace: Option<&'static str>,
    outcome: Option<Outcome>,
    cause: &'static str,
    advice: Option<&'static str>,
}

const NONE: Builtin = Builtin {
    name: "",
    category: Unknown,
    nature: Deterministic,
    confidence: 0.2,
    exception: None,
    message: None,
    trace: None,
    outcome: None,
    cause: "",
    advice: None,
};

const TABLE: &[Builtin] = &[
    Builtin {
        name: "timeout-kill",
        category: Timeout,
        nature: Transient,
        confidence: 0.9,
        outcome: Some(Outcome::TimedOut),
        cause: "the test ran past vigil's timeout and was killed: slow, or stuck waiting",
        advice: Some("if it is slow, raise `timeout` or mark it slow; if it is stuck, the worker output shows where it waited"),
        ..NONE
    },
    Builtin {
        name: "killed",
        category: Resource,
        nature: Transient,
        confidence: 0.5,
        outcome: Some(Outcome::Crashed),
        message: Some(r"signal 9 \(SIGKILL\)"),
        cause: "the worker was killed with SIGKILL, which is what the kernel's out-of-memory killer sends",
        advice: Some("check `dmesg` for the OOM killer and the test's memory use"),
        ..NONE
    },
    Builtin {
        name: "crash",
        category: Crash,
        nature: Deterministic,
        confidence: 0.85,
        outcome: Some(Outcome::Crashed),
        cause: "the process running the test died: a native extension's memory error, an abort, or an exit",
        advice: Some("run the test alone under `python -X faulthandler` (or a debugger) to see where it dies"),
        ..NONE
    },
    Builtin {
        name: "assertion",
        category: Assertion,
        nature: Deterministic,
        confidence: 0.95,
        exception: Some(r"(?:^|\.)AssertionError$"),
        cause: "an assertion did not hold: the code returned something the test did not expect",
        advice: Some("compare expected and actual at {at}: fix the code, or the test if the behaviour changed on purpose"),
        ..NONE
    },
    Builtin {
        name: "rust-assertion",
        category: Assertion,
        nature: Deterministic,
        confidence: 0.9,
        message: Some(r"^assertion (?:`[^`]*` )?failed|^assertion failed:"),
        cause: "an assertion did not hold: the code returned something the test did not expect",
        advice: Some("compare expected and actual at {at}: fix the code, or the test if the behaviour changed on purpose"),
        ..NONE
    },
    Builtin {
        name: "missing-module",
        category: Import,
        nature: Deterministic,
        confidence: 0.95,
        message: Some(r"No module named '(?P<module>[\w.]+)'"),
        cause: "module `{module}` is not installed in the interpreter running the tests",
        advice: Some("install the package that provides `{module}` into the test environment (e.g. `pip install {module}`), or add it to the project's test dependencies"),
        ..NONE
    },
    Builtin {
        name: "cannot-import-name",
        category: Import,
        nature: Deterministic,
        confidence: 0.9,
        message: Some(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'"),
        cause: "`{module}` has no `{name}`: a renamed or removed symbol, or another version of the package than the code expects",
        advice: Some("check the installed version of `{module}` against the one the code was written for"),
        ..NONE
    },
    Builtin {
        name: "import-error",
        category: Import,
        nature: Deterministic,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)(?:ImportError|ModuleNotFoundError)$"),
        cause: "a module could not be imported",
        advice: Some("check that the project and its dependencies are installed in the test environment"),
        ..NONE
    },
    Builtin {
        name: "connection-refused",
        category: Network,
        nature: Transient,
        confidence: 0.9,
        message: Some(r"(?i)connection refused|ConnectionRefused|ECONNREFUSED"),
        cause: "nothing is listening at {addr}: the service the test needs is not running",
        advice: Some("start the service on {addr} (or mark the test `requires_service(\"{addr}\")` so it is skipped when the service is down)"),
        ..NONE
    },
    Builtin {
        name: "connection-refused-type",
        category: Network,
        nature: Transient,
        confidence: 0.9,
        exception: Some(r"(?:^|\.)ConnectionRefusedError$"),
        cause: "nothing is listening at {addr}: the service the test needs is not running",
        advice: Some("start the service on {addr} (or mark the test `requires_service(\"{addr}\")` so it is skipped when the service is down)"),
        ..NONE
    },
    Builtin {
        name: "connection-reset",
        category: Network,
        nature: Transient,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)(?:ConnectionResetError|ConnectionAbortedError|BrokenPipeError|RemoteDisconnected|IncompleteRead)$"),
        cause: "the other end closed the connection in the middle of the exchange",
        advice: Some("retry; if it keeps happening, check the service's logs for why it drops connections"),
        ..NONE
    },
    Builtin {
        name: "connection-reset-message",
        category: Network,
        nature: Transient,
        confidence: 0.8,
        message: Some(r"(?i)connection reset|ConnectionReset|broken pipe|ECONNRESET|connection aborted|Remote end closed connection"),
        cause: "the other end closed the connection in the middle of the exchange",
        advice: Some("retry; if it keeps happening, check the service's logs for why it drops connections"),
        ..NONE
    },
    Builtin {
        name: "dns-unavailable",
        category: Network,
        nature: Transient,
        confidence: 0.8,
        message: Some(r"(?i)Temporary failure in name resolution|EAI_AGAIN|try again later|dns error: .*timed out"),
        cause: "the resolver could not answer: no DNS server reachable right now",
        advice: Some("retry; check the machine's network and resolver"),
        ..NONE
    },
    Builtin {
        name: "dns-unknown-host",
        category: Network,
        nature: Deterministic,
        confidence: 0.8,
        message: Some(r"(?i)Name or service not known|nodename nor servname|failed to lookup address|getaddrinfo failed|No address associated with hostname|Name does not resolve|NXDOMAIN|dns error"),
        cause: "the host name does not exist: a wrong host in the test's settings (a retry will not help)",
        advice: Some("check the host name the test connects to"),
        ..NONE
    },
    Builtin {
        name: "dns-type",
        category: Network,
        nature: Deterministic,
        confidence: 0.7,
        exception: Some(r"(?:^|\.)gaierror$"),
        cause: "a host name could not be resolved",
        advice: Some("check the host name the test connects to and that the machine can resolve it"),
        ..NONE
    },
    Builtin {
        name: "tls",
        category: Network,
        nature: Deterministic,
        confidence: 0.85,
        message: Some(r"(?i)\[SSL[:\]]|CERTIFICATE_VERIFY_FAILED|certificate verify failed|WRONG_VERSION_NUMBER|tls handshake|SSL handshake|InvalidCertificate"),
        cause: "the TLS handshake failed: a certificate that does not verify, or TLS spoken to a plain-text port",
        advice: Some("check the URL's scheme and port and the CA bundle the test uses"),
        ..NONE
    },
    Builtin {
        name: "tls-type",
        category: Network,
        nature: Deterministic,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)(?:SSLError|SSLCertVerificationError|SSLZeroReturnError)$"),
        cause: "the TLS handshake failed: a certificate that does not verify, or TLS spoken to a plain-text port",
        advice: Some("check the URL's scheme and port and the CA bundle the test uses"),
        ..NONE
    },
    Builtin {
        name: "rate-limit",
        category: Network,
        nature: Transient,
        confidence: 0.9,
        message: Some(r"(?i)\b429\b|Too Many Requests|rate.?limit|throttl"),
        cause: "the service is rate-limiting the tests",
        advice: Some("retry with backoff, or run fewer tests against the service at once (`-j`)"),
        ..NONE
    },
    Builtin {
        name: "server-error",
        category: Network,
        nature: Transient,
        confidence: 0.7,
        message: Some(r"(?i)HTTP Error 5\d\d|\b50[234]\b.*(?:Gateway|Unavailable)|Service Unavailable|Bad Gateway"),
        cause: "the service answered with a server error",
        advice: Some("retry; if it persists, look at the service's logs"),
        ..NONE
    },
    Builtin {
        name: "forbidden",
        category: Permission,
        nature: Deterministic,
        confidence: 0.8,
        message: Some(r"(?i)HTTP Error 40[13]|\b40[13]\b.*(?:Forbidden|Unauthorized)|Forbidden|Unauthorized|authentication failed|access denied"),
        cause: "the service refused the test's credentials",
        advice: Some("check the credentials the test environment provides"),
        ..NONE
    },
    Builtin {
        name: "timeout",
        category: Timeout,
        nature: Transient,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)(?:TimeoutError|timeout|TimeoutExpired|ReadTimeout|ConnectTimeout|Timeout|DeadlineExceeded)$"),
        cause: "an operation gave up waiting: a slow or unresponsive service, or a too-short limit",
        advice: Some("retry; if it keeps timing out, check the service or raise the limit"),
        ..NONE
    },
    Builtin {
        name: "timeout-message",
        category: Timeout,
        nature: Transient,
        confidence: 0.75,
        message: Some(r"(?i)timed out|\btimeout\b|deadline exceeded|TimedOut"),
        cause: "an operation gave up waiting: a slow or unresponsive service, or a too-short limit",
        advice: Some("retry; if it keeps timing out, check the service or raise the limit"),
        ..NONE
    },
    Builtin {
        name: "database-locked",
        category: Database,
        nature: Transient,
        confidence: 0.9,
        message: Some(r"(?i)database is locked|database table is locked|could not obtain lock|deadlock detected|lock wait timeout|SQLITE_BUSY"),
        cause: "another connection holds the database lock: tests sharing one database at the same time",
        advice: Some("retry; give each worker its own database, or raise the busy timeout"),
        ..NONE
    },
    Builtin {
        name: "missing-table",
        category: Database,
        nature: Deterministic,
        confidence: 0.9,
        message: Some(r#"(?i)no such table: (?P<table>[\w.]+)|relation "(?P<relation>[\w.]+)" does not exist|Table '[^']+' doesn't exist|no such column|UndefinedTable"#),
        cause: "the database schema is not what the code expects: migrations not applied",
        advice: Some("run the migrations (or the schema set-up fixture) before the tests"),
        ..NONE
    },
    Builtin {
        name: "database-corrupt",
        category: Database,
        nature: Deterministic,
        confidence: 0.9,
        message: Some(r"(?i)file is not a database|database disk image is malformed|SQLITE_CORRUPT|SQLITE_NOTADB"),
        cause: "the database file is corrupt or is not a database",
        advice: Some("recreate the database file the test opens (a snapshot restore brings back a good copy)"),
        ..NONE
    },
    Builtin {
        name: "out-of-memory",
        category: Resource,
        nature: Transient,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)MemoryError$"),
        cause: "the process ran out of memory",
        advice: Some("look for a leak or an oversized allocation; run fewer workers (`-j`) to leave each more memory"),
        ..NONE
    },
    Builtin {
        name: "out-of-memory-message",
        category: Resource,
        nature: Transient,
        confidence: 0.8,
        message: Some(r"(?i)Cannot allocate memory|out of memory|memory allocation of \d+ bytes failed|ENOMEM"),
        cause: "the process ran out of memory",
        advice: Some("look for a leak or an oversized allocation; run fewer workers (`-j`) to leave each more memory"),
        ..NONE
    },
    Builtin {
        name: "disk-full",
        category: Resource,
        nature: Transient,
        confidence: 0.9,
        message: Some(r"(?i)No space left on device|ENOSPC|Disk quota exceeded|StorageFull"),
        cause: "the disk (or the device written to) is full",
        advice: Some("free space on the device the test writes to (temp dirs, logs)"),
        ..NONE
    },
    Builtin {
        name: "file-descriptors",
        category: Resource,
        nature: Transient,
        confidence: 0.9,
        message: Some(r"(?i)Too many open files|EMFILE|ENFILE"),
        cause: "the process ran out of file descriptors: files or sockets left open",
        advice: Some("close files and sockets the tests open (a leak grows with the number of tests per worker), or raise `ulimit -n`"),
        ..NONE
    },
    Builtin {
        name: "permission",
        category: Permission,
        nature: Deterministic,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)PermissionError$"),
        cause: "the test was not allowed to do something: file modes, the user it runs as, or a sandbox",
        advice: Some("check the owner and mode of the path it touches and the user the tests run as"),
        ..NONE
    },
    Builtin {
        name: "permission-message",
        category: Permission,
        nature: Deterministic,
        confidence: 0.8,
        message: Some(r"(?i)Permission denied|Operation not permitted|EACCES|EPERM|PermissionDenied|Read-only file system"),
        cause: "the test was not allowed to do something: file modes, the user it runs as, or a sandbox",
        advice: Some("check the owner and mode of the path it touches and the user the tests run as"),
        ..NONE
    },
    Builtin {
        name: "missing-fixture",
        category: Environment,
        nature: Deterministic,
        confidence: 0.95,
        message: Some(r"fixture '(?P<fixture>\w+)' not found"),
        cause: "the test asks for fixture `{fixture}`, which no conftest.py or plugin defines",
        advice: Some("define `{fixture}` in a conftest.py, or install the plugin that provides it"),
        ..NONE
    },
    Builtin {
        name: "missing-env-var",
        category: Environment,
        nature: Deterministic,
        confidence: 0.85,
        exception: Some(r"(?:^|\.)KeyError$"),
        message: Some(r"^'(?P<var>[A-Z][A-Z0-9_]*)'$"),
        trace: Some(r"environ|getenv"),
        cause: "environment variable `{var}` is not set",
        advice: Some("set `{var}` in the test environment (or give the code a default)"),
        ..NONE
    },
    Builtin {
        name: "missing-setting",
        category: Environment,
        nature: Deterministic,
        confidence: 0.6,
        exception: Some(r"(?:^|\.)KeyError$"),
        message: Some(r"^'(?P<var>[A-Z][A-Z0-9]*_[A-Z0-9_]+)'$"),
        cause: "`{var}` is missing: an environment variable or setting by its name",
        advice: Some("set `{var}` in the test environment (or give the code a default)"),
        ..NONE
    },
    Builtin {
        name: "env-message",
        category: Environment,
        nature: Deterministic,
        confidence: 0.75,
        message: Some(r"(?i)environment variable|env var|is not set|not configured|missing (?:setting|configuration)"),
        cause: "a setting the test needs is missing from its environment",
        advice: Some("set it in the test environment or the project's configuration"),
        ..NONE
    },
    Builtin {
        name: "missing-file",
        category: Environment,
        nature: Deterministic,
        confidence: 0.75,
        exception: Some(r"(?:^|\.)(?:FileNotFoundError|NotADirectoryError|IsADirectoryError)$"),
        cause: "a file the test needs is not there",
        advice: Some("create the file (or the fixture that writes it) before the test, or fix the path"),
        ..NONE
    },
    Builtin {
        name: "missing-file-message",
        category: Environment,
        nature: Deterministic,
        confidence: 0.7,
        message: Some(r"(?i)No such file or directory|kind: NotFound|ENOENT|cannot find the (?:file|path)"),
        cause: "a file the test needs is not there",
        advice: Some("create the file (or the fixture that writes it) before the test, or fix the path"),
        ..NONE
    },
    Builtin {
        name: "syntax",
        category: Code,
        nature: Deterministic,
        confidence: 0.95,
        exception: Some(r"(?:^|\.)(?:SyntaxError|IndentationError|TabError)$"),
        cause: "the code does not parse",
        advice: Some("fix the syntax at {at}"),
        ..NONE
    },
    Builtin {
        name: "python-error",
        category: Code,
        nature: Deterministic,
        confidence: 0.8,
        exception: Some(r"(?:^|\.)(?:TypeError|AttributeError|NameError|UnboundLocalError|ZeroDivisionError|IndexError|KeyError|ValueError|RecursionError|NotImplementedError|ArithmeticError|OverflowError|LookupError|StopIteration|UnicodeDecodeError|UnicodeEncodeError|UnicodeError|JSONDecodeError)$"),
        cause: "the code raised an exception: a bug in the code or in the test",
        advice: Some("fix the {exception} raised at {at}"),
        ..NONE
    },
    Builtin {
        name: "rust-bug",
        category: Code,
        nature: Deterministic,
        confidence: 0.85,
        message: Some(r"index out of bounds|called `Option::unwrap\(\)` on a `None` value|attempt to (?:add|subtract|multiply|divide|negate|shift)[\w ]* overflow|divide by zero|slice index|byte index|RefCell already|not yet implemented|internal error: entered unreachable code"),
        cause: "the code panicked: a bug in the code or in the test",
        advice: Some("fix the panic at {at}"),
        ..NONE
    },
    Builtin {
        name: "pytest-fail",
        category: Assertion,
        nature: Deterministic,
        confidence: 0.7,
        exception: Some(r"(?:^|\.)Failed$"),
        cause: "the test failed itself (`pytest.fail`)",
        ..NONE
    },
    Builtin {
        name: "unknown",
        cause: "no rule recognises this failure",
        advice: Some("add a `[[diagnose.rules]]` entry to vigil.toml once you know what it means"),
        ..NONE
    },
];

/// The table, compiled once.
pub static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|b| compile("builtin", &spec(b)).unwrap_or_else(|e| panic!("built-in rule: {e}")))
        .collect()
});

fn spec(b: &Builtin) -> RuleSpec {
    let own = |s: Option<&str>| s.map(str::to_string);
    RuleSpec {
        name: b.name.to_string(),
        category: Some(b.category),
        nature: Some(b.nature),
        confidence: Some(b.confidence),
        exception: own(b.exception),
        message: own(b.message),
        trace: own(b.trace),
        outcome: b.outcome,
        cause: Some(b.cause.to_string()),
        advice: own(b.advice),
    }
}
