//! `influx-client`: the async HTTP client the other daemons will use to talk to influx-rs
//! (write batches, query, ping). Empty until its first user, telegraf-rs (issue #4), lands.
