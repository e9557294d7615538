//! `telegraf-rs`: the collector agent (issue #4). Not built yet: this binary only says so, so the workspace and its
//! CI gates cover the crate from the start.

fn main() {
    eprintln!("telegraf-rs: not implemented yet — see issue #4");
    std::process::exit(2);
}
