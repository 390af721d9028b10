//! File selectors (RFC 5547).
