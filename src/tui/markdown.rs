//! Markdown → styled, wrapped `Line`s (pulldown-cmark), and the newline-gated stream
//! collector: while an answer streams, only text up to the last newline is rendered, so a
//! half-received line never flickers between paragraph, list item and heading.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;

fn width_of(s: &str) -> usize {
    Span::raw(s).width()
}

/// Greedy word wrap of styled fragments. `first` prefixes the first line, `rest` the others.
fn wrap(
    frags: &[(String, Style)],
    width: usize,
    first: &Span<'static>,
    rest: &Span<'static>,
    out: &mut Vec<Line<'static>>,
) {
    let mut pieces: Vec<(String, Style, bool)> = Vec::new(); // (text, style, is_space)
    for (text, style) in frags {
        let mut cur = String::new();
        let mut cur_space = None;
        for ch in text.chars() {
            let sp = ch == ' ';
            if cur_space.is_some_and(|s| s != sp) {
                pieces.push((std::mem::take(&mut cur), *style, cur_space.unwrap_or(false)));
            }
            cur_space = Some(sp);
            cur.push(ch);
        }
        if !cur.is_empty() {
            pieces.push((cur, *style, cur_space.unwrap_or(false)));
        }
    }
    let mut line: Vec<Span<'static>> = vec![first.clone()];
    let mut used = first.width();
    let mut empty = true;
    let flush = |line: &mut Vec<Span<'static>>, out: &mut Vec<Line<'static>>| {
        out.push(Line::from(std::mem::take(line)));
    };
    for (text, style, is_space) in pieces {
        let w = width_of(&text);
        if is_space {
            if !empty && used + w <= width {
                line.push(Span::styled(text, style));
                used += w;
            }
            continue;
        }
        if !empty && used + w > width {
            // trim trailing spaces of the line being closed
            while line
                .last()
                .is_some_and(|s| s.content.chars().all(|c| c == ' ') && line.len() > 1)
            {
                line.pop();
            }
            flush(&mut line, out);
            line.push(rest.clone());
            used = rest.width();
            empty = true;
        }
        if used + w <= width {
            line.push(Span::styled(text, style));
            used += w;
            empty = false;
            continue;
        }
        // A word longer than the line: cut it by characters.
        let mut chunk = String::new();
        for ch in text.chars() {
            let cw = width_of(ch.encode_utf8(&mut [0u8; 4]));
            if used + width_of(&chunk) + cw > width && !(chunk.is_empty() && empty) {
                line.push(Span::styled(std::mem::take(&mut chunk), style));
                flush(&mut line, out);
                line.push(rest.clone());
                used = rest.width();
                empty = true;
            }
            chunk.push(ch);
        }
        if !chunk.is_empty() {
            used += width_of(&chunk);
            line.push(Span::styled(chunk, style));
            empty = false;
        }
    }
    out.push(Line::from(line));
}

struct ListState {
    next: Option<u64>,
}

struct Renderer<'t> {
    theme: &'t Theme,
    width: usize,
    out: Vec<Line<'static>>,
    inline: Vec<(String, Style)>,
    styles: Vec<Style>,
    lists: Vec<ListState>,
    /// Bullet waiting to prefix the next flushed block of the current item.
    pending_bullet: Option<String>,
    quote: usize,
    code: Option<Vec<String>>,
    heading: Option<HeadingLevel>,
    link: Option<String>,
}

