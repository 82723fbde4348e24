//! Byte-level reading and writing: LEB128 varints, length-prefixed strings.
//! Every length read is checked against the bytes actually left, so a tiny
//! input can never make us allocate a lot or loop for long.

use crate::error::DecodeError;

#[derive(Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn uvarint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn ivarint(&mut self, v: i64) {
        // zigzag
        self.uvarint(((v << 1) ^ (v >> 63)).cast_unsigned());
    }

    pub fn len(&mut self, n: usize) {
        self.uvarint(n as u64);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.raw(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The byte `k` places ahead, not consumed.
    pub fn peek_at(&self, k: usize) -> Option<u8> {
        self.data.get(self.pos + k).copied()
    }

    /// Skips `n` bytes the caller has checked are there.
    pub fn skip(&mut self, n: usize) {
        assert!(n <= self.remaining(), "skipping past the end");
        self.pos += n;
    }

    /// The next byte, not consumed.
    pub fn peek(&self) -> Result<u8, DecodeError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::Truncated)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.data.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.raw(N)?);
        Ok(out)
    }

    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::BadVarint);
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                // Reject non-canonical encodings (trailing zero groups) so
                // every value has exactly one encoding.
                if byte == 0 && shift > 0 {
                    return Err(DecodeError::BadVarint);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint)
    }

    pub fn ivarint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok((u >> 1).cast_signed() ^ -(u & 1).cast_signed())
    }

    /// A count of items, each taking at least `min_item_bytes` of input:
    /// rejected if the input cannot possibly hold that many.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.uvarint()?;
        let max = self.remaining() / min_item_bytes.max(1);
        if n > max as u64 {
            return Err(DecodeError::LengthTooLarge(n));
        }
        Ok(n as usize)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.count(1)?;
        self.raw(n)
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::BadUtf8)
    }

    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut w = Writer::new();
            w.uvarint(u);
            w.ivarint(i);
            let bytes = w.into_inner();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.uvarint().unwrap(), u);
            prop_assert_eq!(r.ivarint().unwrap(), i);
            prop_assert!(r.finish().is_ok());
        }
    }

    #[test]
    fn huge_declared_lengths_are_rejected_before_allocating() {
        // A few bytes claiming a 250 MB string (yrs #639).
        let mut w = Writer::new();
        w.uvarint(250_000_000);
        let bytes = w.into_inner();
        assert_eq!(
            Reader::new(&bytes).bytes(),
            Err(DecodeError::LengthTooLarge(250_000_000))
        );
        assert_eq!(
            Reader::new(&[0xff; 11]).uvarint(),
            Err(DecodeError::BadVarint)
        );
        assert_eq!(
            Reader::new(&[0x80, 0x00]).uvarint(),
            Err(DecodeError::BadVarint),
            "non-canonical"
        );
        assert_eq!(Reader::new(&[0x80]).uvarint(), Err(DecodeError::Truncated));
    }
}
