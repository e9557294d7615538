//! Dashboards' user template variables, as Chronograf has them: a variable (`:host:`) takes
//! its values from a meta-query (databases, measurements, field keys, tag keys, tag values, or
//! any InfluxQL, which may use the variables before it), a CSV list, a map (a name shown for
//! each value) or free text; the chosen value replaces the variable in the cells' queries,
//! quoted as Chronograf quotes it (`"db"` for names, `'value'` for tag values, verbatim for
//! lists, maps, text and custom queries when the value is one plain token, and escaped inside
//! the quotes or regular expression the query puts it in). Values are written with the
//! `influxql` crate's quoting, so no value can end a literal or add a statement.

use serde::{Deserialize, Serialize};

/// Names Chronograf reserves for its own variables.
const RESERVED: &[&str] = &[
    ":database:",
    ":measurement:",
    ":dashboardTime:",
    ":upperDashboardTime:",
    ":interval:",
    ":upper:",
    ":lower:",
    ":zoomedUpper:",
    ":zoomedLower:",
    ":refreshRate:",
];

/// One value of a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateValue {
    /// The value.
    pub value: String,
    /// Whether it is the one chosen by default.
    #[serde(default)]
    pub selected: bool,
    /// The name shown for the value (`map` variables).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// Where a meta-query variable reads its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateQuery {
    /// Database.
    #[serde(default)]
    pub db: String,
    /// Measurement.
    #[serde(default)]
    pub measurement: String,
    /// Tag key (tag values).
    #[serde(default, rename = "tagKey")]
    pub tag_key: String,
    /// A custom meta-query (`influxql`): its first column.
    #[serde(default)]
    pub influxql: String,
}

/// A user variable of a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVar {
    /// `:name:`.
    #[serde(rename = "tempVar")]
    pub temp_var: String,
    /// `databases`, `measurements`, `fieldKeys`, `tagKeys`, `tagValues`, `influxql`, `csv`,
    /// `map` or `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The listed values (`csv`), the text (`text`), or the default choice of the others.
    #[serde(default)]
    pub values: Vec<TemplateValue>,
    /// Where meta-query variables read their values.
    #[serde(default)]
    pub query: TemplateQuery,
}

/// How a chosen value is written into a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Double,
    Single,
    Verbatim,
}

impl TemplateVar {
    /// The variable's name without colons (the key of `?tempVars[name]=`).
    pub fn key(&self) -> &str {
        self.temp_var.trim_matches(':')
    }

    /// Why the variable cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let name = self.key();
        let well_formed = self.temp_var.len() > 2
            && self.temp_var.starts_with(':')
            && self.temp_var.ends_with(':')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !well_formed {
            return Some(format!(
                "invalid template variable {:?} (like :host:)",
                self.temp_var
            ));
        }
        if RESERVED.contains(&self.temp_var.as_str()) {
            return Some(format!("{} is reserved", self.temp_var));
        }
        if self.quoting().is_none() {
            return Some(format!(
                "unknown template variable type {:?} (databases, measurements, fieldKeys, tagKeys, tagValues, influxql, csv, map, text)",
                self.kind
            ));
        }
        None
    }

    fn quoting(&self) -> Option<Quoting> {
        Some(match self.kind.as_str() {
            "databases" | "measurements" | "fieldKeys" | "tagKeys" => Quoting::Double,
            "tagValues" => Quoting::Single,
            "influxql" | "csv" | "map" | "text" => Quoting::Verbatim,
            _ => return None,
        })
    }

    /// The name shown for option `value`: its map key, else the value itself.
    pub fn label<'a>(&'a self, value: &'a str) -> &'a str {
        self.values
            .iter()
            .find(|v| v.value == value && !v.key.is_empty())
            .map_or(value, |v| v.key.as_str())
    }

    /// The meta-query giving the values, with the database to run it on and the column to
    /// read; `None` for lists, maps and text. A custom meta-query may use the variables chosen
    /// before this one (`bindings`).
    pub fn meta_query(
        &self,
        bindings: &[(TemplateVar, String)],
    ) -> Option<(String, String, usize)> {
        let q = &self.query;
        let on = |what: &str| format!("{what} ON {}", influxql::quote_ident(&q.db));
        Some(match self.kind.as_str() {
            "databases" => (String::new(), "SHOW DATABASES".into(), 0),
            "measurements" => (q.db.clone(), on("SHOW MEASUREMENTS"), 0),
            "fieldKeys" => (
                q.db.clone(),
                format!(
                    "{} FROM {}",
                    on("SHOW FIELD KEYS"),
                    influxql::quote_ident(&q.measurement)
                ),
                0,
            ),
            "tagKeys" => (
                q.db.clone(),
                format!(
                    "{} FROM {}",
                    on("SHOW TAG KEYS"),
                    influxql::quote_ident(&q.measurement)
                ),
                0,
            ),
            "tagValues" => (
                q.db.clone(),
                format!(
                    "{} FROM {} WITH KEY = {}",
                    on("SHOW TAG VALUES"),
                    influxql::quote_ident(&q.measurement),
                    influxql::quote_ident(&q.tag_key)
                ),
                1,
            ),
            "influxql" => (q.db.clone(), substitute(&q.influxql, bindings), 0),
            _ => return None,
        })
    }

    /// The value to use: `requested` when it is one of `options` (or the variable is free
    /// text), else the default choice, else the first option.
    pub fn choose(&self, options: &[String], requested: Option<&str>) -> Option<String> {
        if let Some(r) = requested {
            if self.kind == "text" || options.iter().any(|o| o == r) {
                return Some(r.to_string());
            }
        }
        self.values
            .iter()
            .find(|v| v.selected && (self.kind == "text" || options.contains(&v.value)))
            .map(|v| v.value.clone())
            .or_else(|| options.first().cloned())
    }

    /// `value` as this variable writes it at a place of `context`: inside quotes or a regex
    /// the template has, escaped for them; elsewhere a name as an identifier, a tag value as a
    /// string, and the verbatim kinds as they are if they are one plain token, else as a
    /// string. Never anything that could end a literal or start another statement.
    fn written(&self, value: &str, context: Context) -> String {
        match (context, self.quoting()) {
            (Context::Quoted('/'), _) => influxql::escape_regex(value),
            (Context::Quoted(quote), _) => influxql::escape_quoted(value, quote),
            (Context::Bare, Some(Quoting::Double)) => influxql::quote_ident(value),
            (Context::Bare, _)
                if single_token(value) && self.quoting() != Some(Quoting::Single) =>
            {
                value.to_string()
            }
            (Context::Bare, _) => influxql::quote_string(value),
        }
    }
}

