//! Scenario files and their runner. Filled in by the scenarios issue.
