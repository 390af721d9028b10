//! The configuration file format of the original middleware's `FileBackend`.
//!
//! The format is indentation based:
//!
//! ```text
//! # a comment
//! Accounts:
//!     alice@example.com:
//!         enabled = true
//!         display_name = "Alice Liddell"
//!         auth:
//!             password = "se,cret"
//! SIPSimpleSettings:
//!     default_account = alice@example.com
//!     rtp:
//!         audio_codec_list = opus, G722, PCMU
//! ```
//!
//! * `name:` alone on a line opens a group; its children follow on lines
//!   indented deeper than the header (any consistent amount; the writer uses
//!   4 spaces per level). A header with nothing deeper after it is an empty
//!   group.
//! * `name = value` sets a scalar; `name =` with nothing after the `=` is
//!   `None` ([`ConfigNode::Scalar(None)`](super::ConfigNode::Scalar)).
//! * A value with an unquoted comma is a list: `x = a, b, c`. A one-element
//!   list is written with a trailing comma (`x = a,`), and the empty list is
//!   written as a lone comma (`x = ,`). (The original wrote an empty list as an
//!   empty value, which read back as `None`; `,` keeps the two apart and
//!   round-trips.) When reading, one trailing comma is dropped; any other empty
//!   list item is an error (an empty string item is written `""`).
//! * Values may be quoted with `"` or `'`; inside quotes `\\`, `\"`, `\'`,
//!   `\n`, `\r` and `\t` are escapes and any other backslash sequence is an
//!   error. The writer quotes (with `"`) every value that is empty or contains
//!   whitespace or any of `, " ' = : # \`, so e.g.
//!   `proxy.example.com:5061;transport=tls` is written quoted, although the
//!   reader accepts it unquoted: only the first `=` of a line splits the name
//!   from the value. An unquoted value is the trimmed text up to the first
//!   comma or `#`; a quote character inside an unquoted value is an error.
//! * `#` outside quotes starts a comment, on its own line or after a value.
//!   Blank lines are ignored, and so is a byte order mark at the start.
//! * A name is the trimmed text before the first `=` or `:`; it must be
//!   non-empty and contain neither whitespace nor any of `, " ' = : # \`.
//!   As an extension (the original could not store such names at all), a name
//!   may also be written as a quoted string, which the writer does for names
//!   that are not valid bare names, so that every tree round-trips.
//!
//! The writer emits, in each group, the scalars and lists first (sorted by
//! name), then the sub-groups (sorted by name), each followed by a blank line
//! (consecutive blank lines are collapsed into one).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::{ConfigNode, ConfigTree};

/// Groups nested deeper than this are rejected, so that a hostile file cannot
/// build a tree deep enough to overflow the stack when it is dropped or
/// written.
const MAX_DEPTH: usize = 128;

/// The characters that make a value need quoting, and that a bare name must
/// not contain (besides whitespace).
const SPECIAL: &[char] = &[',', '"', '\'', '=', ':', '#', '\\'];

/// A parse error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for FormatError {}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// A group being read: its entries so far and where its children sit.
struct Frame {
    /// The group's name in its parent (empty for the root).
    name: String,
    /// The entries read so far.
    tree: ConfigTree,
    /// Indentation of the group's header line (unused for the root).
    header_indent: usize,
    /// Indentation of the group's children, once the first one was seen.
    child_indent: Option<usize>,
}

/// One comma-separated piece of a value.
enum Item {
    /// A quoted string (possibly empty).
    Quoted(String),
    /// Unquoted text, trimmed (possibly empty).
    Bare(String),
}

