//! Length-prefixed framing: u32 big-endian length, then the payload. The length is checked
//! against the limit before anything is allocated for the payload.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

/// Socket buffer size on each side; large enough that small frames batch into one syscall.
const BUF_CAPACITY: usize = 64 * 1024;
/// [`FrameBuf`] reads at least this much free space per system call.
const READ_MIN: usize = 128 * 1024;
/// A fresh [`FrameBuf`] allocation holds this much, so one read brings many small frames.
const READ_CHUNK: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

pub struct FrameReader<R> {
    inner: BufReader<R>,
    max: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader { inner: BufReader::with_capacity(BUF_CAPACITY, inner), max: max_frame }
    }

    pub fn max_frame(&self) -> usize {
        self.max
    }

    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max = max_frame;
    }

    /// The next frame, or `None` on a clean end of stream (at a frame boundary).
    pub async fn read(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        self.read_with_limit(self.max).await
    }

    /// As [`read`](Self::read) with a tighter limit (handshake frames are small).
    pub async fn read_with_limit(&mut self, limit: usize) -> Result<Option<Vec<u8>>, FrameError> {
        let mut len_buf = [0u8; 4];
        // One byte first so that EOF between frames is clean and EOF inside one is an error.
        if self.inner.read(&mut len_buf[..1]).await? == 0 {
            return Ok(None);
        }
        self.inner.read_exact(&mut len_buf[1..]).await?;
        let len = u32::from_be_bytes(len_buf) as usize;
        if len > limit {
            return Err(FrameError::TooLarge { len, max: limit });
        }
        let mut buf = vec![0u8; len];
        self.inner.read_exact(&mut buf).await?;
        Ok(Some(buf))
    }

    /// The underlying stream; bytes already buffered are discarded.
    pub fn into_inner(self) -> R {
        self.inner.into_inner()
    }

    /// The underlying stream and the bytes already read from it but not yet consumed.
    pub fn into_parts(self) -> (R, Vec<u8>) {
        let buffered = self.inner.buffer().to_vec();
        (self.inner.into_inner(), buffered)
    }
}

/// Frames cut out of one large read buffer: a read system call brings many frames, and each
/// frame is a slice of the buffer (no copy, no allocation per frame). A buffer is reused once
/// every frame cut from it has been dropped, else a fresh one is allocated.
pub struct FrameBuf {
    buf: BytesMut,
    max: usize,
}

impl FrameBuf {
    /// Starts with `buffered`, bytes that an earlier reader already took off the stream.
    pub fn new(buffered: &[u8], max_frame: usize) -> Self {
        let mut buf = BytesMut::with_capacity(READ_CHUNK.max(buffered.len()));
        buf.extend_from_slice(buffered);
        FrameBuf { buf, max: max_frame }
    }

    /// The length announced by the prefix at the front, if all four bytes are there.
    fn announced(&self) -> Option<usize> {
        let prefix: [u8; 4] = self.buf.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(prefix) as usize)
    }

    /// The next complete frame (without its prefix), or `None` when more bytes are needed.
    /// An oversize length is an error as soon as its prefix is in.
    pub fn next_frame(&mut self) -> Result<Option<BytesMut>, FrameError> {
        let Some(len) = self.announced() else { return Ok(None) };
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(len)))
    }

    /// Read what the stream has (one system call). `Ok(false)` on a clean end of stream, at a
    /// frame boundary; an end inside a frame is an error.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<bool, FrameError> {
        // Room for the rest of a large frame in progress, and never a tiny read.
        let missing =
            self.announced().map_or(0, |len| (4 + len.min(self.max)).saturating_sub(self.buf.len()));
        let want = missing.max(READ_MIN);
        if self.buf.capacity() - self.buf.len() < want {
            self.buf.reserve(want.max(READ_CHUNK));
        }
        if r.read_buf(&mut self.buf).await? > 0 {
            return Ok(true);
        }
        if self.buf.is_empty() {
            Ok(false)
        } else {
            Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
        }
    }
}

