//! The channel's framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::Incoming;

/// Frames larger than this are refused: no history of a healthy app comes near it, and a
/// corrupted length must not make the host allocate gigabytes.
pub(crate) const MAX_FRAME: usize = 512 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// The connection closed (cleanly between frames, or in the middle of one).
    #[error("the worker closed the connection")]
    Closed,
    /// Reading failed.
    #[error("reading from the worker failed: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix is larger than [`MAX_FRAME`].
    #[error("the worker sent a frame of {0} bytes, more than the limit")]
    TooLarge(usize),
    /// The body is not a JSON object of the protocol.
    #[error("the worker sent a frame that is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Encodes one frame.
pub(crate) fn encode(message: &impl serde::Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut buf = vec![0u8; 4];
    serde_json::to_writer(&mut buf, message)?;
    let len = u32::try_from(buf.len() - 4).map_err(serde::ser::Error::custom)?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Writes one encoded frame.
pub(crate) async fn write_frame(
    writer: &mut (impl AsyncWrite + Unpin),
    frame: &[u8],
) -> std::io::Result<()> {
    writer.write_all(frame).await?;
    writer.flush().await
}

/// Reads one frame.
pub(crate) async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Incoming, FrameError> {
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e)),
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    match reader.read_exact(&mut body).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(FrameError::Io(e)),
    }
    Ok(serde_json::from_slice(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_closed_streams_are_told_apart() {
        let frame =
            encode(&serde_json::json!({"type": "pong", "id": "p1", "inFlight": 3})).unwrap();
        assert_eq!(&frame[..4], &((frame.len() - 4) as u32).to_be_bytes());
        let mut reader: &[u8] = &frame;
        let incoming = read_frame(&mut reader).await.unwrap();
        assert_eq!(incoming.kind, "pong");
        assert_eq!(incoming.in_flight, Some(3));
        assert!(matches!(
            read_frame(&mut reader).await,
            Err(FrameError::Closed)
        ));
        let mut cut: &[u8] = &frame[..frame.len() - 1];
        assert!(matches!(
            read_frame(&mut cut).await,
            Err(FrameError::Closed)
        ));
        let mut huge: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut huge).await,
            Err(FrameError::TooLarge(_))
        ));
    }
}
