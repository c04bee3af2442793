//! The default of `--max-connections`.

/// The default cap never goes above this, however many descriptors the process may open.
const MOST: usize = 10_000;

/// `--max-connections` when not given: half the open-file limit, at most 10,000. Every
/// connection costs a descriptor; the other half is left for the device port, the state files
/// and the short-lived over-cap connections that keep `/server/health` reachable.
pub(super) fn default_max_connections() -> usize {
    match open_file_limit() {
        Some(limit) => (limit / 2).clamp(1, MOST),
        None => MOST,
    }
}

/// The soft limit on open files, or `None` when unlimited or unknown.
pub(super) fn open_file_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        limit
            .current
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_half_the_descriptors_free() {
        let cap = default_max_connections();
        assert!((1..=MOST).contains(&cap));
        if let Some(limit) = open_file_limit() {
            assert!(cap <= limit / 2 || limit < 2, "{cap} of {limit}");
        }
    }
}
