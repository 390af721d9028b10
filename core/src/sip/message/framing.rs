//! Message framing on stream transports (TCP, TLS, RFC 3261 §18.3) and the
//! size limits that keep a hostile peer from exhausting memory.

use super::error::ParseError;
use super::scan;

/// Size limits enforced by [`frame`] and by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line, headers and body) accepted, in bytes.
    pub max_message_size: usize,
    /// Most header fields accepted (a folded header counts once).
    pub max_headers: usize,
    /// Longest start line or header field (after unfolding), in bytes.
    pub max_header_line: usize,
}

impl Default for Limits {
    /// 64 KiB messages, 256 headers, 8 KiB per header field.
    fn default() -> Limits {
        Limits { max_message_size: 64 * 1024, max_headers: 256, max_header_line: 8 * 1024 }
    }
}

/// What [`frame`] found at the start of a stream buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// More bytes are needed.
    Incomplete,
    /// A whole message occupies the first `len` bytes; parse them with
    /// [`parse_with`](super::parse_with) and drop them from the buffer.
    Complete {
        /// Length of the message, body included.
        len: usize,
    },
    /// Keep-alive bytes (RFC 5626 §4.4.1) occupy the first `len` bytes:
    /// 4 for a `CRLFCRLF` ping (answer with a `CRLF` pong), 2 for a `CRLF`
    /// pong, 1 for a stray LF. Drop them.
    KeepAlive {
        /// Number of bytes to drop.
        len: usize,
    },
    /// The stream cannot be framed (a limit is exceeded or Content-Length
    /// is unusable); answer 400 or 513 where possible and close the
    /// connection.
    Error(ParseError),
}

/// Finds the first message (or keep-alive) in the bytes received so far on
/// a stream connection. The end of the header section is the first empty
/// line; the body length is the Content-Length header (compact `l` too;
/// absent means 0). Call it again after every read until it returns
/// something else than [`Framing::Incomplete`]. A `CRLF` directly followed
/// by `CR` waits for the fourth byte of a ping. Never panics; allocates
/// nothing unless it reports an error.
pub fn frame(buf: &[u8], limits: &Limits) -> Framing {
    match buf {
        [] | [b'\r'] | [b'\r', b'\n', b'\r'] => return Framing::Incomplete,
        [b'\r', b'\n', b'\r', b'\n', ..] => return Framing::KeepAlive { len: 4 },
        [b'\r', b'\n', ..] => return Framing::KeepAlive { len: 2 },
        [b'\n', ..] => return Framing::KeepAlive { len: 1 },
        [b'\r', ..] => return Framing::Error(ParseError::BareCr { line: 1 }),
        _ => {}
    }
    let mut line_start = 0;
    let mut line = 0usize;
    let mut fields = 0usize;
    let mut content_length: Option<usize> = None;
    // The value span (start, end) and line of a Content-Length header
    // whose continuation lines may still follow.
    let mut pending: Option<(usize, usize, usize)> = None;
    let body_start = loop {
        let Some(off) = memchr::memchr(b'\n', &buf[line_start..]) else {
            if buf.len() - line_start > limits.max_header_line {
                return Framing::Error(ParseError::LineTooLong { line: line + 1, limit: limits.max_header_line });
            }
            if buf.len() > limits.max_message_size {
                return Framing::Error(ParseError::TooLarge { size: buf.len(), limit: limits.max_message_size });
            }
            return Framing::Incomplete;
        };
        line += 1;
        if off > limits.max_header_line + 1 {
            return Framing::Error(ParseError::LineTooLong { line, limit: limits.max_header_line });
        }
        let lf = line_start + off;
        let continuation = line > 1 && matches!(buf[line_start], b' ' | b'\t');
        if continuation {
            if let Some(p) = pending.as_mut() {
                p.1 = lf;
            }
        } else {
            if let Err(e) = finish_length(buf, pending.take(), &mut content_length) {
                return Framing::Error(e);
            }
            if line > 1 {
                fields += 1;
                if fields > limits.max_headers {
                    return Framing::Error(ParseError::TooManyHeaders { limit: limits.max_headers });
                }
                pending = content_length_start(buf, line_start, lf).map(|start| (start, lf, line));
            }
        }
        let next = lf + 1;
        let end = match (buf.get(next), buf.get(next + 1)) {
            (Some(b'\n'), _) => Some(next + 1),
            (Some(b'\r'), Some(b'\n')) => Some(next + 2),
            _ => None,
        };
        if let Some(end) = end {
            if let Err(e) = finish_length(buf, pending.take(), &mut content_length) {
                return Framing::Error(e);
            }
            break end;
        }
        if next >= limits.max_message_size {
            return Framing::Error(ParseError::TooLarge { size: next, limit: limits.max_message_size });
        }
        line_start = next;
    };
    let total = body_start.saturating_add(content_length.unwrap_or(0));
    if total > limits.max_message_size {
        return Framing::Error(ParseError::TooLarge { size: total, limit: limits.max_message_size });
    }
    if buf.len() < total { Framing::Incomplete } else { Framing::Complete { len: total } }
}