impl<'t> Renderer<'t> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or(self.theme.text)
    }

    fn push_style(&mut self, f: impl Fn(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn indent(&self) -> String {
        let mut s = "│ ".repeat(self.quote);
        s.push_str(&"  ".repeat(self.lists.len().saturating_sub(1)));
        if !self.lists.is_empty() && self.pending_bullet.is_none() {
            s.push_str("  ");
        }
        s
    }

    fn blank_line(&mut self) {
        let in_item = !self.lists.is_empty();
        if !in_item && self.out.last().is_some_and(|l| l.width() > 0) {
            self.out.push(Line::default());
        }
    }

    fn flush(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let frags = std::mem::take(&mut self.inline);
        let base = {
            let mut s = "│ ".repeat(self.quote);
            s.push_str(&"  ".repeat(self.lists.len().saturating_sub(1)));
            s
        };
        let (first, rest) = match self.pending_bullet.take() {
            Some(b) => {
                let pad = " ".repeat(width_of(&b));
                (format!("{base}{b}"), format!("{base}{pad}"))
            }
            None => {
                let i = self.indent();
                (i.clone(), i)
            }
        };
        let qs = if self.quote > 0 {
            self.theme.quote
        } else {
            self.theme.muted
        };
        wrap(
            &frags,
            self.width,
            &Span::styled(first, qs),
            &Span::styled(rest, qs),
            &mut self.out,
        );
    }

    fn text(&mut self, t: &str) {
        if let Some(code) = &mut self.code {
            for (i, part) in t.split('\n').enumerate() {
                if i > 0 {
                    code.push(String::new());
                }
                if let Some(last) = code.last_mut() {
                    last.push_str(part);
                }
            }
            return;
        }
        let s = self.style();
        self.inline.push((t.to_string(), s));
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.flush();
                self.blank_line();
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.blank_line();
                // Every level alike: the heading slot, bold, no `#` marks.
                self.heading = Some(level);
                let h = self.theme.heading.add_modifier(Modifier::BOLD);
                self.styles.push(h);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.blank_line();
                self.quote += 1;
                let q = self.theme.quote;
                self.styles.push(q);
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.blank_line();
                // No fence lines (neither the opening nor the closing one): the code rows are
                // marked by their gutter `▏`.
                self.code = Some(vec![String::new()]);
            }
            Tag::List(start) => {
                self.flush();
                if self.lists.is_empty() {
                    self.blank_line();
                }
                self.lists.push(ListState { next: start });
            }
            Tag::Item => {
                self.flush();
                let bullet = match self.lists.last_mut() {
                    Some(ListState { next: Some(n) }) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ => "• ".to_string(),
                };
                self.pending_bullet = Some(bullet);
            }
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.link = Some(dest_url.to_string());
                let l = self.theme.link;
                self.styles.push(l);
            }
            Tag::Image { dest_url, .. } => {
                self.link = Some(dest_url.to_string());
                let l = self.theme.link;
                self.styles.push(l);
            }
            Tag::FootnoteDefinition(_)
            | Tag::HtmlBlock
            | Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::TableCell
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.flush(),
            TagEnd::Heading(_) => {
                self.heading = None;
                self.flush();
                self.styles.pop();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote = self.quote.saturating_sub(1);
                self.styles.pop();
            }
            TagEnd::CodeBlock => {
                let mut lines = self.code.take().unwrap_or_default();
                if lines.last().is_some_and(|l| l.is_empty()) {
                    lines.pop();
                }
                let indent = self.indent();
                let avail = self.width.saturating_sub(width_of(&indent) + 2).max(1);
                for l in lines {
                    let chars: Vec<char> = l.chars().collect();
                    let mut chunks: Vec<String> =
                        chars.chunks(avail).map(|c| c.iter().collect()).collect();
                    if chunks.is_empty() {
                        chunks.push(String::new());
                    }
                    for c in chunks {
                        self.out.push(Line::from(vec![
                            Span::raw(indent.clone()),
                            Span::styled("▏ ", self.theme.muted),
                            Span::styled(c, self.theme.code),
                        ]));
                    }
                }
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.pending_bullet = None;
            }
            TagEnd::Item => {
                self.flush();
                self.pending_bullet = None;
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                self.styles.pop();
                if let Some(url) = self.link.take() {
                    let shown = self.inline.last().is_some_and(|(t, _)| *t == url);
                    if !shown && !url.is_empty() {
                        let m = self.theme.muted;
                        self.inline.push((format!(" ({url})"), m));
                    }
                }
            }
            TagEnd::FootnoteDefinition
            | TagEnd::HtmlBlock
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }
}

