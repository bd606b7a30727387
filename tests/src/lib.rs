//! Shared harness for the workspace's end-to-end tests: local upstreams on
//! loopback, a test CA and a test resolver (being built with the transport).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
