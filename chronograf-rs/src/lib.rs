//! chronograf-rs: the web dashboard. Pages are rendered on the server (askama, escaped), charts
//! drawn in the browser by dygraphs (embedded from Debian's `libjs-dygraphs` at build time)
//! from compact JSON columns.
//!
//! Layout: [`config`] (`chronograf-rs.toml`), [`source`] (the store, queried as Chronograf does),
//! [`sources`] (the configured and UI-added sources), [`dashboards`] (saved
//! dashboards and their template variables), [`hosts`] (the host list's
//! queries), [`layouts`] (canned layouts in Chronograf's format and their query completion),
//! [`time_range`] (the pages' time ranges), [`http`]
//! (pages, JSON endpoints, assets), [`rules`] (threshold rules as Chronograf's TICKscript),
//! [`login`] (optional login and sessions), [`throttle`] (failed logins counted), [`csrf`] (same-origin and CSRF checks, login or
//! not), [`users`] (the store's users and grants on the admin page), [`template_vars`] (dashboards'
//! user variables).

pub mod config;
pub mod csrf;
pub mod dashboards;
pub mod hosts;
pub mod http;
pub mod layouts;
pub mod login;
pub mod rules;
pub mod source;
pub mod sources;
pub mod template_vars;
pub mod throttle;
pub mod time_range;
pub mod users;