/// Parses the text of a configuration file.
///
/// # Errors
///
/// A [`FormatError`] with the 1-based line of the first problem: bad
/// indentation, a malformed name, value or quoted string, a duplicate entry,
/// or groups nested too deeply.
pub fn parse(text: &str) -> Result<ConfigTree, FormatError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut stack = vec![Frame { name: String::new(), tree: ConfigTree::new(), header_indent: 0, child_indent: None }];

    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let err = |message: String| FormatError { line: line_no, message };

        let content = raw.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();

        // Find the group this line belongs to.
        loop {
            let depth = stack.len();
            let Some(top) = stack.last_mut() else {
                return Err(err("internal error: no open group".into()));
            };
            match top.child_indent {
                None if depth == 1 => {
                    // The first line of the file fixes the top level.
                    top.child_indent = Some(indent);
                    break;
                }
                None if indent > top.header_indent => {
                    top.child_indent = Some(indent);
                    break;
                }
                // Not deeper than the header just read: that group is empty.
                None => close_group(&mut stack, line_no)?,
                Some(level) if indent == level => break,
                Some(level) if indent > level => {
                    return Err(err(
                        "unexpected indentation: only the lines after a group header (`name:`) may be indented deeper"
                            .into(),
                    ));
                }
                Some(_) if depth == 1 => {
                    return Err(err("indentation is less than that of the first line of the file".into()));
                }
                Some(_) => {
                    close_group(&mut stack, line_no)?;
                    if let Some(Frame { child_indent: Some(outer), .. }) = stack.last()
                        && indent > *outer
                    {
                        return Err(err("the indentation does not match any enclosing group's level".into()));
                    }
                }
            }
        }

        let (name, rest) = parse_name(content).map_err(err)?;
        let Some(top) = stack.last_mut() else {
            return Err(err("internal error: no open group".into()));
        };
        if top.tree.contains_key(&name) {
            return Err(err(format!("duplicate entry {name:?} in this group")));
        }
        match rest {
            Rest::Group(after) => {
                let after = after.trim_start();
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(err(format!(
                        "unexpected text after the group header `{}:` (a group's settings go on the following, \
                         more indented lines; use `=` to set a value)",
                        display_name(&name)
                    )));
                }
                if stack.len() > MAX_DEPTH {
                    return Err(err(format!("groups are nested more than {MAX_DEPTH} levels deep")));
                }
                stack.push(Frame { name, tree: ConfigTree::new(), header_indent: indent, child_indent: None });
            }
            Rest::Value(value) => {
                let node = parse_value(value).map_err(err)?;
                top.tree.insert(name, node);
            }
        }
    }

    let last_line = text.lines().count().max(1);
    while stack.len() > 1 {
        close_group(&mut stack, last_line)?;
    }
    match stack.pop() {
        Some(root) => Ok(root.tree),
        None => Err(FormatError { line: last_line, message: "internal error: no open group".into() }),
    }
}

/// Pops the innermost group and stores it in its parent.
fn close_group(stack: &mut Vec<Frame>, line: usize) -> Result<(), FormatError> {
    let internal = || FormatError { line, message: "internal error: unbalanced groups".into() };
    let frame = stack.pop().ok_or_else(internal)?;
    let parent = stack.last_mut().ok_or_else(internal)?;
    parent.tree.insert(frame.name, ConfigNode::Group(frame.tree));
    Ok(())
}

/// What follows a line's name.
enum Rest<'a> {
    /// `name:` — the text after the colon.
    Group(&'a str),
    /// `name =` — the text after the equals sign.
    Value(&'a str),
}

/// Splits a (left-trimmed, non-empty, non-comment) line into its name and the
/// rest.
fn parse_name(content: &str) -> Result<(String, Rest<'_>), String> {
    let (name, rest) = if content.starts_with(['"', '\'']) {
        let (name, after) = parse_quoted(content)?;
        (name, after.trim_start())
    } else {
        let end = content.find(['=', ':', '#']).unwrap_or(content.len());
        let name = content[..end].trim();
        let rest = &content[end..];
        if name.is_empty() {
            return Err(match rest.chars().next() {
                Some(':') => "group header with no name".into(),
                Some('=') => "setting with no name before `=`".into(),
                _ => "expected `name = value` or `name:`".into(),
            });
        }
        if let Some(bad) = name.chars().find(|c| c.is_whitespace() || SPECIAL.contains(c)) {
            return Err(if bad.is_whitespace() && !rest.starts_with(['=', ':']) {
                format!("expected `=` or `:` after the name in {name:?}")
            } else {
                format!("invalid character {bad:?} in the name {name:?}")
            });
        }
        (name.to_owned(), rest)
    };
    if let Some(after) = rest.strip_prefix(':') {
        Ok((name, Rest::Group(after)))
    } else if let Some(after) = rest.strip_prefix('=') {
        Ok((name, Rest::Value(after)))
    } else {
        Err(format!("expected `=` or `:` after the name {name:?}"))
    }
}

/// Parses a quoted string at the start of `s` (which starts with `"` or `'`),
/// returning its value and the text after the closing quote.
fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Err("expected a quoted string".into());
    };
    let mut value = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, '\'')) => value.push('\''),
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, other)) => {
                    return Err(format!(
                        "invalid escape sequence \\{} in a quoted string (valid: \\\\ \\\" \\' \\n \\r \\t)",
                        other.escape_debug()
                    ));
                }
                None => return Err("unterminated quoted string (it ends with a backslash)".into()),
            },
            c if c == quote => {
                let rest = chars.as_str();
                return Ok((value, rest));
            }
            c => value.push(c),
        }
    }
    Err(format!("unterminated quoted string (missing closing {quote})"))
}

