//! SIGINT and SIGTERM as a request to stop at a safe point, for both front ends.
//!
//! The first signal interrupts the run ([`super::Interrupt`]): it finishes what is in flight,
//! releases the Lease and reports where it stopped. A second SIGINT means "now": the process
//! exits at once with 130, as shells expect of Ctrl-C (the Lease is then taken over by the next
//! run on this host, see [`super::holder`]).

use tokio::signal::unix::{SignalKind, signal};

use super::interrupt::{self, Interrupt};

/// Installs the handlers and returns the engine's half. Must be called inside the runtime.
/// `on_first` is told the signal's name when the first one arrives (the CLI prints a line).
pub fn install(on_first: impl Fn(&str) + Send + 'static) -> Interrupt {
    let (interrupter, interrupt) = interrupt::channel();
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot install signal handlers: SIGINT and SIGTERM stop the run at once");
        return interrupt;
    };
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let name = tokio::select! {
                Some(()) = int.recv() => "SIGINT",
                Some(()) = term.recv() => "SIGTERM",
                else => return,
            };
            if !first && name == "SIGINT" {
                eprintln!("second SIGINT: exiting now; the next run takes the Lease over");
                std::process::exit(130);
            }
            if first {
                on_first(name);
                first = false;
            }
            interrupter.interrupt(name);
        }
    });
    interrupt
}
