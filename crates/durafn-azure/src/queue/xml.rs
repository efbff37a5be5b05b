//! The queue service's XML: the message body of a request, and the flat
//! records of its responses (`<QueueMessagesList>` of `<QueueMessage>`s,
//! `<Error>`).

use quick_xml::Reader;
use quick_xml::escape::{partial_escape, resolve_xml_entity};
use quick_xml::events::Event;

/// The body of Put Message and Update Message: `text` inside
/// `<QueueMessage><MessageText>`.
///
/// `<`, `>` and `&` are escaped, and so is carriage return (`&#13;`): a
/// raw one would be turned into a line feed by the service's XML parser.
pub(crate) fn message_request(text: &str) -> String {
    let escaped = partial_escape(text);
    let escaped = if escaped.contains('\r') {
        escaped.replace('\r', "&#13;").into()
    } else {
        escaped
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>{escaped}</MessageText></QueueMessage>"
    )
}

/// One element's children as `(name, text)` pairs.
pub(crate) type Record = Vec<(String, String)>;

/// Looks a field up in a record.
pub(crate) fn field<'r>(record: &'r Record, name: &str) -> Option<&'r str> {
    record
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Every `<{element}>` in the document, each as its child elements' text
/// (unescaped, character references resolved, line ends normalised as XML
/// 1.0 requires). Children with children of their own are refused (empty
/// ones are ignored): queue responses have none.
pub(crate) fn records(xml: &[u8], element: &str) -> Result<Vec<Record>, String> {
    let text = std::str::from_utf8(xml).map_err(|e| format!("the XML is not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    let mut out = Vec::new();
    let mut record: Option<Record> = None;
    let mut child: Option<(String, String)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if record.is_none() {
                    if name == element {
                        record = Some(Vec::new());
                    }
                } else if child.is_none() {
                    child = Some((name, String::new()));
                } else {
                    return Err(format!("unexpected element <{name}> inside <{element}>"));
                }
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                match (&mut record, &child) {
                    (Some(fields), None) => fields.push((name, String::new())),
                    (None, _) if name == element => out.push(Vec::new()),
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some((_, value)) = &mut child {
                    let content = t.xml10_content().map_err(|e| e.to_string())?;
                    value.push_str(&content);
                }
            }
            Event::CData(t) => {
                if let Some((_, value)) = &mut child {
                    value.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, value)) = &mut child {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                        value.push(c);
                    } else {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        let resolved = resolve_xml_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?;
                        value.push_str(resolved);
                    }
                }
            }
            Event::End(end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                if let Some(done) = child.take() {
                    if let Some(fields) = &mut record {
                        fields.push(done);
                    }
                } else if name == element {
                    if let Some(done) = record.take() {
                        out.push(done);
                    }
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if record.is_some() {
        return Err(format!("the XML ends inside <{element}>"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_escape_markup_and_carriage_returns() {
        assert_eq!(
            message_request("a<b>&c\r\n\"'"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>\
             a&lt;b&gt;&amp;c&#13;\n\"'</MessageText></QueueMessage>"
        );
    }

    #[test]
    fn request_bodies_read_back_as_sent() {
        for text in ["plain", "", "a<b>&c\r\n\"' ]]> \t", "日本語 🎉", "&amp;"] {
            let body = message_request(text);
            let parsed = records(body.as_bytes(), "QueueMessage").expect("parses");
            assert_eq!(field(&parsed[0], "MessageText"), Some(text), "{body}");
        }
    }

    #[test]
    fn message_lists() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<QueueMessagesList>
  <QueueMessage>
    <MessageId>5974b586-0df3-4e2d-ad0c-18e3892bfca2</MessageId>
    <InsertionTime>Fri, 09 Oct 2009 21:04:30 GMT</InsertionTime>
    <DequeueCount>1</DequeueCount>
    <MessageText>a &amp; b &#x263A; <![CDATA[<raw>]]></MessageText>
    <Empty/>
  </QueueMessage>
  <QueueMessage><MessageId>2</MessageId><MessageText>x&#13;&#10;y
z</MessageText></QueueMessage>
</QueueMessagesList>"#;
        let list = records(xml, "QueueMessage").expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(
            field(&list[0], "MessageId"),
            Some("5974b586-0df3-4e2d-ad0c-18e3892bfca2")
        );
        assert_eq!(field(&list[0], "DequeueCount"), Some("1"));
        assert_eq!(field(&list[0], "MessageText"), Some("a & b ☺ <raw>"));
        assert_eq!(field(&list[0], "Empty"), Some(""));
        assert_eq!(field(&list[1], "MessageText"), Some("x\r\ny\nz"));
        assert!(
            records(b"<QueueMessagesList/>", "QueueMessage")
                .expect("empty")
                .is_empty()
        );
        assert!(
            records(b"<QueueMessagesList></QueueMessagesList>", "QueueMessage")
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(
            records(
                b"<QueueMessagesList><QueueMessage><MessageId>1",
                "QueueMessage"
            )
            .is_err()
        );
        assert!(
            records(
                b"<a><QueueMessage><X>&bogus;</X></QueueMessage></a>",
                "QueueMessage"
            )
            .is_err()
        );
        assert!(records(b"<QueueMessage><X><Y/></X></QueueMessage>", "QueueMessage").is_ok());
        assert!(
            records(
                b"<QueueMessage><X><Y>1</Y></X></QueueMessage>",
                "QueueMessage"
            )
            .is_err()
        );
        assert!(records(&[0xff, 0xfe], "QueueMessage").is_err());
    }
}
