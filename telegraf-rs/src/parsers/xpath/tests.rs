use super::*;
use crate::parsers::{Parser, ParserConfig};
use proptest::prelude::*;

fn parser(format: &str, tables: &str) -> Parser {
    let mut config: ParserConfig = toml::from_str(tables).unwrap();
    config.data_format = Some(format.into());
    Parser::new(&config, "influx").unwrap()
}

fn lines(p: &Parser, body: &str) -> Vec<String> {
    p.parse(body.as_bytes(), "file", 7)
        .unwrap()
        .iter()
        .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
        .map(|l| l.trim_end().to_string())
        .collect()
}

const GATEWAY: &str = r#"<?xml version="1.0"?>
<Gateway>
  <Name>Main Gateway</Name>
  <Timestamp>2020-08-01T15:04:03Z</Timestamp>
  <Bus>
    <Sensor name="Sensor Facility A">
      <Variable temperature="20.0"/><Variable power="123.4"/><Variable consumers="3"/>
      <Mode>busy</Mode>
    </Sensor>
    <Sensor name="Sensor Facility B">
      <Variable temperature="23.1"/><Variable power="14.3"/><Variable consumers="1"/>
      <Mode>ok</Mode>
    </Sensor>
  </Bus>
</Gateway>"#;

#[test]
fn xml_fields_tags_and_time_as_telegrafs_readme_configures_them() {
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_selection = \"/Gateway/Bus/child::Sensor\"\n\
         metric_name = \"string('sensors')\"\ntimestamp = \"/Gateway/Timestamp\"\n\
         timestamp_format = \"2006-01-02T15:04:05Z\"\n\
         [xpath.tags]\nname = \"substring-after(@name, ' ')\"\ngateway = \"/Gateway/Name\"\n\
         [xpath.fields_int]\nconsumers = \"Variable/@consumers\"\n\
         [xpath.fields]\ntemperature = \"number(Variable/@temperature)\"\n\
         power = \"number(Variable/@power)\"\nok = \"Mode = 'ok'\"\nmode = \"Mode\"\n",
    );
    assert_eq!(
        lines(&p, GATEWAY),
        [
            "sensors,gateway=Main\\ Gateway,name=Facility\\ A consumers=3i,mode=\"busy\",ok=false,power=123.4,temperature=20 1596294243000000000",
            "sensors,gateway=Main\\ Gateway,name=Facility\\ B consumers=1i,mode=\"ok\",ok=true,power=14.3,temperature=23.1 1596294243000000000",
        ]
    );
}

#[test]
fn telegrafs_readme_example_with_two_top_level_elements() {
    let body = "<?xml version=\"1.0\"?>\n<Gateway>\n  <Name>Main Gateway</Name>\n  \
                <Timestamp>2020-08-01T15:04:03Z</Timestamp>\n  <Sequence>12</Sequence>\n  \
                <Status>ok</Status>\n</Gateway>\n\n<Bus>\n  <Sensor name=\"Sensor Facility A\">\n    \
                <Variable temperature=\"20.0\"/>\n    <Variable consumers=\"3\"/>\n  </Sensor>\n</Bus>\n";
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_name = \"name(/Gateway/Status)\"\ntimestamp = \"/Gateway/Timestamp\"\n\
         timestamp_format = \"2006-01-02T15:04:05Z\"\n[xpath.tags]\n\
         gateway = \"substring-before(/Gateway/Name, ' ')\"\n[xpath.fields_int]\nseqnr = \"/Gateway/Sequence\"\n\
         [xpath.fields]\nok = \"/Gateway/Status = 'ok'\"\n",
    );
    assert_eq!(
        lines(&p, body),
        ["Status,gateway=Main seqnr=12i,ok=true 1596294243000000000"]
    );
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_selection = \"/Bus/child::Sensor\"\nmetric_name = \"string('sensors')\"\n\
         field_selection = \"child::Variable\"\nfield_name = \"name(@*[1])\"\nfield_value = \"number(@*[1])\"\n\
         [xpath.tags]\nname = \"substring-after(@name, ' ')\"\n",
    );
    assert_eq!(
        lines(&p, body),
        ["sensors,name=Facility\\ A temperature=20,consumers=3 7"]
    );
}

#[test]
fn xml_batches_name_fields_by_their_nodes() {
    // The older table name `[[….xml]]` is read too.
    let p = parser(
        "xml",
        "[[xml]]\nmetric_selection = \"//Sensor\"\nfield_selection = \"Variable/@*\"\n\
         tag_selection = \"@name\"\n",
    );
    assert_eq!(
        lines(&p, GATEWAY),
        [
            "file,name=Sensor\\ Facility\\ A temperature=\"20.0\",power=\"123.4\",consumers=\"3\" 7",
            "file,name=Sensor\\ Facility\\ B temperature=\"23.1\",power=\"14.3\",consumers=\"1\" 7",
        ]
    );
    // Repeated names get `_1`, `_2`…; explicit fields keep theirs.
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_selection = \"//Sensor[1]\"\nfield_selection = \"*\"\n\
         field_value = \"count(@*)\"\n[xpath.fields]\nMode = \"'explicit'\"\n",
    );
    assert_eq!(
        lines(&p, GATEWAY),
        ["file Mode=\"explicit\",Variable=1,Variable_1=1,Variable_2=1,Mode_1=0 7"]
    );
}

