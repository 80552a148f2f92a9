//! The events published so far: the capture thread appends JSON lines, each page's event
//! stream reads from wherever it stands. A page that comes late, or comes back after
//! losing its connection, asks for everything after the last line it has, so it gets
//! every line once.

use std::sync::{Arc, Mutex};
use tokio::sync::watch;

pub struct Hub {
    lines: Mutex<Vec<Arc<str>>>,
    /// How many lines there are; a stream waits on it for the next ones.
    count: watch::Sender<usize>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub { lines: Mutex::new(Vec::new()), count: watch::Sender::new(0) })
    }

    /// Adds one JSON line (without its newline).
    pub fn publish(&self, line: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.push(Arc::from(line));
        self.count.send_replace(lines.len());
    }

    /// Up to `most` lines after the first `after`.
    pub fn since(&self, after: usize, most: usize) -> Vec<Arc<str>> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().skip(after).take(most).cloned().collect()
    }

    pub fn len(&self) -> usize {
        *self.count.borrow()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes whenever lines are added.
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_reader_gets_every_line_once() {
        let hub = Hub::new();
        for n in 0..5 {
            hub.publish(&format!("{{\"n\":{n}}}"));
        }
        assert_eq!(hub.since(0, 2).len(), 2);
        let rest: Vec<String> = hub.since(2, 100).iter().map(|l| l.to_string()).collect();
        assert_eq!(rest, ["{\"n\":2}", "{\"n\":3}", "{\"n\":4}"]);
        assert!(hub.since(5, 100).is_empty());
        assert_eq!(hub.len(), 5);
    }
}
