//! Semantic theme slots loaded from `themes/*.toml` on top of the built-in dark theme.
//!
//! A file names only the slots it changes; unknown keys are an error naming the key
//! (`deny_unknown_fields`). `NO_COLOR` strips colours but keeps bold/reverse/underline so
//! focus and selection stay visible; on 16-colour terminals RGB/indexed colours are mapped to
//! the nearest ANSI colour (the bundled themes use only the 16 ANSI colours).

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const DARK_TOML: &str = include_str!("../../themes/dark.toml");
pub const LIGHT_TOML: &str = include_str!("../../themes/light.toml");
pub const HIGH_CONTRAST_TOML: &str = include_str!("../../themes/high-contrast.toml");

/// Bundled theme names, in the order `--theme` help lists them.
pub const BUNDLED: [(&str, &str); 3] = [
    ("dark", DARK_TOML),
    ("light", LIGHT_TOML),
    ("high-contrast", HIGH_CONTRAST_TOML),
];

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme `{0}`: not a bundled theme (dark, light, high-contrast) nor a readable file")]
    NotFound(String),
    #[error("theme {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("theme {origin}: slots.{slot}: unknown colour `{value}`")]
    BadColour {
        origin: String,
        slot: String,
        value: String,
    },
}

/// One slot as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    pub fg: Option<String>,
    pub bg: Option<String>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub underline: bool,
    #[serde(default)]
    pub reverse: bool,
    #[serde(default)]
    pub dim: bool,
}

macro_rules! slots {
    ($($name:ident),* $(,)?) => {
        /// Slots as written in a theme file: every one optional.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SlotsFile { $($name: Option<StyleSpec>,)* }

        /// The resolved theme: one `Style` per semantic slot.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(pub $name: Style,)*
        }

        impl Theme {
            fn apply(&mut self, origin: &str, file: SlotsFile) -> Result<(), ThemeError> {
                $(if let Some(spec) = file.$name {
                    self.$name = to_style(origin, stringify!($name), &spec)?;
                })*
                Ok(())
            }

            fn map_styles(&mut self, f: impl Fn(Style) -> Style) {
                $(self.$name = f(self.$name);)*
            }

            fn blank(name: &str) -> Theme {
                Theme { name: name.to_string(), $($name: Style::default(),)* }
            }
        }
    };
}

slots!(
    text,
    muted,
    accent,
    border,
    border_focused,
    title,
    status_bar,
    badge_sim,
    badge_live,
    tab,
    tab_active,
    selection,
    user,
    assistant,
    system,
    ok,
    warn,
    error,
    gauge_ok,
    gauge_warn,
    gauge_low,
    heading,
    code,
    link,
    quote,
    hint_key,
    hint_text,
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    slots: SlotsFile,
}

fn parse_colour(s: &str) -> Option<Color> {
    let t = s.trim().to_ascii_lowercase().replace('-', "_");
    let c = match t.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark_gray" | "dark_grey" | "bright_black" => Color::DarkGray,
        "light_red" | "bright_red" => Color::LightRed,
        "light_green" | "bright_green" => Color::LightGreen,
        "light_yellow" | "bright_yellow" => Color::LightYellow,
        "light_blue" | "bright_blue" => Color::LightBlue,
        "light_magenta" | "bright_magenta" => Color::LightMagenta,
        "light_cyan" | "bright_cyan" => Color::LightCyan,
        "white" | "bright_white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let v = u32::from_str_radix(&hex[1..], 16).ok()?;
            Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
        }
        idx => Color::Indexed(idx.parse::<u8>().ok()?),
    };
    Some(c)
}

