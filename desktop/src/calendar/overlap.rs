//! Events that overlap in time are laid side by side, each in a column of
//! its cluster (a run of events that overlap one another transitively), so
//! none hides another.

/// Where one event goes across its day column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane {
    /// Its column within the cluster, from the left.
    pub index: usize,
    /// How many columns the cluster has.
    pub count: usize,
}

impl Lane {
    /// The horizontal span `[left, right)` as fractions of the day column.
    pub fn span(self) -> (f32, f32) {
        let width = 1.0 / self.count as f32;
        (self.index as f32 * width, (self.index + 1) as f32 * width)
    }
}

/// Lays out `[start, end)` intervals (any unit, one day's events): returns a
/// lane per interval, in the order given. Earlier events go left; among
/// events starting together the longer one goes left. Zero-length events
/// are treated as `min_len` long so they still get their own room.
pub fn lanes(intervals: &[(i64, i64)], min_len: i64) -> Vec<Lane> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    let span = |i: usize| {
        let (s, e) = intervals[i];
        (s, e.max(s + min_len))
    };
    order.sort_by_key(|&i| {
        let (s, e) = span(i);
        (s, std::cmp::Reverse(e), i)
    });
    let mut result = vec![Lane { index: 0, count: 1 }; intervals.len()];
    // The current cluster: its members, the end of each column, its end.
    let mut cluster: Vec<usize> = Vec::new();
    let mut column_ends: Vec<i64> = Vec::new();
    let mut cluster_end = i64::MIN;
    let close = |cluster: &mut Vec<usize>, columns: usize, result: &mut Vec<Lane>| {
        for &i in cluster.iter() {
            result[i].count = columns;
        }
        cluster.clear();
    };
    for i in order {
        let (s, e) = span(i);
        if s >= cluster_end && !cluster.is_empty() {
            close(&mut cluster, column_ends.len(), &mut result);
            column_ends.clear();
        }
        let column = if let Some(c) = column_ends.iter().position(|&end| end <= s) {
            column_ends[c] = e;
            c
        } else {
            column_ends.push(e);
            column_ends.len() - 1
        };
        result[i].index = column;
        cluster.push(i);
        cluster_end = if cluster.len() == 1 {
            e
        } else {
            cluster_end.max(e)
        };
    }
    close(&mut cluster, column_ends.len(), &mut result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(index: usize, count: usize) -> Lane {
        Lane { index, count }
    }

    #[test]
    fn apart_events_take_the_full_width() {
        assert_eq!(
            lanes(&[(0, 60), (60, 120), (200, 260)], 15),
            vec![lane(0, 1), lane(0, 1), lane(0, 1)]
        );
    }

    #[test]
    fn two_overlapping_events_share_the_width() {
        assert_eq!(
            lanes(&[(30, 90), (0, 60)], 15),
            vec![lane(1, 2), lane(0, 2)]
        );
        assert_eq!(lane(1, 2).span(), (0.5, 1.0));
    }

    #[test]
    fn a_free_column_is_reused_within_a_cluster() {
        // A long event beside two that follow one another.
        assert_eq!(
            lanes(&[(0, 240), (0, 60), (60, 120), (300, 360)], 15),
            vec![lane(0, 2), lane(1, 2), lane(1, 2), lane(0, 1)]
        );
    }

    #[test]
    fn transitive_overlap_makes_one_cluster() {
        // a overlaps b, b overlaps c, a and c do not: c reuses a's column.
        let l = lanes(&[(0, 60), (30, 90), (70, 120)], 15);
        assert_eq!(l, vec![lane(0, 2), lane(1, 2), lane(0, 2)]);
    }

    #[test]
    fn three_at_once_and_zero_length() {
        let l = lanes(&[(0, 60), (0, 60), (10, 10)], 15);
        assert_eq!(l, vec![lane(0, 3), lane(1, 3), lane(2, 3)]);
        assert!(lanes(&[], 15).is_empty());
    }
}
