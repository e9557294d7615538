//! Alert rules as Chronograf writes them: a threshold rule becomes the stream TICKscript of
//! Chronograf's rule builder (same variable names, history written to `chronograf.alerts`) and
//! is stored as a kapacitor-rs task `chronograf-v1-<id>`; the rule list is kapacitor-rs's task
//! list.

use serde::Deserialize;

/// A threshold rule from the form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ThresholdRule {
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
    /// Field compared.
    pub field: String,
    /// `greater than`, `less than`, … or the operator itself.
    pub operator: String,
    /// Threshold.
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

/// A TICKscript string literal (only `'` is escaped there).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "\\'"))
}

/// A TICKscript field reference.
fn reference(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
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
pub fn threshold_script(rule: &ThresholdRule) -> Result<String, RuleError> {
    if rule.name.trim().is_empty() || rule.measurement.is_empty() || rule.field.is_empty() {
        return Err(RuleError(
            "a rule needs a name, a measurement and a field".into(),
        ));
    }
    if !rule.value.is_finite() {
        return Err(RuleError("the threshold must be a number".into()));
    }
    let op = operator(&rule.operator)?;
    let group_by: Vec<String> = rule
        .group_by
        .iter()
        .filter(|g| !g.is_empty())
        .map(|g| lit(g))
        .collect();
    let mut handlers = String::new();
    if !rule.email.is_empty() {
        let to: Vec<String> = rule.email.iter().map(|e| lit(e)).collect();
        handlers.push_str(&format!("\n        .email({})", to.join(", ")));
    }
    if !rule.post.is_empty() {
        handlers.push_str(&format!("\n        .post({})", lit(&rule.post)));
    }
    if !rule.log.is_empty() {
        if !rule.log.starts_with('/') {
            return Err(RuleError("the log path must be absolute".into()));
        }
        handlers.push_str(&format!("\n        .log({})", lit(&rule.log)));
    }
    let message = if rule.message.is_empty() {
        "{{ .ID }} is {{ .Level }} value: {{ index .Fields \"value\" }}"
    } else {
        &rule.message
    };
    let script = [
        format!("var db = {}", lit(&rule.db)),
        format!("var rp = {}", lit(&rule.rp)),
        format!("var measurement = {}", lit(&rule.measurement)),
        format!("var groupBy = [{}]", group_by.join(", ")),
        "var whereFilter = lambda: TRUE".to_string(),
        format!("var name = {}", lit(&rule.name)),
        "var idVar = name + '-{{.Group}}'".to_string(),
        format!("var message = {}", lit(message)),
        "var idTag = 'alertID'".to_string(),
        "var levelTag = 'level'".to_string(),
        "var messageField = 'message'".to_string(),
        "var durationField = 'duration'".to_string(),
        "var outputDB = 'chronograf'".to_string(),
        "var outputRP = 'autogen'".to_string(),
        "var outputMeasurement = 'alerts'".to_string(),
        "var triggerType = 'threshold'".to_string(),
        format!("var crit = {:?}", rule.value),
        format!(
            "var data = stream\n    |from()\n        .database(db)\n        .retentionPolicy(rp)\n        .measurement(measurement)\n        .groupBy(groupBy)\n        .where(whereFilter)\n    |eval(lambda: {})\n        .as('value')",
            reference(&rule.field)
        ),
        format!(
            "var trigger = data\n    |alert()\n        .crit(lambda: \"value\" {op} crit)\n        .stateChangesOnly()\n        .message(message)\n        .id(idVar)\n        .idTag(idTag)\n        .levelTag(levelTag)\n        .messageField(messageField)\n        .durationField(durationField){handlers}"
        ),
        "trigger\n    |eval(lambda: float(\"value\"))\n        .as('value')\n        .keep()\n    |influxDBOut()\n        .create()\n        .database(outputDB)\n        .retentionPolicy(outputRP)\n        .measurement(outputMeasurement)\n        .tag('alertName', name)\n        .tag('triggerType', triggerType)".to_string(),
        "trigger\n    |httpOut('output')".to_string(),
    ];
    Ok(script.join("\n\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_chronograf_s_threshold_script() {
        let rule = ThresholdRule {
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
        let s = threshold_script(&rule).unwrap();
        assert!(s.contains("var name = 'cpu\\'s high'"), "{s}");
        assert!(s.contains("var crit = 90.0"), "{s}");
        assert!(s.contains(".crit(lambda: \"value\" > crit)"), "{s}");
        assert!(s.contains("var groupBy = ['host']"), "{s}");
        assert!(s.contains(".email('ops@example.com')"), "{s}");
        assert!(s.contains("var idVar = name + '-{{.Group}}'"), "{s}");
        assert!(tickscript::parse(&s).is_ok());
        let bad = ThresholdRule {
            operator: "bigger".into(),
            ..rule
        };
        assert!(threshold_script(&bad).is_err());
    }
}
