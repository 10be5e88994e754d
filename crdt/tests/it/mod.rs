mod api;
mod golden;
mod props;
mod regressions;
mod sim;
mod traces;
