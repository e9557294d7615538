//! The table of plugins of one kind: which names exist, how each reads its options and how
//! it is built. Inputs, processors and aggregators each declare theirs with [`registry!`].

/// Declares `$settings`, an enum with one variant per plugin holding its options, with
/// `parse_own` (options of the plugin called `name`, or `None` when there is no such plugin),
/// `build` (the running plugin, boxed as `$plugin`) and `IMPLEMENTED` (the names).
macro_rules! registry {
    (
        kind = $kind:literal, settings = $settings:ident, plugin = $plugin:ty,
        context = $ctx:ty, error = $error:ty;
        $($variant:ident => $name:literal, $module:ident :: $config:ident;)*
    ) => {
        /// The settings of one plugin instance, per plugin.
        #[derive(Debug, Clone, serde::Serialize)]
        #[serde(untagged)]
        pub enum $settings {
            $(
                #[doc = concat!("`[[", $kind, ".", $name, "]]`")]
                $variant($module::$config),
            )*
        }

        impl $settings {
            /// Reads the plugin's own options; `None` when telegraf-rs has no such plugin.
            pub fn parse_own(
                name: &str,
                table: toml::Table,
                place: &$crate::options::Place,
                warnings: &mut Vec<String>,
            ) -> Result<Option<Self>, $crate::options::OptionError> {
                Ok(Some(match name {
                    $($name => Self::$variant(
                        $crate::options::parse_options(table, place, warnings)?
                    ),)*
                    _ => return Ok(None),
                }))
            }

            /// Builds the running plugin.
            pub fn build(&self, ctx: &$ctx) -> Result<Box<$plugin>, $error> {
                match self {
                    $(Self::$variant(c) => $module::build(c, ctx),)*
                }
            }
        }

        #[doc = concat!("Names of the ", $kind, " telegraf-rs implements.")]
        pub const IMPLEMENTED: &[&str] = &[$($name),*];
    };
}

pub(crate) use registry;

/// Reads `options` (TOML) as the table of plugin `name` of `kind` with `parse`, for tests;
/// the options must all be known.
#[cfg(test)]
pub(crate) fn parse_for_test<S>(
    kind: &str,
    name: &str,
    options: &str,
    parse: impl FnOnce(
        &str,
        toml::Table,
        &crate::options::Place,
        &mut Vec<String>,
    ) -> Result<Option<S>, crate::options::OptionError>,
) -> S {
    let table: toml::Table = toml::from_str(options).unwrap();
    let place = crate::options::Place::new(
        std::path::Path::new("test.conf"),
        options.into(),
        &format!("{kind}.{name}"),
        1,
    );
    let mut warnings = Vec::new();
    let settings = parse(name, table, &place, &mut warnings).unwrap().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    settings
}
