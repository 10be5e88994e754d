//! Rate limiting: a token bucket per connection for messages, bytes and presence.

use std::time::Instant;

/// A token bucket: holds at most `burst` tokens and refills at `rate` tokens per second.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes `n` tokens if the bucket holds them; otherwise takes nothing and returns false.
    pub fn try_take(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }
}

/// Counts requests refused for rate, so a client that keeps flooding can be disconnected.
///
/// Each refusal adds one strike; strikes decay by one per `1 / rate` seconds of good behaviour
/// (the bucket's own refill), and reaching `max` strikes means "close the connection".
#[derive(Clone, Debug)]
pub struct Strikes {
    bucket: TokenBucket,
}

impl Strikes {
    /// A counter that trips after `max` refusals in a burst, forgiving `rate` per second.
    pub fn new(rate: f64, max: f64, now: Instant) -> Self {
        Self {
            bucket: TokenBucket::new(rate, max, now),
        }
    }

    /// Records one refusal; returns true when the client has exhausted its patience.
    pub fn strike(&mut self, now: Instant) -> bool {
        !self.bucket.try_take(1.0, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 5.0, t0);
        for _ in 0..5 {
            assert!(b.try_take(1.0, t0));
        }
        assert!(!b.try_take(1.0, t0));
        assert!(b.try_take(1.0, t0 + Duration::from_millis(100)));
        assert!(!b.try_take(1.0, t0 + Duration::from_millis(100)));
        // Refill is capped at the burst.
        let later = t0 + Duration::from_secs(100);
        assert!(b.try_take(5.0, later));
        assert!(!b.try_take(1.0, later));
    }

    #[test]
    fn strikes_trip_after_max_and_decay() {
        let t0 = Instant::now();
        let mut s = Strikes::new(1.0, 3.0, t0);
        assert!(!s.strike(t0));
        assert!(!s.strike(t0));
        assert!(!s.strike(t0));
        assert!(s.strike(t0));
        assert!(!s.strike(t0 + Duration::from_secs(2)));
    }
}
