//! The mustache templates of webhooks, rendered as the cloud's hogan.js renders them:
//! `{{name}}` HTML-escapes `&<>"'`, `{{{name}}}` and `{{& name}}` do not, `{{#s}}…{{/s}}`
//! and `{{^s}}…{{/s}}` are sections over JavaScript truthiness (lists iterate), dotted names
//! (`a.b.0.c`) walk objects and arrays, and values print as JavaScript's `String(v)` would.
//!
//! Hand-written rather than a crate: the one Rust mustache crate for runtime data is
//! unmaintained and loads `{{> partial}}` from the server's disk, which a template sent
//! through the API must never do. Here partials and delimiter changes render nothing.
//! Malformed templates never fail: an unclosed tag is text, a stray close tag is ignored and
//! an unclosed section ends with the template.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq)]
enum Node {
    Text(String),
    Var {
        path: Vec<String>,
        escape: bool,
    },
    Section {
        path: Vec<String>,
        inverted: bool,
        children: Vec<Node>,
    },
}

/// Renders `template` with `ctx` as the context.
pub fn render(template: &str, ctx: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    render_nodes(&parse(template), &mut vec![ctx], &mut out);
    out
}

/// Renders every string (keys too) inside a JSON template; other values stay as they are.
pub fn render_json(template: &Value, ctx: &Value) -> Value {
    match template {
        Value::String(s) => Value::String(render(s, ctx)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, ctx)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (render(k, ctx), render_json(v, ctx)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// `String(v)` in JavaScript: how hogan prints a value.
pub fn js_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_string(),
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// JavaScript falsiness, plus the empty list, as hogan decides whether a section renders.
fn falsy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

fn path_of(name: &str) -> Vec<String> {
    if name == "." {
        return Vec::new();
    }
    name.split('.').map(str::to_string).collect()
}

/// Finds a name: the first segment in the innermost context that has it, then the rest
/// walked from there (no further search if the walk fails, as hogan does).
fn lookup<'a>(path: &[String], stack: &[&'a Value]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return stack.last().copied();
    };
    let mut v = stack.iter().rev().find_map(|frame| child(frame, first))?;
    for seg in rest {
        v = child(v, seg)?;
    }
    Some(v)
}

fn child<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn render_nodes<'a>(nodes: &'a [Node], stack: &mut Vec<&'a Value>, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Var { path, escape } => {
                let text = lookup(path, stack).map(js_string).unwrap_or_default();
                if *escape {
                    escape_html(&text, out);
                } else {
                    out.push_str(&text);
                }
            }
            Node::Section {
                path,
                inverted,
                children,
            } => {
                let v = lookup(path, stack);
                if *inverted {
                    if falsy(v) {
                        render_nodes(children, stack, out);
                    }
                    continue;
                }
                let Some(v) = v.filter(|v| !falsy(Some(v))) else {
                    continue;
                };
                let items: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    v => vec![v],
                };
                for item in items {
                    stack.push(item);
                    render_nodes(children, stack, out);
                    stack.pop();
                }
            }
        }
    }
}

/// An open section while parsing.
struct Frame {
    path: Vec<String>,
    name: String,
    inverted: bool,
    children: Vec<Node>,
}

/// The brace of `{{{name}}}` and `{{{name}}` (a named constant: a brace in a character
/// literal reads like a block to simple tools).
const BRACE: char = '{';

fn parse(template: &str) -> Vec<Node> {
    let mut parser = Parser::default();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parser.push(Node::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        // `{{{name}}}`: unescaped.
        if let Some(inner) = after.strip_prefix(BRACE) {
            if let Some(close) = inner.find("}}}") {
                parser.var(inner[..close].trim(), false);
                rest = &inner[close + 3..];
                continue;
            }
        }
        let Some(close) = after.find("}}") else {
            parser.push(Node::Text(rest[open..].to_string()));
            rest = "";
            break;
        };
        parser.tag(after[..close].trim());
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parser.push(Node::Text(rest.to_string()));
    }
    parser.finish()
}

/// A parse in progress: the open sections, innermost last; the first is the template.
struct Parser {
    frames: Vec<Frame>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            frames: vec![Frame {
                path: Vec::new(),
                name: String::new(),
                inverted: false,
                children: Vec::new(),
            }],
        }
    }
}

impl Parser {
    fn push(&mut self, node: Node) {
        if let Some(top) = self.frames.last_mut() {
            top.children.push(node);
        }
    }

    fn var(&mut self, name: &str, escape: bool) {
        self.push(Node::Var {
            path: path_of(name),
            escape,
        });
    }