fn to_style(origin: &str, slot: &str, spec: &StyleSpec) -> Result<Style, ThemeError> {
    let colour = |v: &Option<String>| -> Result<Option<Color>, ThemeError> {
        match v {
            None => Ok(None),
            Some(s) => parse_colour(s)
                .map(Some)
                .ok_or_else(|| ThemeError::BadColour {
                    origin: origin.to_string(),
                    slot: slot.to_string(),
                    value: s.clone(),
                }),
        }
    };
    let mut style = Style::default();
    if let Some(fg) = colour(&spec.fg)? {
        style = style.fg(fg);
    }
    if let Some(bg) = colour(&spec.bg)? {
        style = style.bg(bg);
    }
    let flags = [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.underline, Modifier::UNDERLINED),
        (spec.reverse, Modifier::REVERSED),
        (spec.dim, Modifier::DIM),
    ];
    for (on, m) in flags {
        if on {
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourSupport {
    None,
    Ansi16,
    Full,
}

impl ColourSupport {
    /// From `NO_COLOR`, `TERM` and `COLORTERM` (passed in so tests need no environment).
    pub fn detect(no_color: Option<&str>, term: Option<&str>, colorterm: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColourSupport::None;
        }
        if colorterm.is_some_and(|c| c.contains("truecolor") || c.contains("24bit")) {
            return ColourSupport::Full;
        }
        match term {
            Some(t) if t.contains("256color") || t.contains("direct") => ColourSupport::Full,
            Some("dumb") => ColourSupport::None,
            _ => ColourSupport::Ansi16,
        }
    }

    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok();
        Self::detect(
            get("NO_COLOR").as_deref(),
            get("TERM").as_deref(),
            get("COLORTERM").as_deref(),
        )
    }
}

/// Nearest of the 16 ANSI colours for an RGB value.
fn nearest_ansi(r: u8, g: u8, b: u8) -> Color {
    const TABLE: [(Color, (u8, u8, u8)); 16] = [
        (Color::Black, (0, 0, 0)),
        (Color::Red, (128, 0, 0)),
        (Color::Green, (0, 128, 0)),
        (Color::Yellow, (128, 128, 0)),
        (Color::Blue, (0, 0, 128)),
        (Color::Magenta, (128, 0, 128)),
        (Color::Cyan, (0, 128, 128)),
        (Color::Gray, (192, 192, 192)),
        (Color::DarkGray, (128, 128, 128)),
        (Color::LightRed, (255, 0, 0)),
        (Color::LightGreen, (0, 255, 0)),
        (Color::LightYellow, (255, 255, 0)),
        (Color::LightBlue, (0, 0, 255)),
        (Color::LightMagenta, (255, 0, 255)),
        (Color::LightCyan, (0, 255, 255)),
        (Color::White, (255, 255, 255)),
    ];
    let d = |(x, y, z): (u8, u8, u8)| {
        let (dr, dg, db) = (
            r as i32 - x as i32,
            g as i32 - y as i32,
            b as i32 - z as i32,
        );
        dr * dr + dg * dg + db * db
    };
    TABLE
        .iter()
        .min_by_key(|(_, rgb)| d(*rgb))
        .map_or(Color::Reset, |(c, _)| *c)
}

fn indexed_to_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => (0, 0, 0),
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// The 16 ANSI colours in index order (0–15).
pub(crate) const ANSI16: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

fn downgrade(c: Color) -> Color {
    match c {
        Color::Rgb(r, g, b) => nearest_ansi(r, g, b),
        // Written as `38;5;N` by most backends, which a 16-colour terminal may not know:
        // the same colour by name is a base SGR code.
        Color::Indexed(i) if i < 16 => ANSI16[i as usize],
        Color::Indexed(i) => {
            let (r, g, b) = indexed_to_rgb(i);
            nearest_ansi(r, g, b)
        }
        other => other,
    }
}

impl Theme {
    /// The default: the bundled dark theme.
    pub fn dark() -> Theme {
        Self::from_toml("bundled dark", DARK_TOML).expect("bundled dark theme is valid")
    }

    /// Parses a theme file over the dark defaults.
    pub fn from_toml(origin: &str, text: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut theme = if origin == "bundled dark" {
            Theme::blank("dark")
        } else {
            Theme::dark()
        };
        theme.apply(origin, file.slots)?;
        if let Some(name) = file.name {
            theme.name = name;
        }
        Ok(theme)
    }

