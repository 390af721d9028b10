//! SDP (RFC 4566/8866) with a typed attribute layer, and the offer/answer
//! model (RFC 3264) sessions negotiate their streams with.
