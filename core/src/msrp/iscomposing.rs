//! Is-composing indications (RFC 3994, `application/im-iscomposing+xml`),
//! sans-IO.
//!
//! A chat peer tells the other side that a message is being typed (state
//! `active`) or that typing stopped (`idle`), when it was last active, what
//! kind of content is being composed, and how often (`refresh`, seconds) it
//! will repeat an `active` indication. [`IsComposing::parse`] reads a
//! document, namespace-aware (any prefix bound to [`NAMESPACE`] works),
//! skipping elements it does not know; [`IsComposing::encode`] writes one.
//! Neither ever panics: bad input gives an [`IsComposingError`].

use std::fmt;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::cpim::Timestamp;

/// The XML namespace of is-composing documents.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";

/// The MIME type of is-composing documents.
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";

/// Seconds after which a receiver treats an `active` state without a
/// `refresh` as gone idle (RFC 3994 section 4, the original's default for
/// `ChatStreamGotComposingIndication.refresh`).
pub const DEFAULT_REFRESH: u32 = 120;

/// Why an is-composing document could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IsComposingError {
    /// The document is not UTF-8.
    #[error("the document is not UTF-8")]
    InvalidUtf8,
    /// The document is not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The document has no root element.
    #[error("the document has no root element")]
    MissingRoot,
    /// The root element is not `isComposing` in [`NAMESPACE`].
    #[error("the root element is {name:?} in namespace {namespace:?}, not isComposing in {NAMESPACE}")]
    WrongRoot {
        /// The namespace of the root element, if it has one.
        namespace: Option<String>,
        /// The local name of the root element.
        name: String,
    },
    /// There is no `state` element.
    #[error("the document has no <state> element")]
    MissingState,
    /// An element that may appear once appears more than once.
    #[error("<{0}> appears more than once")]
    DuplicateElement(&'static str),
    /// An element with a text value contains an element.
    #[error("<{0}> contains an element")]
    UnexpectedElement(&'static str),
    /// `refresh` is not a positive integer (when parsing), or is zero (when
    /// building).
    #[error("invalid refresh {0:?}: not a positive number of seconds")]
    InvalidRefresh(String),
    /// Something other than comments or whitespace follows the root element.
    #[error("content after the root element")]
    TrailingContent,
    /// A text value to encode has characters the document cannot carry
    /// (control characters).
    #[error("invalid {element} value {value:?}")]
    InvalidValue {
        /// The element it was meant for.
        element: &'static str,
        /// The offending value.
        value: String,
    },
}

/// The composing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComposingState {
    /// A message is being composed.
    Active,
    /// No message is being composed.
    Idle,
}

impl ComposingState {
    /// `"active"` or `"idle"`, as in the document and in
    /// `ChatStreamGotComposingIndication.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComposingState::Active => "active",
            ComposingState::Idle => "idle",
        }
    }

    /// The state named `name` (`"active"` or `"idle"`, surrounding
    /// whitespace ignored), `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim_matches(is_xml_whitespace) {
            "active" => Some(ComposingState::Active),
            "idle" => Some(ComposingState::Idle),
            _ => None,
        }
    }
}

