//! [`ByteRanges`]: which bytes of a message or file are there (received,
//! confirmed, written), as sorted, merged half-open ranges.

/// Half-open byte ranges `[start, end)`, sorted and merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByteRanges(Vec<(u64, u64)>);

impl ByteRanges {
    /// The ranges `[start, end)` given, merged.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u64, u64)>) -> ByteRanges {
        let mut set = ByteRanges::default();
        for (start, end) in ranges {
            set.insert(start, end);
        }
        set
    }

    /// Adds `[start, end)`.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        let mut merged = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(s, e) in &self.0 {
            if e < start {
                merged.push((s, e));
            } else if s > end {
                if !placed {
                    merged.push((start, end));
                    placed = true;
                }
                merged.push((s, e));
            } else {
                start = start.min(s);
                end = end.max(e);
            }
        }
        if !placed {
            merged.push((start, end));
        }
        self.0 = merged;
    }

    /// Whether `[start, end)` is covered.
    pub fn covers_range(&self, start: u64, end: u64) -> bool {
        start >= end || self.0.iter().any(|&(s, e)| s <= start && e >= end)
    }

    /// The end of the covered run that contains `from` (`from` when none
    /// does).
    pub fn run_end(&self, from: u64) -> u64 {
        self.0.iter().find(|&&(s, e)| s <= from && e >= from).map_or(from, |&(_, e)| e)
    }

    /// How many bytes are there without a gap from byte 0.
    pub fn contiguous(&self) -> u64 {
        match self.0.first() {
            Some(&(0, end)) => end,
            _ => 0,
        }
    }

    /// Whether no byte is there.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The end of the last range (0 when empty).
    pub fn end(&self) -> u64 {
        self.0.last().map_or(0, |&(_, end)| end)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRanges;

    #[test]
    fn ranges_merge_and_answer_coverage() {
        let mut ranges = ByteRanges::default();
        ranges.insert(10, 20);
        ranges.insert(0, 5);
        ranges.insert(5, 10);
        ranges.insert(30, 40);
        assert_eq!(ranges, ByteRanges::from_ranges([(0, 20), (30, 40)]));
        assert!(ranges.covers_range(2, 18) && !ranges.covers_range(15, 35));
        assert_eq!((ranges.run_end(3), ranges.run_end(25)), (20, 25));
        assert_eq!((ranges.contiguous(), ranges.end()), (20, 40));
        ranges.insert(15, 35);
        assert_eq!(ranges, ByteRanges::from_ranges([(0, 40)]));
        assert!(ByteRanges::default().covers_range(0, 0) && ByteRanges::default().is_empty());
    }
}
