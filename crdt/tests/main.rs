//! The integration-test binary of the `weft` crate: convergence simulations, trace replays,
//! format round-trips and golden files, merge laws, and named regressions.

mod it;