    /// `--theme` / `AOAI_THEME`: a bundled name or a path to a TOML file. `None` = dark.
    pub fn load(choice: Option<&str>) -> Result<Theme, ThemeError> {
        let Some(choice) = choice.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Theme::dark());
        };
        if let Some((name, text)) = BUNDLED.iter().find(|(n, _)| *n == choice) {
            return Self::from_toml(&format!("bundled {name}"), text);
        }
        let path = Path::new(choice);
        let text =
            std::fs::read_to_string(path).map_err(|_| ThemeError::NotFound(choice.to_string()))?;
        Self::from_toml(&path.display().to_string(), &text)
    }

    /// Adapts the theme to what the terminal can show.
    pub fn for_terminal(mut self, support: ColourSupport) -> Theme {
        match support {
            ColourSupport::Full => {}
            ColourSupport::Ansi16 => self.map_styles(|s| Style {
                fg: s.fg.map(downgrade),
                bg: s.bg.map(downgrade),
                ..s
            }),
            ColourSupport::None => self.map_styles(|s| {
                // Without colour, a coloured background (tabs, selection, badges) becomes reverse.
                let had_bg = s.bg.is_some_and(|c| c != Color::Reset);
                let s = Style {
                    fg: None,
                    bg: None,
                    ..s
                };
                if had_bg {
                    s.add_modifier(Modifier::REVERSED)
                } else {
                    s
                }
            }),
        }
        self
    }

    /// Style of a gauge for the fraction left (1.0 = all budget left).
    pub fn gauge(&self, left: f64) -> Style {
        if left < 0.1 {
            self.gauge_low
        } else if left < 0.3 {
            self.gauge_warn
        } else {
            self.gauge_ok
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_themes_parse() {
        for (name, text) in BUNDLED {
            let t = Theme::from_toml(name, text).unwrap();
            assert_eq!(t.name, name);
        }
        assert_eq!(Theme::load(Some("light")).unwrap().name, "light");
        assert_eq!(Theme::load(None).unwrap().name, "dark");
    }

    #[test]
    fn dark_uses_only_ansi16() {
        let t = Theme::dark();
        let all = [
            t.text,
            t.accent,
            t.status_bar,
            t.badge_sim,
            t.selection,
            t.error,
            t.code,
            t.hint_key,
        ];
        for s in all {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(..)), "{c:?}");
            }
        }
    }

    #[test]
    fn file_overrides_only_named_slots() {
        let t = Theme::from_toml("x.toml", "[slots]\naccent = { fg = \"#ff0000\" }\n").unwrap();
        assert_eq!(t.accent, Style::default().fg(Color::Rgb(255, 0, 0)));
        assert_eq!(t.error, Theme::dark().error);
        assert_eq!(t.name, "dark");
    }

    #[test]
    fn unknown_slot_is_named() {
        let e = Theme::from_toml("x.toml", "[slots]\naccnet = { fg = \"red\" }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("accnet"), "{e}");
        assert!(e.contains("x.toml"), "{e}");
        let e = Theme::from_toml("x.toml", "[slots]\naccent = { colour = \"red\" }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
        let e = Theme::from_toml("x.toml", "colours = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("colours"), "{e}");
    }

    #[test]
    fn bad_colour_is_named() {
        let e = Theme::from_toml("x.toml", "[slots]\nerror = { fg = \"redish\" }\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "theme x.toml: slots.error: unknown colour `redish`");
    }

    #[test]
    fn missing_theme_is_clear() {
        let e = Theme::load(Some("solarized")).unwrap_err().to_string();
        assert!(
            e.contains("solarized") && e.contains("dark, light, high-contrast"),
            "{e}"
        );
    }

    #[test]
    fn no_color_strips_colours_keeps_emphasis() {
        let t = Theme::dark().for_terminal(ColourSupport::None);
        assert_eq!(t.selection.fg, None);
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
        assert!(t.accent.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn ansi16_downgrades_rgb() {
        let t = Theme::from_toml(
            "x",
            "[slots]\naccent = { fg = \"#00f0f0\", bg = \"236\" }\n",
        )
        .unwrap()
        .for_terminal(ColourSupport::Ansi16);
        assert_eq!(t.accent.fg, Some(Color::LightCyan));
        assert_eq!(t.accent.bg, Some(Color::Black));
    }

    #[test]
    fn detect_colour_support() {
        assert_eq!(
            ColourSupport::detect(Some("1"), Some("xterm-256color"), None),
            ColourSupport::None
        );
        assert_eq!(
            ColourSupport::detect(None, Some("xterm-16color"), None),
            ColourSupport::Ansi16
        );
        assert_eq!(
            ColourSupport::detect(None, Some("xterm-256color"), None),
            ColourSupport::Full
        );
        assert_eq!(
            ColourSupport::detect(Some(""), Some("xterm"), Some("truecolor")),
            ColourSupport::Full
        );
    }
}