impl fmt::Display for ComposingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One is-composing indication (the `isComposing` element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsComposing {
    /// `state`. A value other than `active` or `idle` reads as idle.
    pub state: ComposingState,
    /// `lastactive`: when the sender was last active (RFC 3339, kept as
    /// text when it does not parse).
    pub last_active: Option<Timestamp>,
    /// `contenttype`: the kind of content being composed (`text/plain`,
    /// `audio`, ...); an empty element reads as `None`.
    pub content_type: Option<String>,
    /// `refresh`: seconds within which the sender will repeat an `active`
    /// state; positive.
    pub refresh: Option<u32>,
}

/// The child elements this module reads.
#[derive(Clone, Copy)]
enum Field {
    State,
    LastActive,
    ContentType,
    Refresh,
}

impl Field {
    fn from_local_name(name: &str) -> Option<Self> {
        match name {
            "state" => Some(Field::State),
            "lastactive" => Some(Field::LastActive),
            "contenttype" => Some(Field::ContentType),
            "refresh" => Some(Field::Refresh),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::State => "state",
            Field::LastActive => "lastactive",
            Field::ContentType => "contenttype",
            Field::Refresh => "refresh",
        }
    }
}

impl IsComposing {
    /// An indication with only a state.
    pub fn new(state: ComposingState) -> Self {
        IsComposing { state, last_active: None, content_type: None, refresh: None }
    }

    /// Parses an is-composing document. The root must be `isComposing` in
    /// [`NAMESPACE`]; elements of other namespaces or unknown names are
    /// skipped wherever they are.
    pub fn parse(document: &[u8]) -> Result<Self, IsComposingError> {
        let text = std::str::from_utf8(document).map_err(|_| IsComposingError::InvalidUtf8)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = NsReader::from_str(text);
        reader.config_mut().expand_empty_elements = true;

        // prolog, up to the root element
        loop {
            let (namespace, event) = reader.read_resolved_event().map_err(xml_error)?;
            match event {
                Event::Start(start) => {
                    let local_name = start.local_name().into_inner();
                    if is_ours(&namespace) && local_name == "isComposing" {
                        break;
                    }
                    let namespace = match namespace {
                        ResolveResult::Bound(Namespace(uri)) => Some(uri.to_owned()),
                        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
                    };
                    return Err(IsComposingError::WrongRoot { namespace, name: local_name.to_owned() });
                }
                Event::Eof => return Err(IsComposingError::MissingRoot),
                Event::Text(text) if is_blank(&text.xml10_content()) => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) | Event::End(_) => {
                    return Err(IsComposingError::Xml("text before the root element".to_owned()));
                }
                Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }

        let mut state: Option<ComposingState> = None;
        let mut last_active: Option<Timestamp> = None;
        let mut content_type: Option<Option<String>> = None;
        let mut refresh: Option<u32> = None;
        loop {
            let (namespace, event) = reader.read_resolved_event().map_err(xml_error)?;
            match event {
                Event::Start(start) => {
                    let field = if is_ours(&namespace) {
                        Field::from_local_name(start.local_name().into_inner())
                    } else {
                        None
                    };
                    let Some(field) = field else {
                        skip_element(&mut reader)?;
                        continue;
                    };
                    let value = read_text(&mut reader, field)?;
                    let duplicate = match field {
                        Field::State => {
                            state.replace(ComposingState::from_name(&value).unwrap_or(ComposingState::Idle)).is_some()
                        }
                        Field::LastActive => last_active.replace(Timestamp::new(value)).is_some(),
                        Field::ContentType => content_type.replace((!value.is_empty()).then_some(value)).is_some(),
                        Field::Refresh => {
                            let seconds = value.parse::<u32>().ok().filter(|seconds| *seconds > 0);
                            let seconds = seconds.ok_or(IsComposingError::InvalidRefresh(value))?;
                            refresh.replace(seconds).is_some()
                        }
                    };
                    if duplicate {
                        return Err(IsComposingError::DuplicateElement(field.name()));
                    }
                }
                Event::End(_) => break,
                Event::Eof => return Err(IsComposingError::Xml("the root element is not closed".to_owned())),
                _ => {}
            }
        }

        // epilog: only comments, processing instructions and whitespace
        loop {
            let (_, event) = reader.read_resolved_event().map_err(xml_error)?;
            match event {
                Event::Eof => break,
                Event::Text(text) if is_blank(&text.xml10_content()) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(IsComposingError::TrailingContent),
            }
        }

        Ok(IsComposing {
            state: state.ok_or(IsComposingError::MissingState)?,
            last_active,
            content_type: content_type.flatten(),
            refresh,
        })
    }

    /// The document as text: an XML declaration and the `isComposing`
    /// element in the default namespace, children in schema order.
    pub fn to_xml(&self) -> Result<String, IsComposingError> {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<isComposing xmlns=\"");
        out.push_str(NAMESPACE);
        out.push_str("\"><state>");
        out.push_str(self.state.as_str());
        out.push_str("</state>");
        if let Some(last_active) = &self.last_active {
            push_text_element(&mut out, "lastactive", last_active.text())?;
        }
        if let Some(content_type) = &self.content_type {
            push_text_element(&mut out, "contenttype", content_type)?;
        }
        if let Some(refresh) = self.refresh {
            if refresh == 0 {
                return Err(IsComposingError::InvalidRefresh(refresh.to_string()));
            }
            out.push_str("<refresh>");
            out.push_str(&refresh.to_string());
            out.push_str("</refresh>");
        }
        out.push_str("</isComposing>\n");
        Ok(out)
    }

    /// The document as UTF-8 bytes, for a message body.
    pub fn encode(&self) -> Result<Vec<u8>, IsComposingError> {
        self.to_xml().map(String::into_bytes)
    }
}

