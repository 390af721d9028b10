//! MSRP messages (RFC 4975).
