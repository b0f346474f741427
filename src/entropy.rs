//! Randomness for clients: the handshake key (§4.1) and frame masking keys (§5.3).
//!
//! The core never draws hidden randomness. A client is given a [`Seed`], which a ChaCha12
//! generator (the `rand_chacha` crate, the same construction as `rand::rngs::StdRng`) expands
//! into unpredictable masking keys. Tests and fuzzers pass a fixed seed and get reproducible
//! bytes; with the `std` feature, [`Seed::from_os`] reads one from the operating system.

use core::fmt;

use rand_chacha::ChaCha12Core;
use rand_core::block::BlockRngCore;
use rand_core::SeedableRng;

/// 32 bytes of entropy that seed a client's masking keys.
///
/// §5.3 requires masking keys that the application (and a script in a browser) cannot
/// predict: seed from a cryptographically secure source in production.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl Seed {
    /// A seed from caller-provided bytes (a hardware RNG, `getrandom`, or a fixed value in
    /// tests).
    #[must_use]
    pub const fn new(bytes: [u8; 32]) -> Seed {
        Seed(bytes)
    }

    /// A seed read from the operating system's secure random source.
    ///
    /// # Errors
    ///
    /// [`EntropyError`] if the operating system has no random source available.
    #[cfg(feature = "std")]
    pub fn from_os() -> Result<Seed, EntropyError> {
        use rand_core::TryRngCore;
        let mut bytes = [0u8; 32];
        rand_core::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| EntropyError)?;
        Ok(Seed(bytes))
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the seed: it determines every masking key.
        f.write_str("Seed(..)")
    }
}

/// The operating system's random source failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropyError;

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operating system's random source is unavailable")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EntropyError {}

/// The generator a client draws masking keys (and its handshake nonce) from.
///
/// The ChaCha12 block generator's output is buffered here rather than in `rand_core`'s
/// `BlockRng`, so that taking a key is a load and an index check inlined into the send path
/// (the generic `next_u32` call cost more than masking a small message). The stream of words
/// is the generator's, in order, exactly as `ChaCha12Rng` would return them.
#[derive(Clone)]
pub(crate) struct MaskRng {
    core: ChaCha12Core,
    words: Words,
    /// Index of the next unused word in `words`.
    next: usize,
}

/// One batch of the generator's output (64 words).
type Words = <ChaCha12Core as BlockRngCore>::Results;

impl MaskRng {
    pub(crate) fn new(seed: Seed) -> MaskRng {
        MaskRng {
            core: ChaCha12Core::from_seed(seed.0),
            words: Words::default(),
            // Empty: the first use generates.
            next: usize::MAX,
        }
    }

    /// The next word of the stream.
    #[inline]
    fn next_word(&mut self) -> u32 {
        match self.words.as_ref().get(self.next) {
            Some(&word) => {
                self.next += 1;
                word
            }
            None => self.refill(),
        }
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> u32 {
        self.core.generate(&mut self.words);
        self.next = 1;
        self.words.as_ref().first().copied().unwrap_or_default()
    }

    /// The next masking key.
    #[inline]
    pub(crate) fn mask(&mut self) -> [u8; 4] {
        self.next_word().to_ne_bytes()
    }

    /// Random bytes (a handshake nonce), four per word, little-endian as `fill_bytes` does.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(4) {
            let word = self.next_word().to_le_bytes();
            chunk.copy_from_slice(word.get(..chunk.len()).unwrap_or_default());
        }
    }
}

impl fmt::Debug for MaskRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskRng(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha12Rng;
    use rand_core::RngCore;

    /// The buffered keys are `ChaCha12Rng`'s stream, word for word, across refills, after a
    /// nonce drawn with `fill` as `fill_bytes` draws it.
    #[test]
    fn keys_are_the_chacha12_stream() {
        let seed = Seed::new(core::array::from_fn(|i| i as u8));
        let mut ours = MaskRng::new(seed);
        let mut reference = ChaCha12Rng::from_seed(seed.0);
        let (mut nonce, mut expected) = ([0u8; 16], [0u8; 16]);
        ours.fill(&mut nonce);
        reference.fill_bytes(&mut expected);
        assert_eq!(nonce, expected);
        for i in 0..300 {
            assert_eq!(ours.mask(), reference.next_u32().to_ne_bytes(), "key {i}");
        }
    }
}
