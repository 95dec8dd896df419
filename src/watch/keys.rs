//! The keys `vigil watch` answers to, read on a thread of their own: single key presses on a
//! terminal (the `console` crate's raw read), whole lines otherwise, so a script or a test can
//! drive the process through a pipe (`a\n`, `f\n`, `\n`, `q\n`). The end of a piped stdin is
//! not a request to quit: CI runs have no stdin at all.

use std::io::{BufRead, IsTerminal};
use std::sync::mpsc::Sender;

use super::watch_loop::Input;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `a`: run every test.
    All,
    /// `f`: run the tests that are failing now.
    Failed,
    /// Enter: run the last selection again.
    Rerun,
    /// `q`.
    Quit,
}

/// One line of piped input.
pub fn parse_line(line: &str) -> Option<Key> {
    match line.trim() {
        "" => Some(Key::Rerun),
        other => parse_char(
            other
                .chars()
                .next()
                .filter(|_| other.chars().count() == 1)?,
        ),
    }
}

fn parse_char(c: char) -> Option<Key> {
    match c.to_ascii_lowercase() {
        'a' => Some(Key::All),
        'f' => Some(Key::Failed),
        'q' => Some(Key::Quit),
        _ => None,
    }
}

fn from_console(key: console::Key) -> Option<Key> {
    match key {
        console::Key::Enter => Some(Key::Rerun),
        console::Key::Char(c) => parse_char(c),
        _ => None,
    }
}

/// Restores the terminal's settings when dropped: the key thread may be blocked in a raw read
/// when vigil quits, and must not leave the shell without echo.
pub struct KeyInput {
    saved: Option<libc::termios>,
}

impl Drop for KeyInput {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // SAFETY: fd 0 is the terminal the settings were read from; `saved` is a valid termios.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
}

/// console reads keys only through a `Term` whose own stream is a terminal.
fn key_term() -> Option<console::Term> {
    [console::Term::stdout(), console::Term::stderr()]
        .into_iter()
        .find(|t| t.is_term())
}

/// Starts the thread that sends [`Input::Key`]s.
pub fn spawn(tx: Sender<Input>) -> KeyInput {
    match key_term().filter(|_| std::io::stdin().is_terminal()) {
        Some(term) => {
            let saved = saved_termios();
            std::thread::spawn(move || read_keys(&term, &tx));
            KeyInput { saved }
        }
        None => {
            std::thread::spawn(move || read_lines(&tx));
            KeyInput { saved: None }
        }
    }
}

fn read_keys(term: &console::Term, tx: &Sender<Input>) {
    // Ctrl-C arrives as a byte in raw mode; console raises SIGINT for it, which quits.
    while let Ok(key) = term.read_key() {
        if let Some(key) = from_console(key) {
            if tx.send(Input::Key(key)).is_err() {
                return;
            }
        }
    }
}

fn read_lines(tx: &Sender<Input>) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        if let Some(key) = parse_line(&line) {
            if tx.send(Input::Key(key)).is_err() {
                return;
            }
        }
    }
    // End of input: keep watching; only `q`, Ctrl-C or SIGTERM quit.
}

fn saved_termios() -> Option<libc::termios> {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the struct when it returns 0; it is read only then.
    let ok = unsafe { libc::tcgetattr(0, termios.as_mut_ptr()) } == 0;
    ok.then(|| unsafe { termios.assume_init() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_map_to_keys() {
        assert_eq!(parse_line("a\n"), Some(Key::All));
        assert_eq!(parse_line("F"), Some(Key::Failed));
        assert_eq!(parse_line("\n"), Some(Key::Rerun));
        assert_eq!(parse_line("  "), Some(Key::Rerun));
        assert_eq!(parse_line("q\r\n"), Some(Key::Quit));
        assert_eq!(parse_line("quit"), None);
        assert_eq!(parse_line("x"), None);
    }

    #[test]
    fn key_presses_map_to_keys() {
        assert_eq!(from_console(console::Key::Enter), Some(Key::Rerun));
        assert_eq!(from_console(console::Key::Char('a')), Some(Key::All));
        assert_eq!(from_console(console::Key::Char('q')), Some(Key::Quit));
        assert_eq!(from_console(console::Key::ArrowUp), None);
    }
}
