//! A stream adapter that polls its stream only when the stream asked for it.
//!
//! A connection's loop waits on its socket, its outbound queue, its timers and more at once, and
//! every time it wakes it polls all of them again. Most wake-ups are for frames to send, and
//! polling the socket's read half for nothing is not free: the WebSocket library takes its
//! lock, prepares its read buffer and asks the runtime for readiness each time. [`Woken`] hands
//! the stream a waker of its own and passes a poll through only if that waker fired since the
//! stream last returned `Pending` (or if it returned an item, since more may be buffered). A
//! stream that keeps the waker contract, as every tokio and tungstenite stream does, sees no
//! difference.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::Stream;
use futures_util::task::AtomicWaker;

/// Set when the inner stream's waker fires; wakes the task polling the adapter.
#[derive(Debug)]
struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Wraps a stream so that it is polled only after it woke its waker or yielded an item.
#[derive(Debug)]
pub struct Woken<S> {
    inner: S,
    signal: Arc<Signal>,
    waker: Waker,
}

impl<S> Woken<S> {
    /// Wraps `inner`; its first poll always goes through.
    pub fn new(inner: S) -> Self {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(Arc::clone(&signal));
        Self {
            inner,
            signal,
            waker,
        }
    }
}

impl<S: Stream + Unpin> Stream for Woken<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        // Registered before the flag is read, so a wake between the two is not lost.
        this.signal.task.register(cx.waker());
        if !this.signal.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut inner_cx = Context::from_waker(&this.waker);
        let polled = Pin::new(&mut this.inner).poll_next(&mut inner_cx);
        if polled.is_ready() {
            // It may hold more already: the next poll must reach it.
            this.signal.woken.store(true, Ordering::Release);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures_util::StreamExt;

    use super::*;

    /// Counts the polls that reach it; yields the items of a channel.
    struct Counted {
        rx: tokio::sync::mpsc::UnboundedReceiver<u32>,
        polls: Arc<AtomicUsize>,
    }

    impl Stream for Counted {
        type Item = u32;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            self.rx.poll_recv(cx)
        }
    }

    #[tokio::test]
    async fn passes_items_through_and_skips_polls_nothing_asked_for() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let polls = Arc::new(AtomicUsize::new(0));
        let mut s = Woken::new(Counted {
            rx,
            polls: Arc::clone(&polls),
        });
        let noop = Waker::noop();
        let mut cx = Context::from_waker(noop);
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(polls.load(Ordering::Relaxed), 1);
        // Polls without a wake in between do not reach the stream.
        for _ in 0..5 {
            assert_eq!(s.poll_next_unpin(&mut cx), Poll::Pending);
        }
        assert_eq!(polls.load(Ordering::Relaxed), 1);
        // Items sent meanwhile wake it; several queued ones come out one poll each.
        for i in 0..3 {
            tx.send(i).ok();
        }
        for i in 0..3 {
            assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(Some(i)));
        }
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Pending);
        let reached = polls.load(Ordering::Relaxed);
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Pending);
        assert_eq!(polls.load(Ordering::Relaxed), reached);
        drop(tx);
        assert_eq!(s.next().await, None);
    }

    #[tokio::test]
    async fn wakes_the_task_waiting_on_it() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = Woken::new(Counted {
            rx,
            polls: Arc::new(AtomicUsize::new(0)),
        });
        let reader = tokio::spawn(async move { s.next().await });
        tokio::task::yield_now().await;
        tx.send(7).ok();
        assert_eq!(reader.await.ok().flatten(), Some(7));
    }
}
