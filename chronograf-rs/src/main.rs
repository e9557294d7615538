//! `chronograf-rs`: the web dashboard (issue #6). Not built yet: this binary only says so, so the workspace and its
//! CI gates cover the crate from the start.

fn main() {
    eprintln!("chronograf-rs: not implemented yet — see issue #6");
    std::process::exit(2);
}
