//! discover: one parallel walk of the tree (HELPER: to implement).
