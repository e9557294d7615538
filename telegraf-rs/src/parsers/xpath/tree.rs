//! The document XPath walks: a tree of nodes in an arena, numbered in document order, built
//! from XML (through `roxmltree`) or from JSON the way Telegraf's `xpath_json` sees it (the
//! mapping of `antchfx/jsonquery`: an object's keys are child elements named by the key, an
//! array's items are child elements without a name, a scalar is the text of its element).

/// A node's index in [`Document::nodes`]; indices follow document order.
pub type NodeId = usize;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The document itself, the parent of the top-level nodes.
    Root,
    /// An element (an XML element, a JSON key or array item).
    Element,
    /// Text.
    Text,
    /// An XML attribute.
    Attribute,
    /// An XML comment.
    Comment,
    /// An XML processing instruction.
    ProcessingInstruction,
}

/// A JSON scalar as the document held it, for `xpath_native_types`.
#[derive(Debug, Clone, PartialEq)]
pub enum Native {
    /// A JSON number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A JSON string.
    Text(String),
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Namespace prefix of an element or attribute (empty: none).
    pub prefix: String,
    /// Local name of an element or attribute, target of a processing instruction.
    pub name: String,
    /// Text of a text, attribute, comment or processing-instruction node.
    pub text: String,
    /// The parent (none for the root).
    pub parent: Option<NodeId>,
    /// Child nodes, in order.
    pub children: Vec<NodeId>,
    /// Attribute nodes of an element.
    pub attributes: Vec<NodeId>,
    /// For a JSON element holding a scalar: the scalar, typed.
    pub native: Option<Native>,
    /// For a JSON element: its index in the array holding it (`None` outside arrays).
    pub array_index: Option<usize>,
    /// A JSON element holding an array (its children are the items).
    pub is_array: bool,
}

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    /// Every node; the root is node 0.
    pub nodes: Vec<Node>,
    /// Made from JSON (where a name step's position predicate counts an array's items).
    pub json: bool,
}

/// Why a body is no document.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// Not well-formed XML.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// Not valid JSON.
    #[error("invalid JSON provided, unable to parse")]
    Json,
    /// Nested deeper than a document fed to an agent reasonably is.
    #[error("the document is nested deeper than {0} levels")]
    TooDeep(usize),
}

/// How deep a JSON document may nest (its walk is recursive).
const MAX_DEPTH: usize = 512;

impl Document {
    fn empty() -> Document {
        Document {
            nodes: vec![Node::new(Kind::Root, None)],
            json: false,
        }
    }

    fn push(&mut self, mut node: Node) -> NodeId {
        let id = self.nodes.len();
        if let Some(parent) = node.parent {
            match node.kind {
                Kind::Attribute => self.nodes[parent].attributes.push(id),
                _ => self.nodes[parent].children.push(id),
            }
        }
        node.children.shrink_to_fit();
        self.nodes.push(node);
        id
    }

    /// Reads an XML document. Like Telegraf's XML library, it takes several top-level
    /// elements too (Telegraf's own example has `<Gateway>` and `<Bus>` side by side).
    pub fn from_xml(text: &str) -> Result<Document, TreeError> {
        let options = || roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let wrapped;
        let (xml, top) = match roxmltree::Document::parse_with_options(text, options()) {
            Ok(xml) => (xml, None),
            Err(first) => {
                // Several top-level elements: read them inside one wrapper, the declaration
                // left out, and take the wrapper's children as the top level.
                let body = text.trim_start_matches('\u{feff}').trim_start();
                let body = match body.strip_prefix("<?xml") {
                    Some(rest) => rest.split_once("?>").map_or("", |(_, after)| after),
                    None => body,
                };
                wrapped = format!("<tick-rs-top>{body}</tick-rs-top>");
                match roxmltree::Document::parse_with_options(&wrapped, options()) {
                    Ok(xml) => {
                        let top = xml.root_element().id();
                        (xml, Some(top))
                    }
                    Err(_) => return Err(TreeError::Xml(first.to_string())),
                }
            }
        };
        let top = match top {
            Some(id) => xml.get_node(id).unwrap_or(xml.root()),
            None => xml.root(),
        };
        let mut doc = Document::empty();
        // An explicit stack keeps deep documents from exhausting the thread's stack.
        let mut stack: Vec<(roxmltree::Node, NodeId)> =
            top.children().rev().map(|c| (c, 0)).collect();
        while let Some((x, parent)) = stack.pop() {
            let mut node = Node::new(Kind::Text, Some(parent));
            match x.node_type() {
                roxmltree::NodeType::Element => {
                    node.kind = Kind::Element;
                    node.name = x.tag_name().name().to_string();
                    node.prefix = x
                        .tag_name()
                        .namespace()
                        .and_then(|ns| x.lookup_prefix(ns))
                        .unwrap_or_default()
                        .to_string();
                    let id = doc.push(node);
                    for a in x.attributes() {
                        let mut attr = Node::new(Kind::Attribute, Some(id));
                        attr.name = a.name().to_string();
                        attr.prefix = a
                            .namespace()
                            .and_then(|ns| x.lookup_prefix(ns))
                            .unwrap_or_default()
                            .to_string();
                        attr.text = a.value().to_string();
                        doc.push(attr);
                    }
                    stack.extend(x.children().rev().map(|c| (c, id)));
                    continue;
                }
                roxmltree::NodeType::Text => node.text = x.text().unwrap_or_default().to_string(),
                roxmltree::NodeType::Comment => {
                    node.kind = Kind::Comment;
                    node.text = x.text().unwrap_or_default().to_string();
                }
                roxmltree::NodeType::PI => {
                    node.kind = Kind::ProcessingInstruction;
                    if let Some(pi) = x.pi() {
                        node.name = pi.target.to_string();
                        node.text = pi.value.unwrap_or_default().to_string();
                    }
                }
                roxmltree::NodeType::Root => continue,
            }
            doc.push(node);
        }
        Ok(doc)
    }

