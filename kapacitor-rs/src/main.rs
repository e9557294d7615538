//! `kapacitor-rs`: the alerting engine (issue #5). Not built yet: this binary only says so, so the workspace and its
//! CI gates cover the crate from the start.

fn main() {
    eprintln!("kapacitor-rs: not implemented yet — see issue #5");
    std::process::exit(2);
}
