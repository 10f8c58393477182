//! What the engines tell the outside while they work. They never print: a renderer in
//! `output::progress` turns these events into bars or log lines, or drops them.

/// Receives the start of each file's transfer.
pub trait Events: Send + Sync {
    /// A file's bytes start moving; `total` when the size is known.
    fn started(&self, name: &str, total: Option<u64>) -> Box<dyn FileEvents>;
}

/// The progress of one file's transfer.
pub trait FileEvents: Send + Sync {
    /// `bytes` more were sent or received.
    fn advanced(&self, bytes: u64);
    /// A retry starts over, or resumes, at `position`.
    fn rewound(&self, position: u64);
    /// Done and verified.
    fn finished(&self);
    /// Given up.
    fn failed(&self);
}

/// Events nobody listens to.
pub struct NoEvents;

impl Events for NoEvents {
    fn started(&self, _name: &str, _total: Option<u64>) -> Box<dyn FileEvents> {
        Box::new(NoEvents)
    }
}

impl FileEvents for NoEvents {
    fn advanced(&self, _bytes: u64) {}
    fn rewound(&self, _position: u64) {}
    fn finished(&self) {}
    fn failed(&self) {}
}