/// Values of column `column` of every series of a meta-query answer; of a `SHOW TAG VALUES`
/// answer (columns `key`, `value`) always the values.
pub fn values_of(answer: &serde_json::Value, column: usize) -> Vec<String> {
    let series: Vec<serde_json::Value> = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["series"].as_array().cloned().unwrap_or_default())
        .collect();
    let mut out: Vec<String> = series
        .iter()
        .flat_map(|s| {
            let tag_values = s["columns"] == serde_json::json!(["key", "value"]);
            let column = if tag_values { 1 } else { column };
            s["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |row| (column, row))
        })
        .filter_map(|(column, row)| match row.get(column)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect();
    out.dedup();
    out
}

/// Where in a query a variable stands, which decides how its value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Between tokens: the value becomes a token of its own.
    Bare,
    /// Inside `'…'`, `"…"` (the quote) or `/…/` (`/`) that the template already has.
    Quoted(char),
}

/// Where byte offset `at` of `query` stands: outside any literal, or inside a string,
/// identifier or regex the query opened before it. A `/` opens a regex after `=~`, `!~`,
/// `FROM` or a comma, as InfluxQL reads it; elsewhere it divides.
fn context_at(query: &str, at: usize) -> Context {
    let mut open: Option<char> = None;
    let mut escaped = false;
    let mut previous = String::new();
    for c in query[..at].chars() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => open = None,
            Some(_) => {}
            None => {
                let before = previous.trim_end();
                let regex_may_start = before.ends_with('~')
                    || before.ends_with(',')
                    || before.to_ascii_uppercase().ends_with("FROM");
                if c == '\'' || c == '"' || (c == '/' && regex_may_start) {
                    open = Some(c);
                } else if !c.is_whitespace() {
                    previous.push(c);
                } else if !previous.is_empty() {
                    previous.push(' ');
                }
                while previous.len() > 8 {
                    previous.remove(0);
                }
            }
        }
    }
    open.map_or(Context::Bare, Context::Quoted)
}

/// Whether `value` reads as exactly one plain token (a number, duration, name that is no
/// keyword, quoted name, string or `*`), so that a verbatim variable may stand for it unquoted.
fn single_token(value: &str) -> bool {
    use influxql::lexer::{Lexer, TokenKind};
    let mut lexer = Lexer::new(value);
    let first = lexer.next_token();
    let plain = matches!(
        first.kind,
        TokenKind::Ident(ref word) if !influxql::lexer::is_keyword(word)
    ) || matches!(
        first.kind,
        TokenKind::QuotedIdent(_)
            | TokenKind::Str(_)
            | TokenKind::Integer(_)
            | TokenKind::Float(_)
            | TokenKind::Duration(..)
            | TokenKind::Star
    );
    plain && lexer.next_token().kind == TokenKind::Eof
}

