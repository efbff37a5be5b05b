//! Queue messages: what is sent and received, and how bodies are encoded
//! into message text.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::error::{MessageDecodeError, QueueError};

/// The most UTF-8 bytes of text one message holds (64 KiB).
pub const MAX_MESSAGE_TEXT_BYTES: usize = 64 * 1024;

/// The largest body a `base64` queue can send: base64 turns every 3 bytes
/// into 4 characters, so 48 KiB fill the 64 KiB of text.
pub const MAX_BASE64_BODY_BYTES: usize = MAX_MESSAGE_TEXT_BYTES / 4 * 3;

/// How message bodies become message text, as the Functions host's
/// `extensions.queues.messageEncoding` setting says.
///
/// * `base64` (the default): bodies are sent base64-encoded (standard
///   alphabet, padded) and received text is decoded. Text that is not
///   base64 cannot be decoded: [`QueueMessage::body`] says why and the
///   text stays available. The Functions host moves such a message to the
///   poison queue (as it was) without running the function.
///   Decoding follows .NET's `Convert.FromBase64String`, which the host
///   uses: spaces, tabs and line breaks are ignored and padding is
///   required.
/// * `none`: the body is the text, which must then be UTF-8 that XML can
///   carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageEncoding {
    /// Base64 text.
    #[default]
    Base64,
    /// The body as plain text.
    None,
}

/// Decodes like `Convert.FromBase64String`: padding required; unused
/// trailing bits are ignored rather than refused.
const DOTNET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

impl MessageEncoding {
    /// The text that carries `body`. Fails for a body the encoding cannot
    /// carry (`none`: not UTF-8, or not representable in XML) or that is
    /// too large once encoded.
    pub fn encode(self, body: &[u8]) -> Result<String, QueueError> {
        let text = match self {
            MessageEncoding::Base64 => STANDARD.encode(body),
            MessageEncoding::None => std::str::from_utf8(body)
                .map_err(|e| {
                    QueueError::InvalidMessageText(format!("the body is not UTF-8 ({e})"))
                })?
                .to_owned(),
        };
        check_text(
            &text,
            (self == MessageEncoding::Base64).then_some(body.len()),
        )?;
        Ok(text)
    }

    /// The body that `text` carries.
    pub fn decode(self, text: &str) -> Result<Bytes, MessageDecodeError> {
        match self {
            MessageEncoding::None => Ok(Bytes::copy_from_slice(text.as_bytes())),
            MessageEncoding::Base64 => {
                let compact: String = text
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
                    .collect();
                DOTNET_BASE64
                    .decode(compact.as_bytes())
                    .map(Bytes::from)
                    .map_err(|e| MessageDecodeError {
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// The setting's spelling: `base64` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageEncoding::Base64 => "base64",
            MessageEncoding::None => "none",
        }
    }
}

impl fmt::Display for MessageEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageEncoding {
    type Err = QueueError;

    /// Reads `base64` or `none`, in any case, as in `host.json`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "base64" => Ok(MessageEncoding::Base64),
            "none" => Ok(MessageEncoding::None),
            _ => Err(QueueError::InvalidArgument {
                argument: "messageEncoding",
                reason: "must be `base64` or `none`".to_owned(),
            }),
        }
    }
}

/// Checks that text can be a message: at most [`MAX_MESSAGE_TEXT_BYTES`]
/// and only characters XML 1.0 allows (what it escapes is fine).
pub(crate) fn check_text(text: &str, body_bytes: Option<usize>) -> Result<(), QueueError> {
    if text.len() > MAX_MESSAGE_TEXT_BYTES {
        return Err(QueueError::MessageTooLarge {
            text_bytes: text.len(),
            body_bytes,
            limit: MAX_MESSAGE_TEXT_BYTES,
        });
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        return Err(QueueError::InvalidMessageText(format!(
            "U+{:04X} at byte {at} is not allowed in XML; use the base64 encoding",
            u32::from(c)
        )));
    }
    Ok(())
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// How long a sent message lives before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeToLive {
    /// The service's default, seven days.
    #[default]
    Default,
    /// This long (whole seconds, at least one).
    After(Duration),
    /// Forever.
    Never,
}

/// How a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// How long the message stays invisible after it is sent (whole
    /// seconds, at most seven days, less than its time to live); zero, the
    /// default, makes it visible at once.
    pub visibility_timeout: Duration,
    /// How long it lives.
    pub time_to_live: TimeToLive,
}

impl SendOptions {
    /// Invisible for `delay` after sending.
    pub fn delayed(delay: Duration) -> SendOptions {
        SendOptions {
            visibility_timeout: delay,
            ..SendOptions::default()
        }
    }
}

/// What the service says about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message's id.
    pub id: String,
    /// A pop receipt with which the message can be deleted or updated.
    pub pop_receipt: String,
    /// When it was added.
    pub insertion_time: DateTime<Utc>,
    /// When it expires.
    pub expiration_time: DateTime<Utc>,
    /// When it becomes visible.
    pub next_visible_time: DateTime<Utc>,
}

/// A received message: invisible to others until
/// [`next_visible_time`](QueueMessage::next_visible_time), deleted with its
/// id and pop receipt.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The message's id.
    pub id: String,
    /// The receipt of this reception: deleting or updating the message
    /// needs it, and it changes when the message is received or updated
    /// again.
    pub pop_receipt: String,
    /// How many times the message has been received, this time included.
    pub dequeue_count: u64,
    /// When it was added.
    pub insertion_time: DateTime<Utc>,
    /// When it expires.
    pub expiration_time: DateTime<Utc>,
    /// When it becomes visible again unless deleted or updated.
    pub next_visible_time: DateTime<Utc>,
    text: String,
    body: Result<Bytes, MessageDecodeError>,
}

