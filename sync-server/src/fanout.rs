//! Delivery from a document actor to its subscribers, behind a small trait.
//!
//! A room never blocks on a subscriber: it hands each frame to the subscriber's [`Outlet`],
//! which either queues it or reports that the subscriber fell behind. The local outlet is a
//! connection's bounded queue; a multi-node deployment can add an outlet that publishes to the
//! node holding the connection, without changing the room.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};
use weft::sync::{Handle, Status};

/// Identifies one subscription: one connection's join of one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubId(pub u64);

/// What a room sends to a subscription.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// The answer to the subscription's join (a `Joined` frame); the subscription is live.
    Joined {
        /// The document's handle.
        handle: Handle,
        /// The subscription.
        sub: SubId,
        /// The encoded `Joined` frame.
        frame: Bytes,
    },
    /// Any other frame (an update or presence from others), shared by every receiver.
    Frame {
        /// The document's handle.
        handle: Handle,
        /// The subscription.
        sub: SubId,
        /// The encoded frame.
        frame: Bytes,
    },
    /// The room ended the subscription (for example because the document failed to load).
    Ended {
        /// The document's handle.
        handle: Handle,
        /// The subscription.
        sub: SubId,
        /// Why; sent to the client in `Left` or `JoinFailed`.
        status: Status,
    },
}

/// Why a message could not be handed to a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undelivered {
    /// The subscriber's queue is full: it must resync.
    Full,
    /// The subscriber is gone.
    Closed,
}

/// The delivery end of one subscription. Implementations must not block.
pub trait Outlet: Send + Sync + 'static {
    /// Queues a message for the subscriber.
    fn deliver(&self, msg: Outbound) -> Result<(), Undelivered>;

    /// Tells the subscriber's connection that the room dropped subscription `sub` because it
    /// fell behind, so it can ask the client to join again.
    fn lagged(&self, handle: Handle, sub: SubId);

    /// Whether the subscriber is gone for good.
    fn is_closed(&self) -> bool;
}

/// Subscriptions a connection lost to lag, waiting to be reported to its client.
#[derive(Debug, Default)]
pub struct LagSignal {
    lagged: Mutex<Vec<(Handle, SubId)>>,
    notify: Notify,
}

impl LagSignal {
    /// Records a lagged subscription and wakes the connection.
    pub fn push(&self, handle: Handle, sub: SubId) {
        if let Ok(mut v) = self.lagged.lock() {
            v.push((handle, sub));
        }
        self.notify.notify_one();
    }

    /// Takes every recorded subscription.
    pub fn take(&self) -> Vec<(Handle, SubId)> {
        self.lagged
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// Waits until something is recorded.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// The outlet of a connection on this node: its bounded outbound queue plus its lag signal.
#[derive(Clone, Debug)]
pub struct LocalOutlet {
    queue: mpsc::Sender<Outbound>,
    lag: Arc<LagSignal>,
}

impl LocalOutlet {
    /// An outlet feeding `queue` and reporting lag to `lag`.
    pub fn new(queue: mpsc::Sender<Outbound>, lag: Arc<LagSignal>) -> Self {
        Self { queue, lag }
    }
}

impl Outlet for LocalOutlet {
    fn deliver(&self, msg: Outbound) -> Result<(), Undelivered> {
        self.queue.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Undelivered::Full,
            mpsc::error::TrySendError::Closed(_) => Undelivered::Closed,
        })
    }

    fn lagged(&self, handle: Handle, sub: SubId) {
        self.lag.push(handle, sub);
    }

    fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}