const WEATHER: &str = r#"{"city": {"name": "Lyon", "id": 42},
  "list": [{"dt": 1596294243, "main": {"temp": 20.5, "humidity": 60}, "ok": true},
           {"dt": 1596297843, "main": {"temp": 19, "humidity": 65}, "ok": false}]}"#;

#[test]
fn json_documents_through_xpath() {
    let p = parser(
        "xpath_json",
        "[[xpath]]\nmetric_name = \"'weather'\"\nmetric_selection = \"//list/*\"\ntimestamp = \"dt\"\n\
         [xpath.tags]\ncity = \"/city/name\"\nid = \"number(/city/id)\"\n\
         [xpath.fields_int]\nhumidity = \"main/humidity\"\n\
         [xpath.fields]\ntemperature = \"number(main/temp)\"\nok = \"ok = 'true'\"\n",
    );
    assert_eq!(
        lines(&p, WEATHER),
        [
            "weather,city=Lyon,id=42 humidity=60i,ok=true,temperature=20.5 1596294243000000000",
            "weather,city=Lyon,id=42 humidity=65i,ok=false,temperature=19 1596297843000000000",
        ]
    );
}

#[test]
fn json_arrays_by_name_and_position() {
    // The shape of Telegraf's `json_array_indexing` case.
    let p = parser(
        "xpath_json",
        "xpath_native_types = true\n[[xpath]]\nmetric_name = \"'nvme'\"\n\
         [xpath.tags]\ndevice = \"string(/device/name)\"\n\
         [xpath.fields_int]\nfirst = \"number(//spaces[1]/id)\"\nsecond = \"//spaces[2]/size/bytes\"\n",
    );
    let body = r#"{"device": {"name": "/dev/nvme1"},
                   "spaces": [{"id": 1, "size": {"bytes": 960197124096}}, {"id": 2, "size": {"bytes": 500107862016}}]}"#;
    assert_eq!(
        lines(&p, body),
        ["nvme,device=/dev/nvme1 first=1i,second=500107862016i 7"]
    );
}

#[test]
fn native_types_and_name_expansion() {
    // The shapes of Telegraf's `name_expansion` and `json_array_expand_simple_types` cases.
    let body = r#"{"dev": {"a": 1.5, "b": true, "sub": {"c": "x", "d": [3, 4]},
                   "legs": [{"v": 1}, {"v": 2}]}}"#;
    let tables = "[[xpath]]\nmetric_selection = \"/dev\"\n\
                  field_selection = \"descendant::*[not(*)]\"\nfield_name_expansion = true\n";
    let typed = parser(
        "xpath_json",
        &format!("xpath_native_types = true\n{tables}"),
    );
    assert_eq!(
        lines(&typed, body),
        ["file a=1.5,b=true,sub_c=\"x\",sub_d_0=3,sub_d_1=4,legs_0_v=1,legs_1_v=2 7"]
    );
    let texts = parser("xpath_json", tables);
    assert_eq!(
        lines(&texts, body),
        ["file a=\"1.5\",b=\"true\",sub_c=\"x\",sub_d_0=\"3\",sub_d_1=\"4\",legs_0_v=\"1\",legs_1_v=\"2\" 7"]
    );
}

#[test]
fn bad_documents_queries_and_selections_are_named() {
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_selection = \"/none\"\n[xpath.fields]\na = \"1\"\n",
    );
    let err = p.parse(GATEWAY.as_bytes(), "file", 0).unwrap_err();
    assert!(
        err.contains("empty selection") && err.contains("/none"),
        "{err}"
    );
    let p = parser(
        "xml",
        "xpath_allow_empty_selection = true\n[[xpath]]\nmetric_selection = \"/none\"\n",
    );
    assert!(p.parse(GATEWAY.as_bytes(), "file", 0).unwrap().is_empty());
    assert!(p.parse(b"<open>", "file", 0).unwrap_err().contains("XML"));
    let p = parser("xpath_json", "[[xpath]]\n[xpath.fields]\na = \"1\"\n");
    assert!(p.parse(b"{", "file", 0).unwrap_err().contains("JSON"));
    let mut config: ParserConfig =
        toml::from_str("[[xpath]]\n[xpath.fields]\nbroken = \"a[\"\n").unwrap();
    config.data_format = Some("xml".into());
    let err = Parser::new(&config, "influx").unwrap_err();
    assert!(err.contains("broken") && err.contains("a["), "{err}");
    config.xpath.clear();
    assert!(Parser::new(&config, "influx").is_err());
    let p = parser(
        "xml",
        "[[xpath]]\nmetric_name = \"1 + 1\"\n[xpath.fields]\na = \"1\"\n",
    );
    let err = p.parse(GATEWAY.as_bytes(), "file", 0).unwrap_err();
    assert!(err.contains("metric name"), "{err}");
    let p = parser(
        "xml",
        "[[xpath]]\n[xpath.fields_int]\na = \"string('x')\"\n",
    );
    assert!(p
        .parse(GATEWAY.as_bytes(), "file", 0)
        .unwrap_err()
        .contains("\"a\""));
}

