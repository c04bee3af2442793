//! Simulated Spark Cores. Filled in by the device-protocol issue.
