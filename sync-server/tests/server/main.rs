//! Integration tests of `weft-server` over real sockets on 127.0.0.1 (one test binary).

mod bad_input;
mod common;
mod durability;
mod fanout_order;
mod http_ops;
mod pipe;
mod slow_consumer;
mod sync_flow;
