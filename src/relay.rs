//! Batches passed from one thread to the next, and passed back empty to be reused.
//!
//! A replay runs as a chain of threads (reading, analysing, rendering) joined by
//! relays. Work crosses a relay in batches, so that handing it over costs nothing per
//! frame; a bounded number of batches is in flight, so that a fast stage waits for a
//! slow one instead of filling memory; and each batch comes back to the thread that
//! filled it. Its buffers are then reused, and whatever its contents allocated is
//! freed on the thread that allocated it, malloc's fast path: freeing the timeline's
//! events on the other thread made two threads slower than one.

use std::mem;
use std::sync::mpsc;

/// What travels through a relay.
pub trait Batch: Send {
    /// An empty batch, ready to fill.
    fn empty() -> Self;
    /// Empties the batch, keeping its buffers.
    fn clear(&mut self);
    /// Whether it is full enough to hand over.
    fn is_full(&self) -> bool;
}

/// Full batches, at most this many at a time, wait for the receiving thread.
const IN_FLIGHT: usize = 8;

/// The filling end of a relay.
pub struct Filler<B> {
    full: mpsc::SyncSender<B>,
    spent: mpsc::Receiver<B>,
}

/// The emptying end of a relay.
pub struct Emptier<B> {
    full: mpsc::Receiver<B>,
    spent: mpsc::Sender<B>,
}

/// A new relay's two ends.
pub fn relay<B: Batch>() -> (Filler<B>, Emptier<B>) {
    let (full_tx, full_rx) = mpsc::sync_channel(IN_FLIGHT);
    let (spent_tx, spent_rx) = mpsc::channel();
    (Filler { full: full_tx, spent: spent_rx }, Emptier { full: full_rx, spent: spent_tx })
}

impl<B: Batch> Filler<B> {
    /// Hands `batch` over when it is full, leaving an empty one in its place. Returns
    /// `false` once the other end has gone: there is no point in going on.
    // Inlined: it is asked after every frame, and nearly always answers at once.
    #[inline]
    pub fn pass_if_full(&self, batch: &mut B) -> bool {
        if !batch.is_full() {
            return true;
        }
        self.pass(batch)
    }

    /// Hands `batch` over, leaving an empty one in its place.
    #[inline(never)]
    fn pass(&self, batch: &mut B) -> bool {
        let empty = match self.spent.try_recv() {
            Ok(mut spent) => {
                spent.clear();
                spent
            }
            Err(_) => B::empty(),
        };
        self.full.send(mem::replace(batch, empty)).is_ok()
    }

    /// Hands over the last batch, full or not.
    pub fn pass_last(self, batch: B) {
        // The other end may have stopped already; then nobody wants it.
        let _ = self.full.send(batch);
    }
}

impl<B: Batch> Emptier<B> {
    /// The next full batch, or `None` once the filling end has passed its last.
    pub fn next(&self) -> Option<B> {
        self.full.recv().ok()
    }

    /// Gives a batch that has been read back to the filling end.
    pub fn give_back(&self, batch: B) {
        // After its last batch the filling end takes nothing back: it is dropped here.
        let _ = self.spent.send(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Batch for Vec<u32> {
        fn empty() -> Self {
            Vec::with_capacity(4)
        }
        fn clear(&mut self) {
            Vec::clear(self)
        }
        fn is_full(&self) -> bool {
            self.len() >= 4
        }
    }

    #[test]
    fn everything_arrives_in_order_and_batches_come_back() {
        let (filler, emptier) = relay::<Vec<u32>>();
        let received = std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut batch = Vec::empty();
                for n in 0..1000 {
                    batch.push(n);
                    assert!(filler.pass_if_full(&mut batch));
                }
                filler.pass_last(batch);
            });
            let mut received = Vec::new();
            while let Some(batch) = emptier.next() {
                received.extend_from_slice(&batch);
                emptier.give_back(batch);
            }
            received
        });
        assert_eq!(received, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn the_filler_learns_that_the_emptier_has_gone() {
        let (filler, emptier) = relay::<Vec<u32>>();
        drop(emptier);
        let mut batch = vec![1, 2, 3, 4];
        assert!(!filler.pass_if_full(&mut batch));
    }
}