/// Parses the text after `=`.
fn parse_value(text: &str) -> Result<ConfigNode, String> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut commas = 0usize;
    loop {
        rest = rest.trim_start();
        if rest.starts_with(['"', '\'']) {
            let (value, after) = parse_quoted(rest)?;
            items.push(Item::Quoted(value));
            rest = after.trim_start();
            if !(rest.is_empty() || rest.starts_with([',', '#'])) {
                return Err("unexpected text after a closing quote (separate list items with commas)".into());
            }
        } else {
            let end = rest.find([',', '#']).unwrap_or(rest.len());
            let bare = rest[..end].trim();
            if let Some(q) = bare.chars().find(|c| *c == '"' || *c == '\'') {
                return Err(format!("unexpected {q} inside an unquoted value (quote the whole value instead)"));
            }
            items.push(Item::Bare(bare.to_owned()));
            rest = &rest[end..];
        }
        match rest.strip_prefix(',') {
            Some(after) => {
                commas += 1;
                rest = after;
            }
            None => break,
        }
    }

    if commas == 0 {
        return Ok(match items.pop() {
            Some(Item::Quoted(s)) => ConfigNode::Scalar(Some(s)),
            Some(Item::Bare(s)) if s.is_empty() => ConfigNode::Scalar(None),
            Some(Item::Bare(s)) => ConfigNode::Scalar(Some(s)),
            None => ConfigNode::Scalar(None),
        });
    }
    let is_empty_bare = |item: &Item| matches!(item, Item::Bare(s) if s.is_empty());
    if items.len() == 2 && items.iter().all(is_empty_bare) {
        // `x = ,` is the empty list.
        return Ok(ConfigNode::List(Vec::new()));
    }
    if items.last().is_some_and(is_empty_bare) {
        // One trailing comma is allowed (and is how one-element lists are written).
        items.pop();
    }
    let mut list = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Quoted(s) => list.push(s),
            Item::Bare(s) if s.is_empty() => {
                return Err("empty list item (write \"\" for an empty string)".into());
            }
            Item::Bare(s) => list.push(s),
        }
    }
    Ok(ConfigNode::List(list))
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Serializes a tree into the file format; [`parse`] reads the result back
/// into an equal tree.
pub fn serialize(tree: &ConfigTree) -> String {
    let mut out = String::new();
    write_group(&mut out, tree, 0);
    out
}