/// Renders markdown to lines wrapped at `width` columns.
pub fn render(text: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut r = Renderer {
        theme,
        width: (width as usize).max(8),
        out: Vec::new(),
        inline: Vec::new(),
        styles: Vec::new(),
        lists: Vec::new(),
        pending_bullet: None,
        quote: 0,
        code: None,
        heading: None,
        link: None,
    };
    let parser = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH);
    for ev in parser {
        match ev {
            Event::Start(tag) => r.start(tag),
            Event::End(tag) => r.end(tag),
            Event::Text(t) => r.text(&t),
            Event::Code(t) => {
                let c = r.theme.code;
                r.inline.push((t.to_string(), c));
            }
            Event::SoftBreak => r.inline.push((" ".into(), Style::default())),
            Event::HardBreak => r.flush(),
            Event::Rule => {
                r.flush();
                r.blank_line();
                let w = r.width.min(40);
                r.out.push(Line::styled("─".repeat(w), theme.muted));
            }
            Event::Html(t) | Event::InlineHtml(t) => r.text(&t),
            Event::InlineMath(t) | Event::DisplayMath(t) => r.text(&t),
            Event::FootnoteReference(t) => r.text(&format!("[^{t}]")),
            Event::TaskListMarker(done) => r.text(if done { "[x] " } else { "[ ] " }),
        }
    }
    r.flush();
    if r.code.is_some() {
        r.end(TagEnd::CodeBlock);
    }
    // A block that has not shown a row yet (an open fence) leaves no trailing blank line.
    while r.out.last().is_some_and(|l| l.width() == 0) {
        r.out.pop();
    }
    r.out
}

/// Incremental rendering of a growing markdown text (a streamed answer). The text up to the
/// last top-level block boundary — a blank line, outside a code fence, followed by a line that
/// starts a new non-list, non-indented block — is rendered once and kept; each update
/// re-renders only the tail after it. Rendering blocks apart gives the same lines as one
/// render because top-level blocks are separated by exactly one blank line either way (tested).
/// Without this, every frame of a long stream re-parsed the whole answer.
#[derive(Debug, Default)]
pub struct MarkdownCache {
    width: u16,
    /// Bytes of the source rendered into `lines[..stable_lines]`.
    stable_len: usize,
    stable_lines: usize,
    /// Source length that `lines` reflects.
    rendered_len: usize,
    lines: Vec<Line<'static>>,
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// Whether a line can only start a new top-level block (not continue a list or quote).
fn starts_top_level_block(line: &str) -> bool {
    let Some(c) = line.chars().next() else {
        return false;
    };
    if c.is_whitespace() || matches!(c, '-' | '*' | '+' | '>') {
        return false;
    }
    // "1." / "1)" ordered list items continue a list too.
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    !(digits > 0 && matches!(line[digits..].chars().next(), Some('.' | ')')))
}

fn append_block(out: &mut Vec<Line<'static>>, block: Vec<Line<'static>>) {
    if block.is_empty() {
        return;
    }
    if out.last().is_some_and(|l| l.width() > 0) && block.first().is_some_and(|l| l.width() > 0) {
        out.push(Line::default());
    }
    out.extend(block);
}

impl MarkdownCache {
    /// The lines of the last update.
    pub fn lines(&self) -> &[Line<'static>] {
        &self.lines
    }

