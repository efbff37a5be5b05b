//! `durafn start` with real Python apps: the seed article's app against Azurite, the v2
//! showcase's patterns, start-up errors, non-determinism between two runs, and SIGKILL of the
//! host and of its worker during hundreds of orchestrations.

mod common;
mod crash;
mod features;
mod nondeterminism;
mod seed;
mod startup;
mod v2;