/// `query` with every bound variable replaced by its chosen value.
pub fn substitute(query: &str, bindings: &[(TemplateVar, String)]) -> String {
    let mut out = query.to_string();
    for (var, value) in bindings {
        let mut result = String::with_capacity(out.len());
        let mut rest = 0;
        while let Some(pos) = out[rest..].find(&var.temp_var) {
            let at = rest + pos;
            result.push_str(&out[rest..at]);
            result.push_str(&var.written(value, context_at(&out, at)));
            rest = at + var.temp_var.len();
        }
        result.push_str(&out[rest..]);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, kind: &str) -> TemplateVar {
        TemplateVar {
            temp_var: name.into(),
            kind: kind.into(),
            values: Vec::new(),
            query: TemplateQuery {
                db: "telegraf".into(),
                measurement: "cpu".into(),
                tag_key: "host".into(),
                influxql: String::new(),
            },
        }
    }

    #[test]
    fn no_value_ends_a_literal_or_adds_a_statement() {
        let nasty = [
            "x' OR 1=1; DROP DATABASE telegraf; --",
            "x\" ; DROP DATABASE telegraf",
            "ends with a backslash\\",
            "new\nline",
            "/; DROP DATABASE telegraf; /",
            "DROP",
            "web1",
            "10",
        ];
        let templates = [
            "SELECT v FROM m WHERE host = :v:",
            "SELECT v FROM m WHERE host = ':v:'",
            "SELECT v FROM m WHERE \":v:\" = 1",
            "SELECT v FROM m WHERE host =~ /^:v:$/",
            "SELECT v / 2 FROM m WHERE host = ':v:' AND x =~ /:v:/",
            "SELECT :v: FROM m",
            "SELECT v FROM :v:",
        ];
        for kind in [
            "text",
            "csv",
            "map",
            "influxql",
            "tagValues",
            "databases",
            "fieldKeys",
        ] {
            for value in nasty {
                for template in templates {
                    let q = substitute(template, &[(var(":v:", kind), value.to_string())]);
                    // Parses to at most one statement: no value ends its literal.
                    if let Ok(statements) = influxql::parse_statements(&q) {
                        assert_eq!(statements.len(), 1, "{kind} {value:?}: {q}");
                    }
                }
                // Inside a string the query had, the value reads back whole.
                let q = substitute(
                    "SELECT v FROM m WHERE host = ':v:'",
                    &[(var(":v:", kind), value.to_string())],
                );
                let Ok(influxql::Statement::Select(s)) = influxql::parse_statement(&q) else {
                    panic!("{q}")
                };
                let Some(influxql::Expr::Binary { rhs, .. }) = s.condition else {
                    panic!("{q}")
                };
                assert_eq!(*rhs, influxql::Expr::Str(value.to_string()), "{q}");
            }
        }
    }

    #[test]
    fn values_are_quoted_as_chronograf_quotes_them() {
        let host = var(":host:", "tagValues");
        let db = var(":db:", "databases");
        let limit = var(":limit:", "csv");
        let q =
            "SELECT mean(v) FROM :db:..cpu WHERE host = :host: OR host =~ /^:host:$/ LIMIT :limit:";
        assert_eq!(
            substitute(
                q,
                &[
                    (host, "web'1.a".into()),
                    (db, "tele graf".into()),
                    (limit, "10".into())
                ]
            ),
            "SELECT mean(v) FROM \"tele graf\"..cpu WHERE host = 'web\\'1.a' OR host =~ /^web'1\\.a$/ LIMIT 10"
        );
    }

    #[test]
    fn meta_queries_and_choices() {
        let host = var(":host:", "tagValues");
        assert_eq!(
            host.meta_query(&[]).unwrap(),
            (
                "telegraf".to_string(),
                "SHOW TAG VALUES ON \"telegraf\" FROM \"cpu\" WITH KEY = \"host\"".to_string(),
                1
            )
        );
        let answer = serde_json::json!({"results":[{"series":[{"columns":["key","value"],"values":[["host","a"],["host","b"]]}]}]});
        let options = values_of(&answer, 1);
        assert_eq!(options, ["a", "b"]);
        assert_eq!(host.choose(&options, Some("b")).as_deref(), Some("b"));
        assert_eq!(host.choose(&options, Some("zzz")).as_deref(), Some("a"));
        let text = TemplateVar {
            values: vec![TemplateValue {
                value: "x".into(),
                selected: true,
                key: String::new(),
            }],
            ..var(":t:", "text")
        };
        assert_eq!(text.choose(&[], None).as_deref(), Some("x"));
        assert_eq!(text.choose(&[], Some("typed")).as_deref(), Some("typed"));
        assert!(var(":interval:", "csv").problem().is_some());
        assert!(var("host", "csv").problem().is_some());
        assert!(var(":h:", "nope").problem().is_some());
        assert!(var(":h-1:", "csv").problem().is_none());
    }

    #[test]
    fn maps_show_names_and_custom_queries_use_earlier_variables() {
        let env = TemplateVar {
            values: vec![TemplateValue {
                value: "'web1'".into(),
                selected: false,
                key: "production".into(),
            }],
            ..var(":env:", "map")
        };
        assert!(env.problem().is_none());
        assert_eq!(env.label("'web1'"), "production");
        assert_eq!(env.label("other"), "other");
        let cpus = TemplateVar {
            query: TemplateQuery {
                db: "telegraf".into(),
                influxql: "SHOW TAG VALUES FROM cpu WITH KEY = cpu WHERE host = :env:".into(),
                ..TemplateQuery::default()
            },
            ..var(":cpu:", "influxql")
        };
        assert_eq!(
            cpus.meta_query(&[(env, "'web1'".into())]).unwrap().1,
            "SHOW TAG VALUES FROM cpu WITH KEY = cpu WHERE host = 'web1'"
        );
    }
}