fn xml_error(error: quick_xml::Error) -> IsComposingError {
    IsComposingError::Xml(error.to_string())
}

fn is_ours(namespace: &ResolveResult<'_>) -> bool {
    matches!(namespace, ResolveResult::Bound(Namespace(uri)) if *uri == NAMESPACE)
}

fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_blank(text: &str) -> bool {
    text.chars().all(is_xml_whitespace)
}

/// Reads the text of a value element up to its end tag, resolving entity
/// and character references; surrounding whitespace is removed.
fn read_text(reader: &mut NsReader<&[u8]>, field: Field) -> Result<String, IsComposingError> {
    let mut value = String::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Text(text) => value.push_str(&text.xml10_content()),
            Event::CData(data) => value.push_str(&data.xml10_content()),
            Event::GeneralRef(reference) => {
                let entity = format!("&{};", reference.xml10_content());
                let resolved =
                    quick_xml::escape::unescape(&entity).map_err(|error| IsComposingError::Xml(error.to_string()))?;
                value.push_str(&resolved);
            }
            Event::Start(_) | Event::Empty(_) => return Err(IsComposingError::UnexpectedElement(field.name())),
            Event::End(_) => return Ok(value.trim_matches(is_xml_whitespace).to_owned()),
            Event::Eof => return Err(IsComposingError::Xml(format!("<{}> is not closed", field.name()))),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
}

/// Skips the element whose start tag was just read, with all it contains.
fn skip_element(reader: &mut NsReader<&[u8]>) -> Result<(), IsComposingError> {
    let mut depth = 1usize;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            }
            Event::Eof => return Err(IsComposingError::Xml("an element is not closed".to_owned())),
            _ => {}
        }
    }
}

