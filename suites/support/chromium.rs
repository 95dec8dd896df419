//! Headless Chromium for the suites: find it, screenshot a local page with it or dump the
//! document its scripts leave (with a hang guard), and read a PNG back as pixels a trial can
//! count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names Debian and other distributions install Chromium under.
const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// A browser that never exits is a broken environment, not a slow test: give up after this.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// The first Chromium on PATH.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Loads `page` in headless Chromium at `width`×`height` CSS pixels (device scale 1) and
/// writes a PNG screenshot to `png`.
pub fn screenshot(
    chromium: &Path,
    page: &Path,
    png: &Path,
    (width, height): (u32, u32),
) -> Result<(), String> {
    let args = [
        "--hide-scrollbars".to_string(),
        "--force-device-scale-factor=1".to_string(),
        format!("--screenshot={}", png.display()),
        format!("--window-size={width},{height}"),
    ];
    let (status, _, stderr) = headless(chromium, &args, page)?;
    if !status.success() || !png.is_file() {
        return Err(format!(
            "{} exited with {status} and wrote no screenshot:\n{stderr}",
            chromium.display()
        ));
    }
    Ok(())
}

/// Loads `page` in headless Chromium, lets its scripts and event handlers run for two
/// seconds of virtual time, and returns the document as it then is, serialized.
pub fn dump_dom(chromium: &Path, page: &Path) -> Result<String, String> {
    let args = [
        "--virtual-time-budget=2000".to_string(),
        "--dump-dom".to_string(),
    ];
    let (status, dom, stderr) = headless(chromium, &args, page)?;
    if !status.success() || !dom.contains("</html>") {
        return Err(format!(
            "{} exited with {status} and dumped no document:\n{stderr}",
            chromium.display()
        ));
    }
    Ok(dom)
}

/// Runs headless Chromium on `page` with `args`; its exit status, stdout and stderr.
fn headless(
    chromium: &Path,
    args: &[String],
    page: &Path,
) -> Result<(std::process::ExitStatus, String, String), String> {
    // A private profile: parallel trials (and a person's own browser) do not share a lock.
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", chromium.display()))?;
    // Read while it runs: a dumped document fills a pipe long before Chromium exits.
    let pipes = [
        child.stdout.take().map(read_all),
        child.stderr.take().map(read_all),
    ];
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} did not exit; killed it", chromium.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let [stdout, stderr] = pipes.map(|p| p.and_then(|h| h.join().ok()).unwrap_or_default());
    Ok((status, stdout, stderr))
}

fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// An RGB image, row by row.
pub struct Pixels {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[u8; 3]>,
}

impl Pixels {
    pub fn read(png_path: &Path) -> Result<Pixels, String> {
        let file = std::fs::File::open(png_path).map_err(|e| e.to_string())?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let size = reader
            .output_buffer_size()
            .ok_or("PNG too large to decode")?;
        let mut buffer = vec![0; size];
        let frame = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
        let channels = frame.color_type.samples();
        if channels < 3 {
            return Err(format!("a {:?} screenshot; want RGB", frame.color_type));
        }
        let rgb = buffer[..frame.buffer_size()]
            .chunks_exact(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Pixels {
            width: frame.width as usize,
            height: frame.height as usize,
            rgb,
        })
    }

    /// Pixels within `tolerance` (per channel) of a `#rrggbb` colour.
    pub fn count(&self, hex: &str, tolerance: u8) -> usize {
        let Some(want) = parse_hex(hex) else {
            return 0;
        };
        self.rgb
            .iter()
            .filter(|p| (0..3).all(|i| p[i].abs_diff(want[i]) <= tolerance))
            .count()
    }
}

fn parse_hex(hex: &str) -> Option<[u8; 3]> {
    let hex = hex.strip_prefix('#')?;
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}
