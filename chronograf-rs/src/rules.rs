//! Alert rules as Chronograf writes them: a threshold, relative or deadman rule becomes the
//! stream TICKscript of Chronograf's rule builder (same variable names, history written to
//! `chronograf.alerts`) and is stored as a kapacitor-rs task `chronograf-v1-<id>`; the rule list
//! is kapacitor-rs's task list.

use serde::Deserialize;

/// A rule from the form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertRule {
    /// `threshold` (the value crosses a bound), `relative` (it changed by more than the bound
    /// against `shift` ago) or `deadman` (fewer points than `threshold` arrived in `period`).
    #[serde(default = "default_trigger")]
    pub trigger: String,
    /// Relative rules: `change` (absolute) or `% change`.
    #[serde(default = "default_change")]
    pub change: String,
    /// Relative rules: how far back the value is compared (`1m`).
    #[serde(default = "default_shift")]
    pub shift: String,
    /// Deadman rules: the window the points are counted in (`5m`).
    #[serde(default = "default_period")]
    pub period: String,
    /// Rule name (`alertName` in the history).
    pub name: String,
    /// Database.
    #[serde(default = "default_db")]
    pub db: String,
    /// Retention policy.
    #[serde(default = "default_rp")]
    pub rp: String,
    /// Measurement.
    pub measurement: String,
    /// Field compared (not used by deadman rules).
    #[serde(default)]
    pub field: String,
    /// `greater than`, `less than`, … or the operator itself (not used by deadman rules).
    #[serde(default = "default_operator")]
    pub operator: String,
    /// Threshold; for deadman rules the number of points at or below which it fires.
    #[serde(default)]
    pub value: f64,
    /// Tags grouped by.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Alert message template.
    #[serde(default)]
    pub message: String,
    /// E-mail recipients.
    #[serde(default)]
    pub email: Vec<String>,
    /// Webhook URL.
    #[serde(default)]
    pub post: String,
    /// Absolute log file path.
    #[serde(default)]
    pub log: String,
}

fn default_trigger() -> String {
    "threshold".into()
}

fn default_change() -> String {
    "% change".into()
}

fn default_shift() -> String {
    "1m".into()
}

fn default_period() -> String {
    "5m".into()
}

fn default_operator() -> String {
    "greater than".into()
}

/// A TICKscript duration literal (`90s`, `5m`), checked so the form cannot inject script.
fn duration(what: &str, d: &str) -> Result<String, RuleError> {
    let digits = d.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == 'µ');
    let unit = &d[digits.len()..];
    let valid_unit = matches!(unit, "ns" | "u" | "µ" | "ms" | "s" | "m" | "h" | "d" | "w");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || !valid_unit {
        return Err(RuleError(format!(
            "invalid {what} {d:?} (like 90s, 5m, 1h)"
        )));
    }
    Ok(d.to_string())
}

fn default_db() -> String {
    "telegraf".into()
}

fn default_rp() -> String {
    "autogen".into()
}

/// A rule that cannot become a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

/// `s` as a TICKscript string literal, or why it cannot be one.
fn lit(s: &str) -> Result<String, RuleError> {
    tickscript::quote_string(s).map_err(|e| RuleError(e.to_string()))
}

/// `s` as a TICKscript field reference, or why it cannot be one.
fn reference(s: &str) -> Result<String, RuleError> {
    tickscript::quote_reference(s).map_err(|e| RuleError(e.to_string()))
}

fn operator(op: &str) -> Result<&'static str, RuleError> {
    Ok(match op {
        "greater than" | ">" => ">",
        "less than" | "<" => "<",
        "equal to or greater" | ">=" => ">=",
        "equal to or less than" | "<=" => "<=",
        "equal to" | "==" => "==",
        "not equal to" | "!=" => "!=",
        other => return Err(RuleError(format!("unknown operator {other:?}"))),
    })
}