    /// Lines for `text`, which must extend the text of the previous call (or the cache resets).
    pub fn update(&mut self, text: &str, width: u16, theme: &Theme) -> &[Line<'static>] {
        let grows = text.len() >= self.rendered_len && text.is_char_boundary(self.stable_len);
        if width != self.width || !grows {
            *self = MarkdownCache {
                width,
                ..Default::default()
            };
        }
        if text.len() == self.rendered_len && (self.rendered_len > 0 || self.lines.is_empty()) {
            return &self.lines;
        }
        // Advance the stable boundary over complete lines.
        let mut in_fence = false;
        let mut prev_blank = false;
        let mut boundary = None;
        let mut pos = self.stable_len;
        for line in text[self.stable_len..].split_inclusive('\n') {
            if !line.ends_with('\n') {
                break;
            }
            let body = line.trim_end_matches(['\n', '\r']);
            if !in_fence && prev_blank && pos > self.stable_len && starts_top_level_block(body) {
                boundary = Some(pos);
            }
            if is_fence(body) {
                in_fence = !in_fence;
            }
            prev_blank = !in_fence && body.trim().is_empty();
            pos += line.len();
        }
        self.lines.truncate(self.stable_lines);
        if let Some(b) = boundary {
            let block = render(&text[self.stable_len..b], self.width, theme);
            append_block(&mut self.lines, block);
            self.stable_len = b;
            self.stable_lines = self.lines.len();
        }
        let tail = render(&text[self.stable_len..], self.width, theme);
        append_block(&mut self.lines, tail);
        self.rendered_len = text.len();
        &self.lines
    }
}

/// Plain text (no markdown) wrapped at `width`, each source line on its own; `first` prefixes
/// the first output line, `rest` the others.
pub fn plain(
    text: &str,
    width: u16,
    style: Style,
    first: Span<'static>,
    rest: Span<'static>,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, src) in text.split('\n').enumerate() {
        let p = if i == 0 { first.clone() } else { rest.clone() };
        wrap(
            &[(src.to_string(), style)],
            (width as usize).max(4),
            &p,
            &rest,
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn wraps_paragraphs() {
        let t = Theme::dark();
        let out = plain(&render("one two three four five six seven", 12, &t));
        assert_eq!(out, vec!["one two", "three four", "five six", "seven"]);
    }

    #[test]
    fn headings_lists_code() {
        let t = Theme::dark();
        let md = "# Title\n\nSome *text*.\n\n- a\n- b long item that wraps\n\n1. one\n2. two\n\n```rust\nfn main() {}\n```\n";
        let out = plain(&render(md, 20, &t));
        assert_eq!(
            out,
            vec![
                "Title",
                "",
                "Some text.",
                "",
                "• a",
                "• b long item that",
                "  wraps",
                "",
                "1. one",
                "2. two",
                "",
                "▏ fn main() {}",
            ]
        );
        let lines = render("# Title", 20, &t);
        assert!(
            lines[0]
                .spans
                .iter()
                .any(|s| s.style.add_modifier.contains(Modifier::BOLD))
        );
    }

    #[test]
    fn every_heading_level_renders_alike_and_apart_from_body() {
        let t = Theme::dark();
        let styles: Vec<Style> = (1..=6)
            .map(|n| {
                let md = format!("{} Title\n\nbody", "#".repeat(n));
                let lines = render(&md, 40, &t);
                assert_eq!(plain(&lines[..1]), vec!["Title"], "level {n}");
                let body = lines.last().unwrap().spans.last().unwrap().style;
                let head = lines[0].spans.last().unwrap().style;
                assert_ne!(head, body, "level {n} looks like body text");
                head
            })
            .collect();
        assert!(styles.windows(2).all(|w| w[0] == w[1]), "{styles:?}");
    }

    #[test]
    fn a_fenced_block_shows_no_fence_line() {
        let t = Theme::dark();
        for md in [
            "```\ncode\n```\n",
            "```rust\ncode\n```\n",
            "~~~py\ncode\n~~~\n",
        ] {
            let out = plain(&render(md, 40, &t));
            assert_eq!(out, vec!["▏ code"], "{md:?}");
        }
    }

    #[test]
    fn long_words_are_cut() {
        let t = Theme::dark();
        let out = plain(&render("abcdefghijklmnop", 8, &t));
        assert_eq!(out, vec!["abcdefgh", "ijklmnop"]);
    }

    #[test]
    fn incremental_rendering_matches_one_render() {
        let theme = Theme::dark();
        let doc = "# Title\n\nFirst paragraph that is long enough to wrap across lines here.\n\n\
                   - one\n- two\n\n- three after a blank\n\n1. first\n2. second\n\n\
                   ```rust\nfn main() {\n\n    println!(\"x\");\n}\n```\n\nAfter code.\n\n\
                   > quoted\n\n## Next\n\nLast words.\n";
        let mut cache = MarkdownCache::default();
        let mut grown = String::new();
        for line in doc.split_inclusive('\n') {
            grown.push_str(line);
            let inc = plain(cache.update(&grown, 30, &theme));
            let full = plain(&render(&grown, 30, &theme));
            assert_eq!(inc, full, "after {:?}", line);
        }
        // A new width or a text that is not an extension starts over.
        assert_eq!(
            plain(cache.update(doc, 50, &theme)),
            plain(&render(doc, 50, &theme))
        );
        assert_eq!(
            plain(cache.update("other", 50, &theme)),
            plain(&render("other", 50, &theme))
        );
    }
}
