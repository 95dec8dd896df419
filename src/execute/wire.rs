//! The plugin's wire protocol: one JSON object per line, tagged by `ev`.
//! `vigil_plugin.py` is the writer; keep the two in step (and bump `protocol` on breaking change).

use serde::Deserialize;

use crate::events::Marker;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum WireEvent {
    Hello {
        protocol: u32,
        pid: u32,
        pytest: String,
        rootdir: String,
    },
    CollectError {
        nodeid: String,
        longrepr: String,
    },
    CollectSkip {
        nodeid: String,
        reason: WireSkip,
    },
    /// A chunk of collected items, in collection order.
    Collected {
        items: Vec<WireItem>,
    },
    CollectionDone {
        count: usize,
    },
    TestStart {
        nodeid: String,
    },
    TestDone {
        nodeid: String,
        phases: Vec<WirePhase>,
        #[serde(default)]
        sections: Vec<(String, String)>,
    },
    SessionFinish {
        exitstatus: i32,
    },
    /// Something the user should know that is not a test result (the worker is leaving early).
    Notice {
        message: String,
    },
    /// The plugin found the run cannot go on as asked (a dependency cycle).
    UsageError {
        message: String,
    },
}

/// One collected test.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WireItem {
    pub nodeid: String,
    pub file: String,
    pub line: Option<u32>,
    #[serde(default)]
    pub markers: Vec<Marker>,
    /// The tier the plugin placed the test in (absent when vigil sent no plan).
    pub tier: Option<String>,
    /// Why vigil's plan skips it before it runs (gate, capability).
    pub skip: Option<String>,
    /// The `depends` names it waits for.
    #[serde(default)]
    pub after: Vec<String>,
}

/// One of setup / call / teardown, as pytest's `TestReport` has it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WirePhase {
    pub when: String,
    pub outcome: String,
    #[serde(default)]
    pub duration: f64,
    pub wasxfail: Option<String>,
    pub reason: Option<WireSkip>,
    pub longrepr: Option<String>,
    pub crash: Option<WireCrash>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WireSkip {
    pub path: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WireCrash {
    pub path: String,
    pub line: Option<u32>,
    pub message: String,
}

/// How every line the plugin writes starts (`json.dumps` of a dict whose first key is `ev`).
const EVENT_START: &str = "{\"ev\": ";

/// Characters of a bad line quoted in its report.
const EXCERPT: usize = 120;

/// Parses one line; the error keeps the line's start so a bad line can be reported.
pub fn parse(line: &str) -> Result<WireEvent, String> {
    serde_json::from_str(line).map_err(|e| {
        format!(
            "malformed event from the pytest plugin ({e}): {}",
            excerpt(line)
        )
    })
}

/// Parses one line of the event pipe into what it holds, in order. A test that writes to the
/// event fd without a newline glues its bytes to the front of the plugin's next line: that
/// event is still read (from its `{"ev": ` on, which cannot occur inside a JSON string),
/// after an error for the bytes before it, so the test it reports is not lost.
pub fn parse_line(line: &str) -> Vec<Result<WireEvent, String>> {
    let error = match parse(line) {
        Ok(event) => return vec![Ok(event)],
        Err(error) => error,
    };
    let Some(at) = line.rfind(EVENT_START).filter(|at| *at > 0) else {
        return vec![Err(error)];
    };
    match parse(&line[at..]) {
        Ok(event) => vec![
            Err(format!(
                "{at} bytes that are not an event came before the pytest plugin's next event \
                 (something else wrote to its event fd): {}",
                excerpt(&line[..at])
            )),
            Ok(event),
        ],
        Err(_) => vec![Err(error)],
    }
}

/// The start of a bad line, control characters escaped so it prints as one harmless line.
fn excerpt(line: &str) -> String {
    let mut out = String::new();
    for c in line.chars().take(EXCERPT) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if line.chars().nth(EXCERPT).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_test_done_line() {
        let line = r#"{"ev":"test_done","nodeid":"t.py::a","phases":[{"when":"call","outcome":"failed","duration":0.5,"longrepr":"E x","crash":{"path":"/r/t.py","line":3,"message":"AssertionError"}}],"sections":[["Captured stdout call","hi\n"]]}"#;
        let WireEvent::TestDone {
            nodeid,
            phases,
            sections,
        } = parse(line).unwrap()
        else {
            panic!("wrong kind")
        };
        assert_eq!(nodeid, "t.py::a");
        assert_eq!(phases[0].crash.as_ref().unwrap().line, Some(3));
        assert_eq!(sections[0].1, "hi\n");
    }

    #[test]
    fn a_malformed_line_is_an_error_not_a_panic() {
        assert!(parse("{\"ev\":\"nope\"}")
            .unwrap_err()
            .contains("malformed event"));
        assert!(parse("not json").is_err());
    }

    #[test]
    fn an_event_glued_to_junk_is_still_read() {
        let line = "junk\x1b[2J{\"ev\": \"test_start\", \"nodeid\": \"t.py::a\"}";
        let parsed = parse_line(line);
        let [Err(junk), Ok(WireEvent::TestStart { nodeid })] = &parsed[..] else {
            panic!("{parsed:?}");
        };
        assert_eq!(nodeid, "t.py::a");
        assert!(junk.contains("junk\\u{1b}[2J"), "{junk}");
        assert_eq!(parse_line("{\"ev\": \"nope\"}").len(), 1);
        assert_eq!(parse_line("x{\"ev\": \"nope\"}").len(), 1);
    }
}