/// Writes the entries of one group at `depth`.
fn write_group(out: &mut String, tree: &ConfigTree, depth: usize) {
    let indent = "    ".repeat(depth);
    for (name, node) in tree {
        match node {
            ConfigNode::Group(_) => {}
            ConfigNode::Scalar(None) => {
                let _ = writeln!(out, "{indent}{} =", display_name(name));
            }
            ConfigNode::Scalar(Some(value)) => {
                let _ = writeln!(out, "{indent}{} = {}", display_name(name), quote_value(value));
            }
            ConfigNode::List(items) => {
                let value = match items.as_slice() {
                    [] => ",".to_owned(),
                    [one] => format!("{},", quote_value(one)),
                    many => many.iter().map(|s| quote_value(s)).collect::<Vec<_>>().join(", "),
                };
                let _ = writeln!(out, "{indent}{} = {value}", display_name(name));
            }
        }
    }
    for (name, node) in tree {
        if let ConfigNode::Group(children) = node {
            let _ = writeln!(out, "{indent}{}:", display_name(name));
            write_group(out, children, depth + 1);
            if !out.ends_with("\n\n") {
                out.push('\n');
            }
        }
    }
}

/// Whether a value must be quoted.
fn value_needs_quotes(value: &str) -> bool {
    value.is_empty() || value.chars().any(|c| c.is_whitespace() || SPECIAL.contains(&c))
}

/// A value as written: bare if possible, else double-quoted with escapes.
fn quote_value(value: &str) -> String {
    if value_needs_quotes(value) { quote(value) } else { value.to_owned() }
}

/// A name as written: bare if it is a valid bare name, else quoted.
fn display_name(name: &str) -> String {
    let needs_quotes = value_needs_quotes(name) || name.chars().any(|c| c.is_control() || c == '\u{feff}');
    if needs_quotes { quote(name) } else { name.to_owned() }
}

/// Double-quotes a string, escaping `\`, `"`, newline and carriage return.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------

