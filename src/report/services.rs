//! `fleetward services`: the fleet inventory, human and JSON (HELPER: to implement).

use crate::cli::ListFormat;
use crate::workspace::Fleet;
use std::io::{self, Write};

pub fn render(_fleet: &Fleet, _format: ListFormat, _out: &mut dyn Write) -> io::Result<()> {
    Ok(())
}