/// When the line `buf[start..lf]` is a Content-Length header (full or
/// compact name, any case), where its value starts.
fn content_length_start(buf: &[u8], start: usize, lf: usize) -> Option<usize> {
    let line = &buf[start..lf];
    let colon = memchr::memchr(b':', line)?;
    let mut name = &line[..colon];
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    (name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")).then_some(start + colon + 1)
}

/// Reads the value of a finished Content-Length header (folds included)
/// and checks it agrees with an earlier one.
fn finish_length(
    buf: &[u8],
    pending: Option<(usize, usize, usize)>,
    content_length: &mut Option<usize>,
) -> Result<(), ParseError> {
    let Some((start, end, line)) = pending else {
        return Ok(());
    };
    let mut value = &buf[start..end];
    while let [first, rest @ ..] = value
        && scan::is_lws(*first)
    {
        value = rest;
    }
    while let [rest @ .., last] = value
        && scan::is_lws(*last)
    {
        value = rest;
    }
    let error = |reason| ParseError::Header { line, name: "Content-Length".into(), reason };
    let n = scan::parse_u32(value).map(|v| v as usize).ok_or_else(|| error("not a number below 2^32"))?;
    if content_length.is_some_and(|prev| prev != n) {
        return Err(error("conflicting Content-Length values"));
    }
    *content_length = Some(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits { max_message_size: 64 * 1024, max_headers: 256, max_header_line: 8 * 1024 };

    #[test]
    fn keep_alives() {
        assert_eq!(frame(b"", &L), Framing::Incomplete);
        assert_eq!(frame(b"\r", &L), Framing::Incomplete);
        assert_eq!(frame(b"\r\n", &L), Framing::KeepAlive { len: 2 });
        assert_eq!(frame(b"\r\n\r", &L), Framing::Incomplete);
        assert_eq!(frame(b"\r\n\r\n", &L), Framing::KeepAlive { len: 4 });
        assert_eq!(frame(b"\r\nINVITE", &L), Framing::KeepAlive { len: 2 });
        assert_eq!(frame(b"\n", &L), Framing::KeepAlive { len: 1 });
        assert!(matches!(frame(b"\rX", &L), Framing::Error(_)));
    }

    #[test]
    fn messages() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";
        for cut in 0..msg.len() {
            assert_eq!(frame(&msg[..cut], &L), Framing::Incomplete, "cut at {cut}");
        }
        assert_eq!(frame(msg, &L), Framing::Complete { len: msg.len() });
        let mut two = msg.to_vec();
        two.extend_from_slice(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n");
        assert_eq!(frame(&two, &L), Framing::Complete { len: msg.len() });
        assert_eq!(frame(b"OPTIONS sip:a@b SIP/2.0\r\n\r\nX", &L), Framing::Complete { len: 27 });
        let folded = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length :\r\n 2\r\nX: a\r\n b\r\n\r\nab";
        assert_eq!(frame(folded, &L), Framing::Complete { len: folded.len() });
        assert_eq!(frame(&folded[..folded.len() - 1], &L), Framing::Incomplete);
        let spaced = b"OPTIONS sip:a@b SIP/2.0\r\nCONTENT-LENGTH :  2 \r\n\r\nab";
        assert_eq!(frame(spaced, &L), Framing::Complete { len: spaced.len() });
        let lf = b"OPTIONS sip:a@b SIP/2.0\nl: 1\n\nZ";
        assert_eq!(frame(lf, &L), Framing::Complete { len: lf.len() });
    }

    #[test]
    fn errors() {
        assert!(matches!(frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n", &L), Framing::Error(_)));
        assert!(matches!(frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\n", &L), Framing::Error(_)));
        assert_eq!(frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\nl: 0\r\n\r\n", &L), Framing::Complete { len: 39 });
        assert!(matches!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 99999999\r\n\r\n", &L),
            Framing::Error(ParseError::TooLarge { .. })
        ));
        let small = Limits { max_message_size: 60, max_headers: 2, max_header_line: 30 };
        assert!(matches!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n", &small),
            Framing::Error(ParseError::TooManyHeaders { .. })
        ));
        assert!(matches!(frame(&[b'A'; 31], &small), Framing::Error(ParseError::LineTooLong { .. })));
        let mut long = b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec();
        long.extend_from_slice(&b"X: 123456789\r\n".repeat(3));
        let big = Limits { max_headers: 100, ..small };
        assert!(matches!(frame(&long, &big), Framing::Error(ParseError::TooLarge { .. })));
    }
}