pub struct FrameWriter<W> {
    inner: BufWriter<W>,
    max: usize,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W, max_frame: usize) -> Self {
        FrameWriter { inner: BufWriter::with_capacity(BUF_CAPACITY, inner), max: max_frame }
    }

    /// Buffer one frame; call [`flush`](Self::flush) to send what is buffered.
    pub async fn write(&mut self, payload: &[u8]) -> Result<(), FrameError> {
        self.write_parts(&[payload]).await
    }

    /// Buffer one frame made of the concatenation of `parts` (saves a copy for sealed frames).
    pub async fn write_parts(&mut self, parts: &[&[u8]]) -> Result<(), FrameError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > self.max || u32::try_from(len).is_err() {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        self.inner.write_all(&(len as u32).to_be_bytes()).await?;
        for part in parts {
            self.inner.write_all(part).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<(), FrameError> {
        self.inner.flush().await?;
        Ok(())
    }

    /// The underlying stream; call after [`flush`](Self::flush), unflushed bytes are lost.
    pub fn into_inner(self) -> W {
        self.inner.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn frame_roundtrip_and_limits() {
        let mut out = Vec::new();
        let mut w = FrameWriter::new(&mut out, 8);
        w.write(b"abc").await.unwrap();
        w.write(b"").await.unwrap();
        assert!(matches!(w.write(&[0u8; 9]).await, Err(FrameError::TooLarge { len: 9, max: 8 })));
        w.flush().await.unwrap();
        drop(w);
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 0]);
        let mut r = FrameReader::new(&out[..], 8);
        assert_eq!(r.read().await.unwrap().unwrap(), b"abc");
        assert_eq!(r.read().await.unwrap().unwrap(), b"");
        assert!(r.read().await.unwrap().is_none());
        // A truncated frame is an error, not a clean end.
        let mut r = FrameReader::new(&out[..5], 8);
        assert!(matches!(r.read().await, Err(FrameError::Io(_))));
        let mut r = FrameReader::new(&[0xff, 0xff, 0xff, 0xff][..], 8);
        assert!(matches!(r.read().await, Err(FrameError::TooLarge { len: 0xffff_ffff, max: 8 })));
    }

    /// Hands out at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self.data.len().min(self.step).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(()))
        }
    }

    async fn encode(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = FrameWriter::new(&mut out, 4 << 20);
        for f in frames {
            w.write(f).await.unwrap();
        }
        w.flush().await.unwrap();
        drop(w);
        out
    }

    #[tokio::test]
    async fn frame_buf_cuts_frames_out_of_any_read_pattern() {
        // Frames smaller than a read, larger than a fresh buffer, and empty.
        let sizes = [0, 1, 5, 70_000, 3, READ_CHUNK + 10, 0, 4096];
        let frames: Vec<Vec<u8>> =
            sizes.iter().enumerate().map(|(i, &n)| (0..n).map(|b| (b + i) as u8).collect()).collect();
        let wire = encode(&frames).await;
        for step in [1, 7, 4096, 3 << 20] {
            // Part of the stream was already taken off by an earlier reader.
            let (early, rest) = wire.split_at(10);
            let mut r = Trickle { data: rest, step };
            let mut buf = FrameBuf::new(early, 4 << 20);
            let mut got = Vec::new();
            loop {
                while let Some(f) = buf.next_frame().unwrap() {
                    got.push(f.to_vec());
                }
                if !buf.fill(&mut r).await.unwrap() {
                    break;
                }
            }
            assert_eq!(got, frames);
        }
        // An end inside a frame is an error; a length over the limit is refused at once.
        let mut buf = FrameBuf::new(&[], 4 << 20);
        assert!(buf.fill(&mut Trickle { data: &wire[..wire.len() - 1], step: 1 << 20 }).await.unwrap());
        while buf.next_frame().unwrap().is_some() {}
        assert!(matches!(buf.fill(&mut Trickle { data: &[], step: 1 }).await, Err(FrameError::Io(_))));
        let mut buf = FrameBuf::new(&[0, 0, 0x10, 0], 4095);
        assert!(matches!(buf.next_frame(), Err(FrameError::TooLarge { len: 4096, max: 4095 })));
    }

    proptest! {
        /// Hostile bytes never panic, and every frame returned is within the limit (the only
        /// allocation is of the checked length).
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..64) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut r = FrameReader::new(&bytes[..], max);
                let mut consumed = 0usize;
                loop {
                    match r.read().await {
                        Ok(Some(frame)) => {
                            prop_assert!(frame.len() <= max);
                            consumed += 4 + frame.len();
                            prop_assert!(consumed <= bytes.len());
                        }
                        Ok(None) => {
                            prop_assert_eq!(consumed, bytes.len());
                            break;
                        }
                        Err(FrameError::TooLarge { len, max: m }) => {
                            prop_assert!(len > m);
                            prop_assert_eq!(m, max);
                            break;
                        }
                        Err(FrameError::Io(_)) => break,
                    }
                }
                Ok(())
            })?;
        }

        /// The same for the batch reader, whatever the read sizes.
        #[test]
        fn frame_buf_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..64, step in 1usize..40) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut r = Trickle { data: &bytes, step };
                let mut buf = FrameBuf::new(&[], max);
                let mut consumed = 0usize;
                'read: loop {
                    loop {
                        match buf.next_frame() {
                            Ok(Some(frame)) => {
                                prop_assert!(frame.len() <= max);
                                consumed += 4 + frame.len();
                            }
                            Ok(None) => break,
                            Err(FrameError::TooLarge { len, max: m }) => {
                                prop_assert!(len > m);
                                break 'read;
                            }
                            Err(FrameError::Io(_)) => unreachable!("parsing does no i/o"),
                        }
                    }
                    match buf.fill(&mut r).await {
                        Ok(true) => {}
                        Ok(false) => {
                            prop_assert_eq!(consumed, bytes.len());
                            break;
                        }
                        Err(_) => {
                            prop_assert!(consumed < bytes.len());
                            break;
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
}