    /// One `{{…}}` tag, trimmed, without its braces.
    fn tag(&mut self, tag: &str) {
        let (sigil, name) = match tag.chars().next() {
            Some(c @ ('#' | '^' | '/' | '!' | '>' | '&' | '=' | BRACE)) => {
                (Some(c), tag[1..].trim())
            }
            _ => (None, tag),
        };
        match sigil {
            Some('#') | Some('^') => self.frames.push(Frame {
                path: path_of(name),
                name: name.to_string(),
                inverted: sigil == Some('^'),
                children: Vec::new(),
            }),
            Some('/') => self.close(name),
            // `{{& name}}`, and `{{{name}}` with a brace missing: unescaped.
            Some('&') | Some(BRACE) => self.var(name, false),
            // Comments, partials and delimiter changes render nothing.
            Some(_) => {}
            None => self.var(name, true),
        }
    }

    /// Closes the named section (and any unclosed ones inside it); a close tag that matches
    /// no open section is ignored.
    fn close(&mut self, name: &str) {
        if let Some(at) = self.frames.iter().skip(1).rposition(|f| f.name == name) {
            while self.frames.len() > at + 1 {
                self.close_top();
            }
        }
    }

    fn close_top(&mut self) {
        if let Some(f) = self.frames.pop() {
            self.push(Node::Section {
                path: f.path,
                inverted: f.inverted,
                children: f.children,
            });
        }
    }

    /// The template's nodes, with unclosed sections ending at its end.
    fn finish(mut self) -> Vec<Node> {
        while self.frames.len() > 1 {
            self.close_top();
        }
        self.frames.pop().map(|f| f.children).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The examples of the cloud's webhook reference ("Variable substitution").
    #[test]
    fn the_reference_examples() {
        let data = json!({
            "a": {"aa": "testing", "ab": 1234},
            "b": "xxx",
            "c": [{"ca": "first", "cb": 123}, {"ca": "second", "cb": 456}]
        });
        for (template, want) in [
            ("{{{a.aa}}}", "testing"),
            ("{{{a.ab}}}", "1234"),
            ("{{{b}}}", "xxx"),
            ("{{{c.0.ca}}}", "first"),
            ("{{{c.1.cb}}}", "456"),
            ("{{#b}}{{{b}}}{{/b}}{{^b}}Missing{{/b}}", "xxx"),
            ("{{#z}}{{{z}}}{{/z}}{{^z}}Missing{{/z}}", "Missing"),
            ("{{#c}}{{{ca}}}~{{/c}}", "first~second~"),
        ] {
            assert_eq!(render(template, &data), want, "{template}");
        }
    }

    #[test]
    fn double_braces_escape_html_and_triple_braces_do_not() {
        let data = json!({"v": "<a href=\"x\">Tom & Jerry's</a>"});
        assert_eq!(
            render("{{v}}", &data),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(
            render("{{{v}}}|{{& v}}", &data),
            format!("{0}|{0}", data["v"].as_str().unwrap())
        );
    }

    #[test]
    fn values_print_as_javascript_does() {
        let data = json!({"n": null, "t": true, "f": 2.5, "l": [1, "x", null], "o": {"k": 1}});
        assert_eq!(
            render("[{{n}}][{{t}}][{{f}}][{{l}}][{{o}}][{{missing}}]", &data),
            "[][true][2.5][1,x,][[object Object]][]"
        );
    }

    #[test]
    fn falsy_values_skip_sections_and_scalars_become_the_context() {
        let data = json!({"zero": 0, "empty": "", "none": [], "yes": "y&", "obj": {"k": "v"}});
        assert_eq!(
            render(
                "{{#zero}}a{{/zero}}{{#empty}}b{{/empty}}{{#none}}c{{/none}}",
                &data
            ),
            ""
        );
        assert_eq!(
            render("{{^zero}}a{{/zero}}{{^none}}c{{/none}}", &data),
            "ac"
        );
        assert_eq!(render("{{#yes}}<{{.}}>{{/yes}}", &data), "<y&amp;>");
        assert_eq!(render("{{#obj}}{{k}}{{{yes}}}{{/obj}}", &data), "vy&");
    }

    #[test]
    fn malformed_templates_render_without_failing() {
        let data = json!({"a": "1"});
        assert_eq!(render("x {{a", &data), "x {{a");
        assert_eq!(render("{{/nope}}{{a}}", &data), "1");
        assert_eq!(render("{{#a}}open {{a}}", &data), "open 1");
        assert_eq!(
            render("{{! note }}{{> partial}}{{=<% %>=}}{{a}}", &data),
            "1"
        );
        assert_eq!(render("{{{a}}", &data), "1");
    }

    #[test]
    fn json_templates_render_keys_and_string_values() {
        let ctx = json!({"PARTICLE_EVENT_NAME": "temp", "v": "21\"5"});
        let t = json!({"{{PARTICLE_EVENT_NAME}}": "{{{v}}}", "n": 1, "list": ["{{{v}}}", true]});
        assert_eq!(
            render_json(&t, &ctx),
            json!({"temp": "21\"5", "n": 1, "list": ["21\"5", true]})
        );
    }
}
