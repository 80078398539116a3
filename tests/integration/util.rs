//! The temp-repo builder and helpers to run the real binary.