#[test]
fn numbers_as_go_writes_tags() {
    assert_eq!(go_g_format(1234567.0), "1.234567E+06");
    assert_eq!(go_g_format(100000.0), "100000");
    assert_eq!(go_g_format(12.5), "12.5");
    assert_eq!(go_g_format(0.00001), "1E-05");
    assert_eq!(go_g_format(-2.0), "-2");
}

proptest! {
    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..300),
                    query in "[a-z/@*.()\\[\\]'=<>|0-9 -]{0,24}") {
        let tables = format!("[[xpath]]\nmetric_selection = \"//*\"\n[xpath.fields]\nq = {query:?}\n");
        let Ok(mut config) = toml::from_str::<ParserConfig>(&tables) else { return Ok(()); };
        for format in ["xml", "xpath_json", "xpath_msgpack"] {
            config.data_format = Some(format.into());
            if let Ok(p) = Parser::new(&config, "influx") {
                let _ = p.parse(&body, "file", 0);
                let _ = p.parse(GATEWAY.as_bytes(), "file", 0);
                let _ = p.parse(WEATHER.as_bytes(), "file", 0);
            }
        }
    }

    #[test]
    fn json_numbers_read_back(values in proptest::collection::vec(-1e9f64..1e9, 1..8)) {
        let body = serde_json::to_string(&serde_json::json!({ "v": values })).unwrap();
        let p = parser("xpath_json", "[[xpath]]\nmetric_selection = \"/v/*\"\n[xpath.fields]\nx = \"number(.)\"\n");
        let got: Vec<f64> = p.parse(body.as_bytes(), "file", 0).unwrap().iter()
            .map(|m| match m.field("x") { Some(FieldValue::Float(f)) => *f, other => panic!("{other:?}") })
            .collect();
        prop_assert_eq!(got, values);
    }
}

#[test]
fn msgpack_is_read_as_the_json_it_converts_to() {
    let config: ParserConfig = toml::from_str(
        "data_format = \"xpath_msgpack\"\n[[xpath]]\n  metric_name = \"'m'\"\n  [xpath.fields]\n    v = \"number(//v)\"\n",
    )
    .unwrap();
    let parser = XpathParser::new(Format::Msgpack, &config).unwrap();
    // {"v": 7}
    let got = parser.parse(&[0x81, 0xa1, b'v', 0x07], "file", 1).unwrap();
    assert_eq!(got[0].field("v"), Some(&FieldValue::Float(7.0)));
    // Truncated, a map with an integer key (JSON cannot hold it), an array cut short.
    for bad in [&[0x81, 0xa1][..], &[0x81, 0x01, 0x02], &[0xdd, 0xff]] {
        let e = parser.parse(bad, "file", 1).unwrap_err();
        assert!(e.contains("MessagePack"), "{e}");
    }
    // Binary as base64 and an extension as {"type", "data"}, as msgp writes them.
    assert_eq!(
        msgpack_to_json(&[0x82, 0xa1, b'b', 0xc4, 0x02, 0xff, 0x00, 0xa1, b'e', 0xd4, 0x05, 0x41])
            .unwrap(),
        r#"{"b":"/wA=","e":{"data":"QQ==","type":5}}"#
    );
}

proptest! {
    /// Any map of names to numbers, written as MessagePack, reads back field by field.
    #[test]
    fn msgpack_maps_read_back(values in proptest::collection::btree_map("[a-z]{1,6}", -1e9f64..1e9, 1..6)) {
        let config: ParserConfig = toml::from_str(
            "data_format = \"xpath_msgpack\"\nxpath_native_types = true\n[[xpath]]\n  metric_name = \"'m'\"\n  field_selection = \"/*\"\n",
        )
        .unwrap();
        let parser = XpathParser::new(Format::Msgpack, &config).unwrap();
        let map = values
            .iter()
            .map(|(k, v)| (rmpv::Value::from(k.as_str()), rmpv::Value::F64(*v)))
            .collect();
        let mut body = Vec::new();
        rmpv::encode::write_value(&mut body, &rmpv::Value::Map(map)).unwrap();
        let got = parser.parse(&body, "file", 1).unwrap();
        for (name, v) in &values {
            prop_assert_eq!(got[0].field(name), Some(&FieldValue::Float(*v)));
        }
    }
}
