//! The dataset the query compatibility tests read, loaded the same way into the reference
//! server and into influx-rs.

use super::reference::post;

/// A small deterministic dataset: 3 hosts in 2 regions, integer and float fields, 10 s apart
/// over 30 minutes from 2020-01-01T00:00:00Z, with a gap and a second measurement.
pub fn query_dataset() -> String {
    let base: i64 = 1_577_836_800_000_000_000;
    let mut out = String::new();
    for i in 0..180i64 {
        let t = base + i * 10_000_000_000;
        for (h, region) in [("a", "eu"), ("b", "eu"), ("c", "us")] {
            if h == "b" && (60..90).contains(&i) {
                continue; // a gap in one series
            }
            let k = i * 7 + h.len() as i64 * 13 + i64::from(h.as_bytes()[0]);
            out.push_str(&format!(
                "cpu,host={h},region={region} usage={}.{},count={}i,ok={} {t}\n",
                k % 100,
                k % 10,
                k % 17,
                k % 3 == 0
            ));
        }
        if i % 6 == 0 {
            out.push_str(&format!(
                "mem,host=a used={}i,free={}.5 {t}\n",
                1000 + i,
                50 - i % 20
            ));
        }
    }
    // A field and a tag of one key (`core`), fields of every type; booleans for min/max.
    for (i, line) in [
        "dup,host=a,region=us usage=1.5,idle=10i,core=1i,msg=\"x\"",
        "dup,host=b,region=us usage=2.5,idle=20i,core=2i,msg=\"y\"",
        "dup,host=a,region=eu,core=c1 usage=3.5,idle=30i",
        "dup,host=c,region=eu usage=-4.5,idle=40i,core=4i,flag=true",
        "bm v=true",
        "bm v=false",
        "bm v=true",
        "bm,h=x v=false",
    ]
    .iter()
    .enumerate()
    {
        out.push_str(&format!(
            "{line} {}\n",
            base + (i as i64 % 4 + 1) * 1_000_000_000
        ));
    }
    out
}

/// Creates database `db` on both servers and writes [`query_dataset`] to it.
pub fn load_query_dataset(ports: [u16; 2], db: &str) {
    let data = query_dataset();
    for port in ports {
        post(
            port,
            "/query",
            &[("q", &format!("CREATE DATABASE {db}"))],
            "",
        );
        let r = post(port, "/write", &[("db", db)], &data);
        assert_eq!(r.status, 204, "{}", r.body);
    }
}
