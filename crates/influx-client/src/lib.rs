//! `influx-client`: the one async HTTP client every tick-rs daemon uses to talk to the store
//! (influx-rs, and InfluxDB 1.x, whose API it speaks). The agent writes through it, the
//! alerting engine writes and queries, the dashboard queries and proxies writes, and the store
//! itself forwards subscriptions with it: request building, authentication, gzip, error bodies
//! and failover live here once.
//!
//! # Layout
//! - [`ClientBuilder`] → [`Client`]: one or more base URLs, [`Auth`], timeouts, user agent,
//!   extra headers, gzip, and the [`Failover`] order in which the URLs are tried.
//! - [`Write`]: where a `/write` goes (database, retention policy, precision, consistency);
//!   [`WriteV2`]: where an `/api/v2/write` goes (org, bucket, precision).
//! - [`Query`]: an InfluxQL request (database, retention policy, [`Epoch`], chunking); answers
//!   are a typed [`QueryResponse`], or a [`Chunks`] stream of them when chunked.
//! - [`Error`]: what went wrong, typed: the store unreachable, the server's refusal with its
//!   status and words, a partial write with the number of points dropped, a missing database.
//!
//! A request that cannot reach a URL, or that a URL answers with a server error (5xx), is tried
//! on the next URL; an answer about the request itself (4xx) is returned at once, since another
//! node would say the same.
//!
//! ```no_run
//! use influx_client::{Auth, ClientBuilder, Epoch, Query, Write};
//!
//! # async fn run() -> Result<(), influx_client::Error> {
//! let client = ClientBuilder::new(["http://127.0.0.1:8086", "http://127.0.0.1:8087"])
//!     .auth(Auth::basic("admin", "secret"))
//!     .gzip(true)
//!     .build()?;
//! client.ping().await?;
//! client
//!     .write(&Write::new("telegraf"), b"cpu,host=a usage=0.5 1000\n".to_vec())
//!     .await?;
//! let answer = client
//!     .query(&Query::new("SELECT usage FROM cpu").database("telegraf").epoch(Epoch::Ms))
//!     .await?;
//! for series in &answer.results[0].series {
//!     println!("{} {:?}", series.name, series.values);
//! }
//! # Ok(())
//! # }
//! ```

mod auth;
mod client;
mod error;
mod query;
mod write;

pub use auth::Auth;
pub use client::{BackupStream, Client, ClientBuilder, Failover, Pong};
pub use error::{error_chain, Error};
pub use query::{Chunks, Epoch, Message, Query, QueryResponse, Series, StatementResult};
pub use write::{Write, WriteV2};
