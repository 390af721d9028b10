//! CPIM messages (RFC 3862).