fn push_text_element(out: &mut String, element: &'static str, value: &str) -> Result<(), IsComposingError> {
    if value.chars().any(char::is_control) {
        return Err(IsComposingError::InvalidValue { element, value: value.to_owned() });
    }
    out.push('<');
    out.push_str(element);
    out.push('>');
    out.push_str(&quick_xml::escape::escape(value));
    out.push_str("</");
    out.push_str(element);
    out.push('>');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// RFC 3994 section 7, first example.
    const RFC3994_IDLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
   <isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing
     iscomposing.xsd">
     <state>idle</state>
     <lastactive>2003-01-27T10:43:00Z</lastactive>
     <contenttype>audio</contenttype>
   </isComposing>
"#;

    /// RFC 3994 section 7, second example.
    const RFC3994_ACTIVE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
   <isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing
     iscomposing.xsd">
     <state>active</state>
     <contenttype>text/plain</contenttype>
     <refresh>90</refresh>
   </isComposing>
"#;

    #[test]
    fn rfc3994_examples() {
        let idle = IsComposing::parse(RFC3994_IDLE.as_bytes()).unwrap();
        assert_eq!(idle.state, ComposingState::Idle);
        let last_active = idle.last_active.clone().unwrap();
        assert_eq!(last_active.text(), "2003-01-27T10:43:00Z");
        assert_eq!(last_active.parts().unwrap().unix_time(), (1_043_664_180, 0));
        assert_eq!(idle.content_type.as_deref(), Some("audio"));
        assert_eq!(idle.refresh, None);

        let active = IsComposing::parse(RFC3994_ACTIVE.as_bytes()).unwrap();
        assert_eq!(
            active,
            IsComposing {
                state: ComposingState::Active,
                last_active: None,
                content_type: Some("text/plain".to_owned()),
                refresh: Some(90),
            }
        );
    }

    #[test]
    fn round_trips() {
        for document in [RFC3994_IDLE, RFC3994_ACTIVE] {
            let parsed = IsComposing::parse(document.as_bytes()).unwrap();
            assert_eq!(IsComposing::parse(&parsed.encode().unwrap()).unwrap(), parsed);
        }
        let built = IsComposing {
            state: ComposingState::Active,
            last_active: Some(Timestamp::new("2024-05-01T12:00:00.5+02:00")),
            content_type: Some("text/html; charset=\"utf-8\" <&>".to_owned()),
            refresh: Some(60),
        };
        let xml = built.to_xml().unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\
             <state>active</state><lastactive>2024-05-01T12:00:00.5+02:00</lastactive>\
             <contenttype>text/html; charset=&quot;utf-8&quot; &lt;&amp;&gt;</contenttype>\
             <refresh>60</refresh></isComposing>\n"
        );
        assert_eq!(IsComposing::parse(xml.as_bytes()).unwrap(), built);
        let minimal = IsComposing::new(ComposingState::Idle);
        assert_eq!(IsComposing::parse(&minimal.encode().unwrap()).unwrap(), minimal);
    }

    #[test]
    fn namespaces_prefixes_and_unknown_elements() {
        let prefixed = r#"<ic:isComposing xmlns:ic="urn:ietf:params:xml:ns:im-iscomposing" xmlns:x="urn:example:x">
            <x:state>idle</x:state>
            <ic:state>active</ic:state>
            <x:extension><ic:refresh>1</ic:refresh><deeper><x:y/></deeper></x:extension>
            <ic:unknown attr="1"><ic:state>idle</ic:state></ic:unknown>
            <ic:refresh> 30 </ic:refresh>
            <ic:contenttype/>
            <!-- comment --><?pi data?>
        </ic:isComposing>"#;
        let parsed = IsComposing::parse(prefixed.as_bytes()).unwrap();
        assert_eq!(parsed, IsComposing { refresh: Some(30), ..IsComposing::new(ComposingState::Active) });

        // entity and character references, CDATA and a BOM
        let doc = "\u{feff}<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>act&#105;ve</state>\
                   <contenttype>a&amp;b<![CDATA[<c>]]></contenttype></isComposing>";
        let parsed = IsComposing::parse(doc.as_bytes()).unwrap();
        assert_eq!(parsed.state, ComposingState::Active);
        assert_eq!(parsed.content_type.as_deref(), Some("a&b<c>"));

        // an unknown state reads as idle, as the original does
        let doc = "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>typing</state></isComposing>";
        assert_eq!(IsComposing::parse(doc.as_bytes()).unwrap().state, ComposingState::Idle);
        // a lastactive that is not RFC 3339 is kept as text
        let doc = "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>idle</state>\
                   <lastactive>soon</lastactive></isComposing>";
        let last_active = IsComposing::parse(doc.as_bytes()).unwrap().last_active.unwrap();
        assert_eq!((last_active.text(), last_active.parts()), ("soon", None));
    }

    #[test]
    fn wrong_root_or_namespace_is_refused() {
        let wrong_root = |document: &str| IsComposing::parse(document.as_bytes()).unwrap_err();
        assert_eq!(
            wrong_root("<isComposing><state>active</state></isComposing>"),
            IsComposingError::WrongRoot { namespace: None, name: "isComposing".to_owned() }
        );
        assert_eq!(
            wrong_root("<isComposing xmlns='urn:ietf:params:xml:ns:im-composing'><state>active</state></isComposing>"),
            IsComposingError::WrongRoot {
                namespace: Some("urn:ietf:params:xml:ns:im-composing".to_owned()),
                name: "isComposing".to_owned()
            }
        );
        assert_eq!(
            wrong_root("<presence xmlns='urn:ietf:params:xml:ns:im-iscomposing'/>"),
            IsComposingError::WrongRoot { namespace: Some(NAMESPACE.to_owned()), name: "presence".to_owned() }
        );
        assert!(matches!(wrong_root("<p:isComposing><state/></p:isComposing>"), IsComposingError::WrongRoot { .. }));
    }

    #[test]
    fn malformed_documents_give_typed_errors() {
        let open = "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'>";
        type Expectation = fn(&IsComposingError) -> bool;
        let cases: Vec<(Vec<u8>, Expectation)> = vec![
            (b"".to_vec(), |e| *e == IsComposingError::MissingRoot),
            (b"<?xml version='1.0'?>  <!-- only -->".to_vec(), |e| *e == IsComposingError::MissingRoot),
            (b"\xff\xfe<".to_vec(), |e| *e == IsComposingError::InvalidUtf8),
            (b"not xml".to_vec(), |e| matches!(e, IsComposingError::Xml(_))),
            (format!("{open}</isComposing>").into_bytes(), |e| *e == IsComposingError::MissingState),
            (format!("{open}<state>active</isComposing>").into_bytes(), |e| matches!(e, IsComposingError::Xml(_))),
            (format!("{open}<state>active</state>").into_bytes(), |e| matches!(e, IsComposingError::Xml(_))),
            (format!("{open}<state>active").into_bytes(), |e| matches!(e, IsComposingError::Xml(_))),
            (format!("{open}<state>a&bogus;</state></isComposing>").into_bytes(), |e| {
                matches!(e, IsComposingError::Xml(_))
            }),
            (format!("{open}<state><b>active</b></state></isComposing>").into_bytes(), |e| {
                *e == IsComposingError::UnexpectedElement("state")
            }),
            (format!("{open}<state>active</state><state>idle</state></isComposing>").into_bytes(), |e| {
                *e == IsComposingError::DuplicateElement("state")
            }),
            (format!("{open}<state>idle</state><refresh>0</refresh></isComposing>").into_bytes(), |e| {
                *e == IsComposingError::InvalidRefresh("0".to_owned())
            }),
            (format!("{open}<state>idle</state><refresh>-5</refresh></isComposing>").into_bytes(), |e| {
                matches!(e, IsComposingError::InvalidRefresh(_))
            }),
            (format!("{open}<state>idle</state><refresh>99999999999</refresh></isComposing>").into_bytes(), |e| {
                matches!(e, IsComposingError::InvalidRefresh(_))
            }),
            (format!("{open}<state>idle</state><refresh>ten</refresh></isComposing>").into_bytes(), |e| {
                matches!(e, IsComposingError::InvalidRefresh(_))
            }),
            (format!("{open}<state>idle</state></isComposing><isComposing/>").into_bytes(), |e| {
                *e == IsComposingError::TrailingContent
            }),
            (format!("{open}<state>idle</state></isComposing>trailing").into_bytes(), |e| {
                *e == IsComposingError::TrailingContent
            }),
            (format!("text{open}<state>idle</state></isComposing>").into_bytes(), |e| {
                matches!(e, IsComposingError::Xml(_))
            }),
        ];
        for (document, expected) in cases {
            let error = IsComposing::parse(&document).unwrap_err();
            assert!(expected(&error), "{:?} gave {error:?}", String::from_utf8_lossy(&document));
        }
    }

    #[test]
    fn building_refuses_what_it_cannot_write() {
        let zero = IsComposing { refresh: Some(0), ..IsComposing::new(ComposingState::Active) };
        assert_eq!(zero.encode(), Err(IsComposingError::InvalidRefresh("0".to_owned())));
        let control = IsComposing {
            content_type: Some("text/\u{0}plain".to_owned()),
            ..IsComposing::new(ComposingState::Active)
        };
        assert!(matches!(control.encode(), Err(IsComposingError::InvalidValue { element: "contenttype", .. })));
    }

    /// Random corruptions of valid documents never panic, and whatever
    /// parses encodes and parses back the same, unless it cannot be written.
    #[test]
    fn mutated_documents_never_panic() {
        let built = IsComposing {
            state: ComposingState::Active,
            last_active: Some(Timestamp::new("2003-01-27T10:43:00Z")),
            content_type: Some("a&b".to_owned()),
            refresh: Some(60),
        };
        let seeds: Vec<Vec<u8>> =
            vec![RFC3994_IDLE.as_bytes().to_vec(), RFC3994_ACTIVE.as_bytes().to_vec(), built.encode().unwrap()];
        let alphabet: &[u8] = b"<>/&;:=\"' !?[]-#x\xff\xc3";
        let mut rng = StdRng::seed_from_u64(3994);
        let (mut parsed, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut document = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                let position = rng.random_range(0..=document.len());
                match rng.random_range(0..4) {
                    0 if position < document.len() => {
                        document.remove(position);
                    }
                    1 => document.insert(position, alphabet[rng.random_range(0..alphabet.len())]),
                    2 => document.insert(position, rng.random()),
                    _ => document.truncate(position),
                }
            }
            match IsComposing::parse(&document) {
                Ok(indication) => {
                    parsed += 1;
                    if let Ok(encoded) = indication.encode() {
                        let again = IsComposing::parse(&encoded);
                        assert_eq!(again.as_ref(), Ok(&indication), "{:?}", String::from_utf8_lossy(&document));
                    }
                }
                Err(_) => refused += 1,
            }
        }
        assert!(parsed > 1_000 && refused > 1_000, "parsed {parsed}, refused {refused}");
    }
}
