//! Sequence-number arithmetic: 32-bit numbers that wrap, compared as RFC 9293 §3.4 says.
//!
//! Raw sequence numbers live on a circle of 2^32 values, so `a < b` means "b lies less
//! than half the circle ahead of a". Every comparison in the tracker goes through here.

use std::fmt;

/// A raw TCP sequence or acknowledgment number as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The number `n` bytes (or sequence slots) further on, wrapping around 2^32.
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// How far `self` lies ahead of `base`, modulo 2^32: the relative number that
    /// Wireshark shows when `base` is the ISN.
    pub fn since(self, base: SeqNum) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// `self` comes strictly before `other` on the sequence circle.
    pub fn before(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self` comes before or is `other`.
    pub fn before_or_at(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) <= 0
    }

    /// `self` comes strictly after `other`.
    pub fn after(self, other: SeqNum) -> bool {
        other.before(self)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_survive_wraparound() {
        let near_top = SeqNum(u32::MAX - 2);
        let wrapped = near_top.plus(5);
        assert_eq!(wrapped, SeqNum(2));
        assert!(near_top.before(wrapped));
        assert!(wrapped.after(near_top));
        assert_eq!(wrapped.since(near_top), 5);
    }

    #[test]
    fn equal_numbers_are_neither_before_nor_after() {
        let a = SeqNum(7);
        assert!(!a.before(a));
        assert!(!a.after(a));
        assert!(a.before_or_at(a));
    }
}