/// The script Chronograf's rule builder writes for `rule`.
pub fn rule_script(rule: &AlertRule) -> Result<String, RuleError> {
    let deadman = rule.trigger == "deadman";
    if rule.name.trim().is_empty() || rule.measurement.is_empty() {
        return Err(RuleError("a rule needs a name and a measurement".into()));
    }
    if !deadman && rule.field.is_empty() {
        return Err(RuleError("a rule needs a field".into()));
    }
    if !rule.value.is_finite() {
        return Err(RuleError("the threshold must be a number".into()));
    }
    let group_by: Vec<String> = rule
        .group_by
        .iter()
        .filter(|g| !g.is_empty())
        .map(|g| lit(g))
        .collect::<Result<_, _>>()?;
    let mut handlers = String::new();
    if !rule.email.is_empty() {
        let to: Vec<String> = rule
            .email
            .iter()
            .map(|e| lit(e))
            .collect::<Result<_, _>>()?;
        handlers.push_str(&format!("\n        .email({})", to.join(", ")));
    }
    if !rule.post.is_empty() {
        handlers.push_str(&format!("\n        .post({})", lit(&rule.post)?));
    }
    if !rule.log.is_empty() {
        if !rule.log.starts_with('/') {
            return Err(RuleError("the log path must be absolute".into()));
        }
        handlers.push_str(&format!("\n        .log({})", lit(&rule.log)?));
    }
    let message = if !rule.message.is_empty() {
        rule.message.as_str()
    } else if deadman {
        "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}"
    } else {
        "{{ .ID }} is {{ .Level }} value: {{ index .Fields \"value\" }}"
    };
    let mut vars = vec![
        format!("var db = {}", lit(&rule.db)?),
        format!("var rp = {}", lit(&rule.rp)?),
        format!("var measurement = {}", lit(&rule.measurement)?),
        format!("var groupBy = [{}]", group_by.join(", ")),
        "var whereFilter = lambda: TRUE".to_string(),
    ];
    if deadman {
        vars.push(format!(
            "var period = {}",
            duration("period", &rule.period)?
        ));
    }
    vars.extend([
        format!("var name = {}", lit(&rule.name)?),
        "var idVar = name + '-{{.Group}}'".to_string(),
        format!("var message = {}", lit(message)?),
        "var idTag = 'alertID'".to_string(),
        "var levelTag = 'level'".to_string(),
        "var messageField = 'message'".to_string(),
        "var durationField = 'duration'".to_string(),
        "var outputDB = 'chronograf'".to_string(),
        "var outputRP = 'autogen'".to_string(),
        "var outputMeasurement = 'alerts'".to_string(),
        format!("var triggerType = {}", lit(&rule.trigger)?),
    ]);
    let from = "stream\n    |from()\n        .database(db)\n        .retentionPolicy(rp)\n        .measurement(measurement)\n        .groupBy(groupBy)\n        .where(whereFilter)";
    let alert_props = format!(
        "\n        .message(message)\n        .id(idVar)\n        .idTag(idTag)\n        .levelTag(levelTag)\n        .messageField(messageField)\n        .durationField(durationField){handlers}"
    );
    let value = format!(
        "|eval(lambda: {})\n        .as('value')",
        reference(&rule.field)?
    );
    let mut script = vars;
    match rule.trigger.as_str() {
        "threshold" => {
            let op = operator(&rule.operator)?;
            script.push(format!("var crit = {:?}", rule.value));
            script.push(format!("var data = {from}\n    {value}"));
            script.push(format!(
                "var trigger = data\n    |alert()\n        .crit(lambda: \"value\" {op} crit)\n        .stateChangesOnly(){alert_props}"
            ));
        }
        "relative" => {
            let op = operator(&rule.operator)?;
            let change = match rule.change.as_str() {
                "% change" => {
                    "abs(float(\"current.value\" - \"past.value\")) / float(\"past.value\") * 100.0"
                }
                "change" => "float(\"current.value\" - \"past.value\")",
                other => {
                    return Err(RuleError(format!(
                        "unknown change {other:?} (change or % change)"
                    )))
                }
            };
            script.push(format!("var shift = {}", duration("shift", &rule.shift)?));
            script.push(format!("var crit = {:?}", rule.value));
            script.push(format!("var data = {from}\n    {value}"));
            script.push("var past = data\n    |shift(shift)".to_string());
            script.push("var current = data".to_string());
            script.push(format!(
                "var trigger = past\n    |join(current)\n        .as('past', 'current')\n    |eval(lambda: {change})\n        .keep()\n        .as('value')\n    |alert()\n        .crit(lambda: \"value\" {op} crit)\n        .stateChangesOnly(){alert_props}"
            ));
        }
        "deadman" => {
            script.push(format!("var threshold = {:?}", rule.value));
            script.push(format!("var data = {from}"));
            script.push(format!(
                "var trigger = data\n    |deadman(threshold, period){alert_props}"
            ));
        }
        other => {
            return Err(RuleError(format!(
                "unknown trigger {other:?} (threshold, relative or deadman)"
            )))
        }
    }
    let history_value = if deadman {
        "    |eval(lambda: \"emitted\")\n        .as('value')\n        .keep('value', messageField, durationField)\n"
    } else {
        ""
    };
    script.push(format!("trigger\n{history_value}    |eval(lambda: float(\"value\"))\n        .as('value')\n        .keep()\n    |influxDBOut()\n        .create()\n        .database(outputDB)\n        .retentionPolicy(outputRP)\n        .measurement(outputMeasurement)\n        .tag('alertName', name)\n        .tag('triggerType', triggerType)"));
    script.push("trigger\n    |httpOut('output')".to_string());
    Ok(script.join("\n\n") + "\n")
}

