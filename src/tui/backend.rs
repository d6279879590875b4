//! The console's terminal backend: crossterm's commands, with two differences that matter on real
//! jump boxes.
//!
//! - It never asks the terminal where the cursor is. Ratatui's `Terminal::clear` calls
//!   `get_cursor_position`, which crossterm answers by writing `ESC [ 6 n` and waiting up to two
//!   seconds for a reply; a terminal (or multiplexer, or pipe) that does not answer made startup
//!   and the return from `$EDITOR` fail with "The cursor position could not be read within a
//!   normal duration". The console is full screen and always places the cursor itself, so the
//!   last position it set is the answer.
//! - Colours are written as the base SGR codes (`30`–`37`, `90`–`97`, `40`–`47`, `100`–`107`)
//!   whenever they are one of the 16 ANSI colours. Crossterm writes every colour as `38;5;N`,
//!   which a 16-colour terminal (`TERM=screen`, `xterm`, a serial console) may not understand.
//!   Indexed (≥ 16) and RGB colours only reach here from a custom theme on a terminal that
//!   announced 256 or true colours (the theme maps them down otherwise).

use std::io::{self, Write};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::style::Print;
use crossterm::terminal::Clear;
use crossterm::{execute, queue};
use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// A crossterm backend without cursor-position queries and with base ANSI colour codes.
pub struct ConsoleBackend<W: Write> {
    writer: W,
    /// Where the console last put the cursor (what `get_cursor_position` answers).
    cursor: Position,
    /// A fixed size instead of asking the OS (tests).
    size: Option<Size>,
}

impl<W: Write> ConsoleBackend<W> {
    pub fn new(writer: W) -> Self {
        ConsoleBackend {
            writer,
            cursor: Position::ORIGIN,
            size: None,
        }
    }

    /// A backend of a fixed size (for tests: no terminal needed).
    pub fn with_size(writer: W, width: u16, height: u16) -> Self {
        ConsoleBackend {
            size: Some(Size { width, height }),
            ..Self::new(writer)
        }
    }

    pub fn writer(&self) -> &W {
        &self.writer
    }
}

/// ANSI colour `i` (0–15) as a base SGR code: 30–37 / 90–97 (40–47 / 100–107 background).
fn ansi_code(base: u8, i: u8) -> u8 {
    if i < 8 { base + i } else { base + 60 + (i - 8) }
}

/// The SGR parameter(s) for a colour: base codes for the 16 ANSI colours.
pub fn sgr_colour(c: Color, background: bool) -> String {
    let base: u8 = if background { 40 } else { 30 };
    let code = match c {
        Color::Reset => base + 9,
        Color::Indexed(i) if i < 16 => ansi_code(base, i),
        Color::Indexed(i) => return format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => return format!("{};2;{r};{g};{b}", base + 8),
        named => match super::theme::ANSI16.iter().position(|x| *x == named) {
            Some(i) => ansi_code(base, i as u8),
            None => base + 9,
        },
    };
    code.to_string()
}

/// The SGR parameters that turn `m` on (after a reset).
fn sgr_modifiers(m: Modifier) -> Vec<&'static str> {
    [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::SLOW_BLINK, "5"),
        (Modifier::RAPID_BLINK, "6"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ]
    .into_iter()
    .filter(|(f, _)| m.contains(*f))
    .map(|(_, s)| s)
    .collect()
}

impl<W: Write> Backend for ConsoleBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let w = &mut self.writer;
        let mut style: Option<(Color, Color, Modifier)> = None;
        let mut last: Option<Position> = None;
        for (x, y, cell) in content {
            if !matches!(last, Some(p) if x == p.x + 1 && y == p.y) {
                queue!(w, MoveTo(x, y))?;
            }
            last = Some(Position { x, y });
            let want = (cell.fg, cell.bg, cell.modifier);
            if style != Some(want) {
                // One SGR per change: reset, then modifiers and both colours.
                let mut params = vec!["0".to_string()];
                params.extend(sgr_modifiers(cell.modifier).into_iter().map(String::from));
                params.push(sgr_colour(cell.fg, false));
                params.push(sgr_colour(cell.bg, true));
                write!(w, "\x1b[{}m", params.join(";"))?;
                style = Some(want);
            }
            queue!(w, Print(cell.symbol()))?;
        }
        write!(w, "\x1b[0m")
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        for _ in 0..n {
            queue!(self.writer, Print("\n"))?;
        }
        self.writer.flush()
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        execute!(self.writer, Hide)
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        execute!(self.writer, Show)
    }

    /// The last position set: never a query to the terminal.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.cursor = p;
        execute!(self.writer, MoveTo(p.x, p.y))
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        use crossterm::terminal::ClearType as C;
        let t = match clear_type {
            ClearType::All => C::All,
            ClearType::AfterCursor => C::FromCursorDown,
            ClearType::BeforeCursor => C::FromCursorUp,
            ClearType::CurrentLine => C::CurrentLine,
            ClearType::UntilNewLine => C::UntilNewLine,
        };
        execute!(self.writer, Clear(t))
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            Some(s) => Ok(s),
            None => {
                let (width, height) = crossterm::terminal::size()?;
                Ok(Size { width, height })
            }
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        match self.size {
            Some(s) => Ok(WindowSize {
                columns_rows: s,
                pixels: Size::default(),
            }),
            None => {
                let w = crossterm::terminal::window_size()?;
                Ok(WindowSize {
                    columns_rows: Size {
                        width: w.columns,
                        height: w.rows,
                    },
                    pixels: Size {
                        width: w.width,
                        height: w.height,
                    },
                })
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::style::Style;
    use ratatui::text::Line;

    #[test]
    fn base_colours_use_base_sgr_codes() {
        for c in std::iter::once(Color::Reset).chain(crate::tui::theme::ANSI16) {
            for bg in [false, true] {
                let s = sgr_colour(c, bg);
                let n: u8 = s.parse().unwrap_or_else(|_| panic!("{c:?} → {s}"));
                let ok = if bg {
                    (40..=49).contains(&n) || (100..=107).contains(&n)
                } else {
                    (30..=39).contains(&n) || (90..=97).contains(&n)
                };
                assert!(ok, "{c:?} bg={bg} → {n}");
            }
        }
        assert_eq!(sgr_colour(Color::Indexed(3), false), "33");
        assert_eq!(sgr_colour(Color::Indexed(12), true), "104");
        assert_eq!(sgr_colour(Color::Indexed(208), false), "38;5;208");
        assert_eq!(sgr_colour(Color::Rgb(1, 2, 3), true), "48;2;1;2;3");
    }

    #[test]
    fn never_asks_for_the_cursor_position_and_writes_no_256_colour_codes() {
        // A writer that is not a terminal: nothing answers a cursor-position query.
        let backend = ConsoleBackend::with_size(Vec::new(), 20, 3);
        let mut t = Terminal::new(backend).unwrap();
        t.clear().unwrap();
        t.draw(|f| {
            let line = Line::styled("hello", Style::new().fg(Color::LightRed).bg(Color::Blue));
            f.render_widget(line, f.area());
        })
        .unwrap();
        t.clear().unwrap();
        let out = String::from_utf8_lossy(t.backend().writer()).into_owned();
        assert!(!out.contains("\x1b[6n"), "cursor position query: {out:?}");
        assert!(!out.contains("38;5"), "{out:?}");
        assert!(!out.contains("48;5"), "{out:?}");
        assert!(out.contains("91;44m"), "{out:?}");
        assert!(out.contains("hello"));
    }
}
