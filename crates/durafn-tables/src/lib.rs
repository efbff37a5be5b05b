//! The table store behind durafn's sample app.
//!
//! The app's audit query — count the distinct `identificationNumber`s of the
//! `audit` rows between two days whose `CertNumber` is not empty — runs
//! against either an embedded store (a local SQLite file, the default) or
//! Azure Table Storage and its emulator over REST. This crate provides:
//!
//! * [`filter`]: the OData `$filter` language of Azure Table Storage —
//!   parser, printer, `@parameter` binding;
//! * [`eval`]: the service's matching semantics, in Rust;
//! * [`store`]: the [`TableStore`] interface, its two implementations and
//!   [`open`], which picks one from a connection string;
//! * [`demo`]: deterministic synthetic audit rows and an independent oracle
//!   for the query's answer.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use durafn_tables::{Filter, Params, Query, demo};
//!
//! let store = durafn_tables::open("embedded", std::path::Path::new(".data"))?;
//! store.create_table("audit").await?;
//! let filter = Filter::parse(demo::AUDIT_FILTER)?;
//! let mut params = Params::new();
//! params.insert("start".into(), "2024-01-01".into());
//! params.insert("end".into(), "2024-01-31".into());
//! let query = Query::filter(filter.bind(&params)?).select([demo::ID_PROPERTY]);
//! let rows = store.query_all("audit", &query).await?;
//! let distinct: std::collections::HashSet<_> =
//!     rows.iter().filter_map(|r| r.get_str(demo::ID_PROPERTY)).collect();
//! println!("{}", distinct.len());
//! # Ok(())
//! # }
//! ```

pub mod demo;
pub mod entity;
pub mod eval;
pub mod filter;
pub mod store;

pub use entity::{Entity, Value};
pub use filter::{BoundFilter, Expr, Filter, Params};
pub use store::{Continuation, Page, Query, StoreError, TableStore, open};