impl QueueMessage {
    pub(crate) fn new(
        encoding: MessageEncoding,
        id: String,
        pop_receipt: String,
        dequeue_count: u64,
        times: [DateTime<Utc>; 3],
        text: String,
    ) -> QueueMessage {
        let [insertion_time, expiration_time, next_visible_time] = times;
        let body = encoding.decode(&text);
        QueueMessage {
            id,
            pop_receipt,
            dequeue_count,
            insertion_time,
            expiration_time,
            next_visible_time,
            text,
            body,
        }
    }

    /// The message text as stored on the service.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The body the text carries under the queue's encoding.
    pub fn body(&self) -> Result<&Bytes, &MessageDecodeError> {
        self.body.as_ref()
    }
}

impl fmt::Debug for QueueMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueMessage")
            .field("id", &self.id)
            .field("dequeue_count", &self.dequeue_count)
            .field("insertion_time", &self.insertion_time)
            .field("expiration_time", &self.expiration_time)
            .field("next_visible_time", &self.next_visible_time)
            .field("text_bytes", &self.text.len())
            .field("decodes", &self.body.is_ok())
            .finish_non_exhaustive()
    }
}

/// A message seen without receiving it: it stays visible and its dequeue
/// count does not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeekedMessage {
    /// The message's id.
    pub id: String,
    /// How many times it has been received.
    pub dequeue_count: u64,
    /// When it was added.
    pub insertion_time: DateTime<Utc>,
    /// When it expires.
    pub expiration_time: DateTime<Utc>,
    /// The message text as stored on the service.
    pub text: String,
    /// The body the text carries under the queue's encoding.
    pub body: Result<Bytes, MessageDecodeError>,
}

/// What an update leaves: the new pop receipt and visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedMessage {
    /// The receipt that replaces the one the update was made with.
    pub pop_receipt: String,
    /// When the message becomes visible.
    pub next_visible_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_any_bytes() {
        let body: Vec<u8> = (0..=255).collect();
        let text = MessageEncoding::Base64.encode(&body).expect("encodes");
        assert_eq!(text, STANDARD.encode(&body));
        assert_eq!(
            MessageEncoding::Base64.decode(&text).expect("decodes"),
            body
        );
        assert_eq!(MessageEncoding::Base64.encode(b"").expect("empty"), "");
    }

    #[test]
    fn base64_decoding_is_as_lenient_as_dotnet() {
        let decode = |s| MessageEncoding::Base64.decode(s);
        assert_eq!(decode("aGVs\r\nbG8=").expect("line breaks"), "hello");
        assert_eq!(decode(" aGVsbG8= ").expect("spaces"), "hello");
        assert_eq!(decode("aGVsbG9=").expect("trailing bits"), "hello");
        for bad in ["aGVsbG8", "hello world", "{\"s\":1}", "aGVs*G8="] {
            let err = decode(bad).expect_err(bad);
            assert!(err.to_string().contains("not valid base64"), "{err}");
        }
    }

    #[test]
    fn plain_text_must_be_utf8_and_xml() {
        let none = MessageEncoding::None;
        assert_eq!(
            none.encode("<a>&'\"\r\n".as_bytes()).expect("escapable"),
            "<a>&'\"\r\n"
        );
        assert!(matches!(
            none.encode(&[0xff, 0xfe]),
            Err(QueueError::InvalidMessageText(_))
        ));
        let err = none.encode(b"a\x00b").expect_err("NUL");
        assert!(err.to_string().contains("U+0000 at byte 1"), "{err}");
        assert!(none.encode("\u{FFFE}".as_bytes()).is_err());
        assert_eq!(none.decode("x").expect("decodes"), "x");
    }

    #[test]
    fn size_limits() {
        let none = MessageEncoding::None;
        assert!(none.encode(&vec![b'a'; MAX_MESSAGE_TEXT_BYTES]).is_ok());
        let err = none
            .encode(&vec![b'a'; MAX_MESSAGE_TEXT_BYTES + 1])
            .expect_err("too large");
        assert_eq!(
            err.to_string(),
            "the message is too large: its text is 65537 bytes, and a queue message holds at most 65536 bytes of text"
        );
        assert_eq!(MAX_BASE64_BODY_BYTES, 49152);
        let b64 = MessageEncoding::Base64;
        assert!(b64.encode(&vec![0; MAX_BASE64_BODY_BYTES]).is_ok());
        let err = b64
            .encode(&vec![0; MAX_BASE64_BODY_BYTES + 1])
            .expect_err("too large");
        assert!(
            matches!(
                err,
                QueueError::MessageTooLarge {
                    text_bytes: 65540,
                    body_bytes: Some(49153),
                    ..
                }
            ),
            "{err:?}"
        );
        // Multi-byte characters count in bytes.
        let euro = "€".repeat(MAX_MESSAGE_TEXT_BYTES / 3 + 1);
        assert!(none.encode(euro.as_bytes()).is_err());
    }

    #[test]
    fn encoding_settings() {
        assert_eq!(
            "Base64".parse::<MessageEncoding>().expect("parses"),
            MessageEncoding::Base64
        );
        assert_eq!(
            " none ".parse::<MessageEncoding>().expect("parses"),
            MessageEncoding::None
        );
        assert!("utf8".parse::<MessageEncoding>().is_err());
        assert_eq!(MessageEncoding::default(), MessageEncoding::Base64);
        assert_eq!(MessageEncoding::None.to_string(), "none");
    }
}
