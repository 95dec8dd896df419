//! Line and column numbers of byte offsets, by Python's line endings.

use ruff_text_size::TextSize;

/// Byte offsets of line starts, for 1-based line and column numbers.
pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            // Python ends lines at "\n", "\r\n" and a lone "\r".
            let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if ends_line {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    pub(super) fn line(&self, offset: TextSize) -> u32 {
        let offset = offset.to_usize();
        let line = self.starts.partition_point(|&start| start <= offset);
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    pub(super) fn line_col(&self, source: &str, offset: TextSize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[(line as usize).saturating_sub(1)];
        let chars = source
            .get(start..offset.to_usize())
            .map_or(0, |s| s.chars().count());
        (line, u32::try_from(chars + 1).unwrap_or(u32::MAX))
    }
}
