//! Is-composing indications (RFC 3994).
