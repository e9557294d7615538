// Code editors (CodeMirror 5, from Debian's libjs-codemirror) for InfluxQL and TICKscript:
// syntax colours from the two modes below, line numbers, bracket matching and closing,
// completion (Ctrl-Space, or as a word is typed) from keywords and what the page offers, and a
// server's error marked at its line and column.
(function () {
  "use strict";
  if (!window.CodeMirror) return;
  var CM = window.CodeMirror;

  function wordSet(text) {
    var set = Object.create(null);
    text.split(/\s+/).forEach(function (w) { if (w) set[w.toLowerCase()] = true; });
    return set;
  }

  var INFLUXQL_KEYWORDS = wordSet(
    "all alter analyze and any as asc begin by cardinality continuous create database databases default delete desc " +
    "destinations diagnostics distinct drop duration end every exact explain field fill for from grant grants group " +
    "groups in inf insert into key keys kill limit measurement measurements name offset on or order password " +
    "policies policy privileges queries query read replication resample retention revoke select series set shard " +
    "shards slimit soffset stats subscription subscriptions tag to user users values where with write tz not");
  var INFLUXQL_FUNCTIONS = wordSet(
    "count distinct integral mean median mode spread stddev sum bottom first last max min percentile sample top " +
    "abs acos asin atan atan2 ceil cos cumulative_sum derivative difference elapsed exp floor histogram ln log log2 " +
    "log10 moving_average non_negative_derivative non_negative_difference pow round sin sqrt tan holt_winters " +
    "holt_winters_with_fit chande_momentum_oscillator exponential_moving_average double_exponential_moving_average " +
    "kaufmans_efficiency_ratio kaufmans_adaptive_moving_average triple_exponential_moving_average " +
    "triple_exponential_derivative relative_strength_index now time null none previous linear");

  // A quoted run up to `quote` (backslash escapes it); true when it ended on this line.
  function quoted(stream, quote) {
    var escaped = false, ch;
    while ((ch = stream.next()) != null) {
      if (ch === quote && !escaped) return true;
      escaped = !escaped && ch === "\\";
    }
    return false;
  }

  CM.defineMode("influxql", function () {
    return {
      startState: function () { return { regexAllowed: false }; },
      token: function (stream, state) {
        if (stream.eatSpace()) return null;
        if (stream.match("--")) { stream.skipToEnd(); return "comment"; }
        var ch = stream.peek(), style;
        if (ch === "'") { stream.next(); quoted(stream, "'"); style = "string"; }
        else if (ch === '"') { stream.next(); quoted(stream, '"'); style = "variable-2"; }
        else if (ch === "/" && state.regexAllowed) { stream.next(); quoted(stream, "/"); style = "string-2"; }
        else if (stream.match(/^:[A-Za-z_][\w-]*:/)) { style = "meta"; }
        else if (stream.match(/^\d+(\.\d+)?(e[+-]?\d+)?(ns|u|µ|ms|s|m|h|d|w)?/i)) { style = "number"; }
        else if (stream.match(/^[A-Za-z_][\w]*/)) {
          var word = stream.current().toLowerCase();
          style = INFLUXQL_KEYWORDS[word] ? "keyword" : INFLUXQL_FUNCTIONS[word] && stream.peek() === "(" ? "builtin"
            : INFLUXQL_FUNCTIONS[word] ? "atom" : "variable";
        } else if (stream.match(/^(=~|!~|<>|!=|>=|<=|[=<>+\-*\/%&|^])/)) { style = "operator"; }
        else { stream.next(); style = null; }
        var text = stream.current();
        state.regexAllowed = text === "=~" || text === "!~" || /^(from|,)$/i.test(text) || text === "(";
        return style;
      },
      lineComment: "--",
    };
  });

  var TICK_KEYWORDS = wordSet("var lambda dbrp and or not true false");
  CM.defineMode("tickscript", function () {
    return {
      startState: function () { return { inTriple: false, regexAllowed: false }; },
      token: function (stream, state) {
        if (state.inTriple) {
          if (stream.skipTo("'''")) { stream.match("'''"); state.inTriple = false; } else stream.skipToEnd();
          return "string";
        }
        if (stream.eatSpace()) return null;
        if (stream.match("//")) { stream.skipToEnd(); return "comment"; }
        var style;
        if (stream.match("'''")) { state.inTriple = true; return "string"; }
        var ch = stream.peek();
        if (ch === "'") { stream.next(); quoted(stream, "'"); style = "string"; }
        else if (ch === '"') { stream.next(); quoted(stream, '"'); style = "variable-2"; }
        else if (ch === "/" && state.regexAllowed) { stream.next(); quoted(stream, "/"); style = "string-2"; }
        else if (stream.match(/^\|[A-Za-z_]\w*/)) { style = "builtin"; }
        else if (stream.match(/^@[A-Za-z_]\w*/)) { style = "builtin"; }
        else if (stream.match(/^\.[A-Za-z_]\w*/)) { style = "property"; }
        else if (stream.match(/^\d+(\.\d+)?(ns|u|µ|ms|s|m|h|d|w)?/)) { style = "number"; }
        else if (stream.match(/^[A-Za-z_]\w*/)) {
          style = TICK_KEYWORDS[stream.current().toLowerCase()] ? "keyword" : "variable";
        } else if (stream.match(/^(=~|!~|==|!=|>=|<=|[=<>+\-*\/%!])/)) { style = "operator"; }
        else { stream.next(); style = null; }
        var text = stream.current();
        state.regexAllowed = text === "=~" || text === "!~" || text === "(" || text === ",";
        return style;
      },
      lineComment: "//",
    };
  });

  // Completion: the words of the mode and those `extra()` gives, that start with the word at
  // the cursor.
  function hinter(mode, extra) {
    var base = Object.keys(mode === "influxql" ? Object.assign({}, INFLUXQL_KEYWORDS, INFLUXQL_FUNCTIONS) : TICK_KEYWORDS);
    return function (cm) {
      var cur = cm.getCursor(), token = cm.getTokenAt(cur);
      var start = token.start, typed = token.string;
      if (!/^[\w."]/.test(typed)) { start = cur.ch; typed = ""; }
      var prefix = typed.replace(/^["|.]/, "").toLowerCase();
      var words = base.concat(extra ? extra() : []);
      var seen = Object.create(null);
      var list = words.filter(function (w) {
        var lower = String(w).toLowerCase();
        if (seen[lower] || lower.indexOf(prefix) !== 0 || lower === prefix) return false;
        seen[lower] = true;
        return true;
      }).slice(0, 60);
      var from = CM.Pos(cur.line, typed.charAt(0) === '"' || typed.charAt(0) === "." || typed.charAt(0) === "|" ? start + 1 : start);
      return { list: list, from: from, to: CM.Pos(cur.line, token.end > cur.ch ? token.end : cur.ch) };
    };
  }

  // Turns `textarea` into an editor of `mode`; the textarea keeps the text (forms and scripts
  // read it as before) and is reachable as `textarea.cm`.
  window.tickEditor = function (textarea, mode, extraWords) {
    var label = textarea.labels && textarea.labels.length ? textarea.labels[0].textContent : mode;
    var cm = CM.fromTextArea(textarea, {
      mode: mode,
      lineNumbers: true,
      lineWrapping: true,
      matchBrackets: true,
      autoCloseBrackets: true,
      indentUnit: 4,
      viewportMargin: Infinity,
      extraKeys: { "Ctrl-Space": "autocomplete", Tab: function (c) { c.replaceSelection("    "); } },
      hintOptions: { hint: hinter(mode, extraWords), completeSingle: false },
    });
    cm.getInputField().setAttribute("aria-label", label);
    cm.on("change", function () { cm.save(); clearError(cm); });
    cm.on("inputRead", function (c, change) {
      if (/^[\w."]$/.test(change.text[0] || "")) c.showHint({ completeSingle: false });
    });
    textarea.cm = cm;
    return cm;
  };

  function clearError(cm) {
    (cm.tickMarks || []).forEach(function (m) { m.clear(); });
    if (cm.tickErrorLine !== undefined) cm.removeLineClass(cm.tickErrorLine, "background", "cm-error-line");
    cm.tickMarks = [];
    cm.tickErrorLine = undefined;
  }

  // Marks where `message` (`… at line 1, char 8`, `line 3 char 5: …`, `3:5 …`) says the text is
  // wrong; returns whether it named a place.
  window.tickMarkError = function (cm, message) {
    clearError(cm);
    var m = /line (\d+),? char (\d+)/i.exec(message) || /\b(\d+):(\d+)\b/.exec(message);
    if (!m) return false;
    var line = Math.max(0, Math.min(cm.lineCount() - 1, Number(m[1]) - 1));
    var ch = Math.max(0, Number(m[2]) - 1);
    var text = cm.getLine(line);
    var end = ch;
    while (end < text.length && /\S/.test(text.charAt(end)) && (end === ch || /[\w"']/.test(text.charAt(end)))) end++;
    if (end === ch) end = Math.min(text.length, ch + 1);
    cm.addLineClass(line, "background", "cm-error-line");
    cm.tickErrorLine = line;
    cm.tickMarks = [cm.markText(CM.Pos(line, ch), CM.Pos(line, Math.max(end, ch + 1)), { className: "cm-error-mark", title: message })];
    return true;
  };
})();