/// What the rule list shows of a task: the rule's name and trigger (`threshold`, `relative`,
/// `deadman`) read from the `var name` and `var triggerType` a rule's script declares; a task
/// written by hand has neither.
pub fn rule_identity(script: &str) -> (Option<String>, Option<String>) {
    let Ok(program) = tickscript::parse(script) else {
        return (None, None);
    };
    let text = |wanted: &str| {
        program.statements.iter().find_map(|s| match s {
            tickscript::Statement::Var {
                name,
                value: tickscript::Expr::Str(v),
                ..
            } if name == wanted => Some(v.clone()),
            _ => None,
        })
    };
    (text("name"), text("triggerType"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_newlines_and_semicolons_stay_inside_their_values() {
        let nasty = [
            "it's",
            "ends with a backslash\\",
            "x')\n    |exec('/bin/sh', '-c', 'id')\n//",
            "a\"b; c",
            "''' \\'",
        ];
        for text in nasty {
            let rule = AlertRule {
                trigger: "threshold".into(),
                change: default_change(),
                shift: default_shift(),
                period: default_period(),
                name: text.into(),
                db: text.into(),
                rp: text.into(),
                measurement: text.into(),
                field: text.replace('\n', " ").trim_end_matches('\\').into(),
                operator: ">".into(),
                value: 1.0,
                group_by: vec![text.into()],
                message: text.into(),
                email: vec![text.into()],
                post: text.into(),
                log: format!("/{text}"),
            };
            let script = rule_script(&rule).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let program = tickscript::parse(&script).unwrap_or_else(|e| panic!("{script}: {e}"));
            // Every var still holds exactly the value, and no node was smuggled in.
            let value_of = |name: &str| {
                program.statements.iter().find_map(|s| match s {
                    tickscript::Statement::Var { name: n, value, .. } if n == name => {
                        Some(value.clone())
                    }
                    _ => None,
                })
            };
            for var in ["name", "db", "rp", "measurement", "message"] {
                assert_eq!(
                    value_of(var),
                    Some(tickscript::Expr::Str(text.into())),
                    "{var} in {script}"
                );
            }
            fn nodes(e: &tickscript::Expr, out: &mut Vec<String>) {
                if let tickscript::Expr::Chain { target, name, .. } = e {
                    out.push(name.clone());
                    nodes(target, out);
                }
            }
            let mut names = Vec::new();
            for s in &program.statements {
                if let tickscript::Statement::Var { value, .. }
                | tickscript::Statement::Expr(value) = s
                {
                    nodes(value, &mut names);
                }
            }
            assert!(!names.iter().any(|n| n == "exec"), "{script}");
        }
        // The one value no TICKscript literal can hold is refused, not mangled.
        let unwritable = AlertRule {
            trigger: "threshold".into(),
            change: default_change(),
            shift: default_shift(),
            period: default_period(),
            name: "''' and \\".into(),
            db: "telegraf".into(),
            rp: "autogen".into(),
            measurement: "cpu".into(),
            field: "v".into(),
            operator: ">".into(),
            value: 1.0,
            group_by: Vec::new(),
            message: String::new(),
            email: Vec::new(),
            post: String::new(),
            log: String::new(),
        };
        assert!(rule_script(&unwritable).is_err());
    }

    #[test]
    fn writes_chronograf_s_threshold_script() {
        let rule = AlertRule {
            trigger: "threshold".into(),
            change: default_change(),
            shift: default_shift(),
            period: default_period(),
            name: "cpu's high".into(),
            db: "telegraf".into(),
            rp: "autogen".into(),
            measurement: "cpu".into(),
            field: "usage_user".into(),
            operator: "greater than".into(),
            value: 90.0,
            group_by: vec!["host".into()],
            message: String::new(),
            email: vec!["ops@example.com".into()],
            post: String::new(),
            log: String::new(),
        };
        let s = rule_script(&rule).unwrap();
        assert!(s.contains("var name = 'cpu\\'s high'"), "{s}");
        assert!(s.contains("var crit = 90.0"), "{s}");
        assert!(s.contains(".crit(lambda: \"value\" > crit)"), "{s}");
        assert!(s.contains("var groupBy = ['host']"), "{s}");
        assert!(s.contains(".email('ops@example.com')"), "{s}");
        assert!(s.contains("var idVar = name + '-{{.Group}}'"), "{s}");
        assert!(tickscript::parse(&s).is_ok());
        let bad = AlertRule {
            operator: "bigger".into(),
            ..rule.clone()
        };
        assert!(rule_script(&bad).is_err());

        let relative = AlertRule {
            trigger: "relative".into(),
            shift: "5m".into(),
            value: 50.0,
            ..rule.clone()
        };
        let s = rule_script(&relative).unwrap();
        assert!(
            s.contains("var shift = 5m") && s.contains("|join(current)"),
            "{s}"
        );
        assert!(
            s.contains("abs(float(\"current.value\" - \"past.value\"))"),
            "{s}"
        );
        assert!(tickscript::parse(&s).is_ok(), "{s}");
        let injected = AlertRule {
            shift: "5m)|log('/x')".into(),
            ..relative
        };
        assert!(rule_script(&injected).is_err());

        let deadman = AlertRule {
            trigger: "deadman".into(),
            field: String::new(),
            period: "10m".into(),
            value: 0.0,
            ..rule
        };
        let s = rule_script(&deadman).unwrap();
        assert!(
            s.contains("|deadman(threshold, period)") && s.contains("var period = 10m"),
            "{s}"
        );
        assert!(s.contains("|eval(lambda: \"emitted\")"), "{s}");
        assert!(tickscript::parse(&s).is_ok(), "{s}");
    }

    #[test]
    fn the_list_reads_a_rules_name_and_trigger_from_its_script() {
        let rule: AlertRule = serde_json::from_value(serde_json::json!({
            "name": "cpu's high", "trigger": "deadman", "measurement": "cpu", "value": 1
        }))
        .unwrap();
        let script = rule_script(&rule).unwrap();
        assert_eq!(
            rule_identity(&script),
            (Some("cpu's high".to_string()), Some("deadman".to_string()))
        );
        assert_eq!(rule_identity("stream|from()"), (None, None));
        assert_eq!(rule_identity("stream|from("), (None, None));
    }
}