/// Writes `bytes` to `path` atomically: the data goes to a temporary file
/// (`<file>.<pid>.<random>.tmp`, mode 0600 on unix) in the same directory,
/// which is fsynced and renamed over `path`; then the directory is fsynced.
/// The directory is created (mode 0700 on unix) if missing. On error the
/// temporary file is removed and `path` is left as it was.
///
/// # Errors
///
/// Any I/O error from creating the directory, writing, syncing or renaming
/// (a failure to fsync the directory afterwards is ignored).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{path:?} does not name a file"))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }

    let (tmp_path, mut file) = create_temp(dir, file_name)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(e);
    }

    // Make the rename durable. Opening or syncing a directory fails on some
    // platforms (Windows); the data itself is already safe then.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new, uniquely named temporary file next to the target.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let mut name = file_name.to_os_string();
        name.push(format!(".{pid}.{:016x}.tmp", rand::random::<u64>()));
        let tmp_path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&tmp_path) {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> ConfigNode {
        ConfigNode::Scalar(Some(v.to_owned()))
    }
    fn none() -> ConfigNode {
        ConfigNode::Scalar(None)
    }
    fn list(v: &[&str]) -> ConfigNode {
        ConfigNode::List(v.iter().map(|x| (*x).to_owned()).collect())
    }
    fn group(entries: Vec<(&str, ConfigNode)>) -> ConfigNode {
        ConfigNode::Group(tree(entries))
    }
    fn tree(entries: Vec<(&str, ConfigNode)>) -> ConfigTree {
        entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
    fn err_line(text: &str) -> usize {
        match parse(text) {
            Ok(t) => panic!("expected an error for {text:?}, got {t:?}"),
            Err(e) => e.line,
        }
    }
    fn err(text: &str) -> FormatError {
        match parse(text) {
            Ok(t) => panic!("expected an error for {text:?}, got {t:?}"),
            Err(e) => e,
        }
    }

    const SAMPLE: &str = "\
Accounts:
    alice@example.com:
        enabled = true
        auth:
            password = \"se,cret\"
        sip:
            outbound_proxy = proxy.example.com:5061;transport=tls
SIPSimpleSettings:
    default_account = alice@example.com
    rtp:
        audio_codec_list = opus, G722, PCMU
        port_range = 50000-50500
";

    fn sample_tree() -> ConfigTree {
        tree(vec![
            (
                "Accounts",
                group(vec![(
                    "alice@example.com",
                    group(vec![
                        ("enabled", s("true")),
                        ("auth", group(vec![("password", s("se,cret"))])),
                        ("sip", group(vec![("outbound_proxy", s("proxy.example.com:5061;transport=tls"))])),
                    ]),
                )]),
            ),
            (
                "SIPSimpleSettings",
                group(vec![
                    ("default_account", s("alice@example.com")),
                    (
                        "rtp",
                        group(vec![
                            ("audio_codec_list", list(&["opus", "G722", "PCMU"])),
                            ("port_range", s("50000-50500")),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    #[test]
    fn parses_realistic_sample() {
        assert_eq!(parse(SAMPLE).expect("sample parses"), sample_tree());
    }

    #[test]
    fn serializes_realistic_sample() {
        let expected = "\
Accounts:
    alice@example.com:
        enabled = true
        auth:
            password = \"se,cret\"

        sip:
            outbound_proxy = \"proxy.example.com:5061;transport=tls\"

SIPSimpleSettings:
    default_account = alice@example.com
    rtp:
        audio_codec_list = opus, G722, PCMU
        port_range = 50000-50500

";
        let text = serialize(&sample_tree());
        assert_eq!(text, expected);
        assert_eq!(parse(&text).expect("reparses"), sample_tree());
        assert_eq!(serialize(&parse(&text).expect("reparses")), text);
    }

    #[test]
    fn scalars_none_and_lists() {
        let text = "\
a =
b = \"\"
c = ,
d = x,
e = \"\",
f = x, y,
g = 'single \\'q\\' \"d\"'
h = \"tab\\there\\nnl\\rcr\\\\bs\"
i =    spaced   out   # comment
j = value#comment
k = \"a\" , 'b' ,c
";
        let t = parse(text).expect("parses");
        assert_eq!(
            t,
            tree(vec![
                ("a", none()),
                ("b", s("")),
                ("c", list(&[])),
                ("d", list(&["x"])),
                ("e", list(&[""])),
                ("f", list(&["x", "y"])),
                ("g", s("single 'q' \"d\"")),
                ("h", s("tab\there\nnl\rcr\\bs")),
                ("i", s("spaced   out")),
                ("j", s("value")),
                ("k", list(&["a", "b", "c"])),
            ])
        );
        let out = serialize(&t);
        assert!(out.contains("a =\n"), "{out}");
        assert!(out.contains("b = \"\"\n"), "{out}");
        assert!(out.contains("c = ,\n"), "{out}");
        assert!(out.contains("d = x,\n"), "{out}");
        assert!(out.contains("e = \"\",\n"), "{out}");
        assert_eq!(parse(&out).expect("reparses"), t);
    }

    #[test]
    fn comments_blank_lines_bom_crlf_and_tabs() {
        let text = "\u{feff}# header comment\r\n\r\nA:   # trailing\r\n\t# indented comment\r\n\tx = 1\r\n\r\n\tB:\r\n\t\ty = 2\r\nz = 3\r\n";
        assert_eq!(
            parse(text).expect("parses"),
            tree(vec![("A", group(vec![("x", s("1")), ("B", group(vec![("y", s("2"))]))])), ("z", s("3")),])
        );
    }

    #[test]
    fn empty_groups() {
        let text = "A:\nB:\n    C:\n    D:\n        E:\nF:\n";
        let t = parse(text).expect("parses");
        let empty = || group(vec![]);
        assert_eq!(
            t,
            tree(vec![
                ("A", empty()),
                ("B", group(vec![("C", empty()), ("D", group(vec![("E", empty())]))])),
                ("F", empty()),
            ])
        );
        assert_eq!(parse(&serialize(&t)).expect("reparses"), t);
        assert_eq!(parse("").expect("empty"), ConfigTree::new());
        assert_eq!(parse("\n\n  # nothing\n").expect("empty"), ConfigTree::new());
        assert_eq!(serialize(&ConfigTree::new()), "");
    }

    #[test]
    fn any_consistent_indentation() {
        let text = "A:\n  x = 1\n  B:\n         y = 2\n  z = 3\nw = 4\n";
        assert_eq!(
            parse(text).expect("parses"),
            tree(vec![
                ("A", group(vec![("x", s("1")), ("B", group(vec![("y", s("2"))])), ("z", s("3"))])),
                ("w", s("4")),
            ])
        );
        // The whole file may be indented.
        assert_eq!(parse("  a = 1\n  b = 2\n").expect("parses"), tree(vec![("a", s("1")), ("b", s("2"))]));
    }

    #[test]
    fn quoted_names_round_trip() {
        let t = tree(vec![
            ("has space", s("v")),
            ("", s("empty name")),
            ("a:b", group(vec![("c=d", list(&["x"]))])),
            ("\u{feff}bom", none()),
        ]);
        let text = serialize(&t);
        assert_eq!(parse(&text).expect("reparses"), t, "{text}");
    }

    #[test]
    fn error_line_numbers() {
        // Unterminated quote.
        assert_eq!(err_line("a = 1\nb = \"oops\nc = 2\n"), 2);
        // Bad escape.
        let e = err("a = 1\n\nb = \"x\\qy\"\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("escape"), "{}", e.message);
        // Missing `=` or `:`.
        let e = err("A:\n    x = 1\n    garbage here\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains('='), "{}", e.message);
        assert_eq!(err_line("just_a_word\n"), 1);
        // Bad indentation: deeper without a header.
        let e = err("A:\n    x = 1\n        y = 2\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("indentation"), "{}", e.message);
        assert_eq!(err_line("a = 1\n    b = 2\n"), 2);
        // Dedent to a level never opened.
        let e = err("A:\n        x = 1\n    y = 2\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("indentation"), "{}", e.message);
        // Dedent below the file's top level.
        assert_eq!(err_line("  a = 1\nb = 2\n"), 2);
        // Group header with no name.
        let e = err("a = 1\n:\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("no name"), "{}", e.message);
        assert_eq!(err_line("  = 3\n"), 1);
        // Duplicate keys, as scalars and as groups.
        let e = err("A:\n    x = 1\n    x = 2\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate"), "{}", e.message);
        assert_eq!(err_line("A:\n    x = 1\nB:\nA:\n"), 4);
        assert_eq!(err_line("A:\n    x = 1\nA = 2\n"), 3);
        assert_eq!(err_line("x = 1\nx:\n    y = 2\n"), 2);
        // A value after `name:`.
        let e = err("\n\nA: value\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("group header"), "{}", e.message);
        // Garbage.
        assert_eq!(err_line("a = \"x\" y\n"), 1);
        assert_eq!(err_line("a = b\"c\n"), 1);
        assert_eq!(err_line("a = x,,y\n"), 1);
        assert_eq!(err_line("a = ,x\n"), 1);
        assert_eq!(err_line("a b = c\n"), 1);
        assert_eq!(err_line("a\\b = c\n"), 1);
        assert_eq!(err_line("ok = 1\n# c\n\n\"unterminated name = 1\n"), 4);
        assert_eq!(err_line("a = \"trailing backslash\\"), 1);
    }

    #[test]
    fn nesting_depth_is_limited() {
        let mut text = String::new();
        for depth in 0..10_000 {
            text.push_str(&" ".repeat(depth));
            text.push_str("g:\n");
        }
        let e = err(&text);
        assert_eq!(e.line, MAX_DEPTH + 1);
        let mut ok = String::new();
        for depth in 0..MAX_DEPTH {
            ok.push_str(&" ".repeat(depth));
            ok.push_str("g:\n");
        }
        let t = parse(&ok).expect("parses");
        assert_eq!(parse(&serialize(&t)).expect("reparses"), t);
    }

    /// SplitMix64: a tiny deterministic generator for the property tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    const AWKWARD: &[&str] = &[
        ",",
        "\"",
        "'",
        "\\",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "#",
        "=",
        ":",
        " ",
        "  ",
        "a",
        "b",
        "Z",
        "0",
        "é",
        "☃",
        "𝄞",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "\u{0}",
        "\u{7f}",
        "\\n",
        "\\\"",
        "x,y",
        " lead",
        "trail ",
        "sip:a@b;x=y",
        "\\\\",
    ];

    fn awkward_string(rng: &mut Rng) -> String {
        let len = rng.pick(&[0usize, 0, 1, 1, 2, 3, 5, 8]);
        (0..len).map(|_| rng.pick(AWKWARD)).collect()
    }

    fn random_name(rng: &mut Rng) -> String {
        if rng.chance(10) {
            awkward_string(rng)
        } else {
            let len = 1 + rng.below(6);
            (0..len).map(|_| rng.pick(&["a", "b", "c", "_", "@", ".", "-", "é", "1"])).collect()
        }
    }

    fn random_tree(rng: &mut Rng, depth: usize) -> ConfigTree {
        let mut t = ConfigTree::new();
        for _ in 0..rng.below(6) {
            let node = match rng.below(10) {
                0 | 1 if depth < 4 => ConfigNode::Group(random_tree(rng, depth + 1)),
                2 => ConfigNode::Scalar(None),
                3 | 4 => {
                    let n = rng.pick(&[0usize, 1, 1, 2, 3, 5]);
                    ConfigNode::List((0..n).map(|_| awkward_string(rng)).collect())
                }
                _ => ConfigNode::Scalar(Some(awkward_string(rng))),
            };
            t.insert(random_name(rng), node);
        }
        t
    }

    #[test]
    fn round_trip_property() {
        let mut rng = Rng(0x5eed_1234);
        for case in 0..3000 {
            let t = random_tree(&mut rng, 0);
            let text = serialize(&t);
            let back = match parse(&text) {
                Ok(back) => back,
                Err(e) => panic!("case {case}: serialized tree does not parse: {e}\n{text}\n{t:?}"),
            };
            assert_eq!(back, t, "case {case}:\n{text}");
            assert_eq!(serialize(&back), text, "case {case}: serialization is not stable");
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut rng = Rng(0xf00d);
        let base = serialize(&sample_tree()) + SAMPLE;
        let alphabet: &[&str] = &[
            " ",
            "    ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            ":",
            "=",
            ",",
            "\"",
            "'",
            "\\",
            "#",
            "a",
            "b",
            "é",
            "☃",
            "\u{feff}",
            "\\n",
            "\\q",
            "x:",
            "y =",
            "\n    ",
            "\n        ",
        ];
        let check = |text: &str| {
            // Anything that parses must also round-trip.
            if let Ok(t) = parse(text) {
                assert_eq!(parse(&serialize(&t)).as_ref(), Ok(&t), "{text:?}");
            }
        };
        for _ in 0..3000 {
            // Random strings from an awkward alphabet.
            let len = rng.below(40);
            let text: String = (0..len).map(|_| rng.pick(alphabet)).collect();
            check(&text);

            // Random bytes, lossily decoded.
            let bytes: Vec<u8> = (0..rng.below(60)).map(|_| rng.next() as u8).collect();
            check(&String::from_utf8_lossy(&bytes));

            // Mutations of a valid file.
            let mut chars: Vec<char> = base.chars().collect();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(chars.len() + 1);
                match rng.below(4) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 if at < chars.len() => {
                        let end = (at + rng.below(20)).min(chars.len());
                        chars.drain(at..end);
                    }
                    2 => {
                        for c in rng.pick(alphabet).chars().rev() {
                            chars.insert(at, c);
                        }
                    }
                    _ => {
                        let other = rng.below(chars.len().max(1));
                        if at < chars.len() && other < chars.len() {
                            chars.swap(at, other);
                        }
                    }
                }
            }
            let text: String = chars.into_iter().collect();
            check(&text);
        }
    }

    #[test]
    fn write_atomic_creates_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("deeper").join("config");
        write_atomic(&path, b"first").expect("first write");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        write_atomic(&path, b"second").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("parent")), 0o700);
        }
    }

    #[test]
    fn write_atomic_error_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The target is a non-empty directory: the rename fails.
        let path = dir.path().join("config");
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("inside"), b"x").expect("write");
        assert!(write_atomic(&path, b"data").is_err());
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("read_dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config")]);
        assert!(write_atomic(Path::new("/"), b"x").is_err());
    }

    #[test]
    fn file_backend_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        write_atomic(&path, serialize(&sample_tree()).as_bytes()).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(parse(&text).expect("parses"), sample_tree());
    }
}
