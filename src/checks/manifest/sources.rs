//! (being written)
use crate::checks::CheckCtx;
use crate::diag::Sink;

pub fn check(_ctx: &CheckCtx<'_>, _sink: &Sink) {}