    /// Reads a JSON document as `xpath_json` sees it.
    pub fn from_json(text: &str) -> Result<Document, TreeError> {
        if !gjson::valid(text) {
            return Err(TreeError::Json);
        }
        let mut doc = Document::empty();
        doc.json = true;
        doc.add_json(0, &gjson::parse(text), 0)?;
        Ok(doc)
    }

    /// Adds what `value` holds under `parent` (whose own value it is).
    fn add_json(
        &mut self,
        parent: NodeId,
        value: &gjson::Value,
        depth: usize,
    ) -> Result<(), TreeError> {
        if depth > MAX_DEPTH {
            return Err(TreeError::TooDeep(MAX_DEPTH));
        }
        let mut failed = Ok(());
        match value.kind() {
            gjson::Kind::Object => value.each(|key, child| {
                let mut node = Node::new(Kind::Element, Some(parent));
                node.name = key.str().to_string();
                let id = self.push(node);
                failed = self.add_json(id, &child, depth + 1);
                failed.is_ok()
            }),
            gjson::Kind::Array => {
                self.nodes[parent].is_array = parent != 0;
                let mut index = 0;
                value.each(|_, child| {
                    let mut node = Node::new(Kind::Element, Some(parent));
                    node.array_index = Some(index);
                    index += 1;
                    let id = self.push(node);
                    failed = self.add_json(id, &child, depth + 1);
                    failed.is_ok()
                })
            }
            gjson::Kind::Null => {}
            kind => {
                let native = match kind {
                    gjson::Kind::Number => Native::Number(value.f64()),
                    gjson::Kind::True => Native::Bool(true),
                    gjson::Kind::False => Native::Bool(false),
                    _ => Native::Text(value.str().to_string()),
                };
                let mut text = Node::new(Kind::Text, Some(parent));
                text.text = match &native {
                    // jsonquery writes numbers as Go's `FormatFloat(v, 'f', -1, 64)`.
                    Native::Number(n) => super::number::number_text(*n),
                    Native::Bool(b) => b.to_string(),
                    Native::Text(s) => s.clone(),
                };
                self.push(text);
                if parent != 0 {
                    self.nodes[parent].native = Some(native);
                }
            }
        }
        failed
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// XPath's string-value: an element's or the root's text descendants joined, the text of
    /// the other kinds.
    pub fn string_value(&self, id: NodeId) -> String {
        let node = &self.nodes[id];
        match node.kind {
            Kind::Root | Kind::Element => {
                let mut out = String::new();
                let mut stack = vec![id];
                while let Some(n) = stack.pop() {
                    let node = &self.nodes[n];
                    if node.kind == Kind::Text {
                        out.push_str(&node.text);
                    }
                    stack.extend(node.children.iter().rev());
                }
                out
            }
            _ => node.text.clone(),
        }
    }

    /// The qualified name (`prefix:local` or `local`) of an element or attribute, the target
    /// of a processing instruction, empty for the rest.
    pub fn qualified_name(&self, id: NodeId) -> String {
        let node = &self.nodes[id];
        match node.prefix.is_empty() {
            true => node.name.clone(),
            false => format!("{}:{}", node.prefix, node.name),
        }
    }
}

impl Node {
    fn new(kind: Kind, parent: Option<NodeId>) -> Node {
        Node {
            kind,
            prefix: String::new(),
            name: String::new(),
            text: String::new(),
            parent,
            children: Vec::new(),
            attributes: Vec::new(),
            native: None,
            array_index: None,
            is_array: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_maps_as_jsonquery_does() {
        let doc = Document::from_json(r#"{"b": [1, "x"], "a": {"t": true, "n": null}}"#).unwrap();
        let root = doc.node(0);
        let names: Vec<&str> = root
            .children
            .iter()
            .map(|&c| doc.node(c).name.as_str())
            .collect();
        assert_eq!(names, ["b", "a"], "document order");
        let b = root.children[0];
        assert_eq!(doc.string_value(b), "1x");
        let items = &doc.node(b).children;
        assert_eq!(doc.node(items[0]).name, "");
        assert_eq!(doc.node(items[1]).array_index, Some(1));
        assert_eq!(doc.node(items[0]).native, Some(Native::Number(1.0)));
        assert_eq!(doc.string_value(0), "1xtrue");
        assert!(Document::from_json("{").is_err());
        assert!(Document::from_json(&"[".repeat(600).to_string()).is_err());
    }

    #[test]
    fn xml_keeps_attributes_prefixes_and_text() {
        let doc = Document::from_xml(
            r#"<?xml version="1.0"?><r xmlns:p="urn:p"><p:s id="1">a<b>c</b></p:s><!--x--></r>"#,
        )
        .unwrap();
        let r = doc.node(0).children[0];
        let s = doc.node(r).children[0];
        assert_eq!(doc.qualified_name(s), "p:s");
        assert_eq!(doc.node(doc.node(s).attributes[0]).text, "1");
        assert_eq!(doc.string_value(s), "ac");
        assert!(Document::from_xml("<a>").is_err());
    }
}
