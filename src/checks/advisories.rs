//! `advisories/*`: every lockfile audited against the RustSec database (HELPER: to implement).

use super::CheckCtx;
use crate::db::AdvisoryDb;
use crate::diag::Sink;

pub fn check(_ctx: &CheckCtx<'_>, _db: &AdvisoryDb, _sink: &Sink) {}
