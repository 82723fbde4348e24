//! The note's body as a text field that lays out only what is on screen.
//!
//! egui's `TextEdit` lays out, tessellates and feeds its undo with the
//! whole text every frame: on a 100,000-character note a keystroke cost
//! 12–14 ms. Here the body is cut into paragraphs (at `\n`); each has a
//! height, measured once it has been laid out (and kept, by its text and
//! the wrap width, so an unchanged paragraph is never measured again) or
//! estimated from its length until then. The scroll area is as tall as
//! all of them; a `TextEdit` holds only the *window*, the paragraphs on
//! screen and a screen above and below, between two empty spaces as tall
//! as the paragraphs they stand for. Selection, IME, copy and paste, word
//! wrap and egui's undo are the `TextEdit`'s own, inside the window.
//!
//! The scroll position is kept as a character (the start of the top
//! paragraph on screen) and how far below that paragraph's top the screen
//! starts, not as pixels: an edit above the screen, or a paragraph above
//! whose estimate became a measurement, moves nothing on screen.
//!
//! The window moves when the screen leaves it (scrolling), when the caret
//! must be shown outside it (typing after scrolling away, Ctrl+Home,
//! Ctrl+End), and after a remote edit. egui's undo history is a list of
//! whole texts of the field, so it is cleared when the window moves: undo
//! never puts back an old window over other text (nor, as the whole-text
//! field did, someone else's edits).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use egui::text::{CCursor, CCursorRange};

/// One paragraph of the body: a line up to (not including) its `\n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Para {
    /// Byte range in the body.
    start: usize,
    end: usize,
    /// Index of its first character in the body.
    first_char: usize,
    chars: usize,
}

/// The body's paragraphs.
fn paragraphs(text: &str) -> Vec<Para> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut first_char = 0;
    for line in text.split('\n') {
        let chars = line.chars().count();
        out.push(Para {
            start,
            end: start + line.len(),
            first_char,
            chars,
        });
        start += line.len() + 1;
        first_char += chars + 1;
    }
    out
}

fn key(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The paragraphs in the field, by their characters in the body: from the
/// first character of one paragraph to the end (before the `\n`) of
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    first_char: usize,
    end_char: usize,
}

/// What the body view keeps between frames.
#[derive(Debug, Default)]
pub struct BodyView {
    /// Paragraphs of `text_key`'s text.
    paras: Vec<Para>,
    text_len: usize,
    text_key: u64,
    /// Per paragraph, its height (measured or estimated).
    heights: Vec<f32>,
    /// Measured heights by paragraph text, at `width`.
    measured: HashMap<u64, f32>,
    width: f32,
    /// Characters per wrapped row, learned from measured paragraphs.
    chars_per_row: Option<f32>,
    /// The scroll position: the top paragraph's first character, and how
    /// far below that paragraph's top the screen starts.
    top_char: usize,
    top_delta: f32,
    /// The paragraphs in the field, as the field's state knows them.
    window: Option<Window>,
    /// Where the caret must be shown (Ctrl+Home/End, typing away from it).
    reveal: Option<usize>,
    /// The caret while it is outside the window (the field has none then).
    parked: Option<(usize, usize)>,
    /// Select all (Ctrl+A) was pressed: the field holds the whole body
    /// until the selection collapses, so that copying, cutting, typing
    /// over or deleting it acts on all of it, not on the window.
    whole: bool,
}

/// What one frame of the body did.
#[derive(Debug)]
pub struct BodyOutput {
    /// The field's response.
    pub response: egui::Response,
    /// The caret (primary, secondary), in characters of the whole body.
    pub caret: Option<(usize, usize)>,
}

impl BodyView {
    /// The body changed under the view (a remote edit, a reload): the
    /// window is recomputed and the scroll position follows `top_char`,
    /// where the caller re-anchored it.
    pub fn reloaded(&mut self, top_char: usize) {
        self.top_char = top_char;
        self.window = None;
    }

    /// The first character of the top paragraph on screen (to anchor it on
    /// its character across remote edits).
    pub fn top_char(&self) -> usize {
        self.top_char
    }

    /// The scroll position: the first character of the top paragraph on
    /// screen, and how far below that paragraph's top the screen starts.
    pub fn scroll_position(&self) -> (usize, f32) {
        (self.top_char, self.top_delta)
    }

    /// Shows the caret at `char` on the next frame (scrolling to it).
    pub fn reveal(&mut self, char: usize) {
        self.reveal = Some(char);
    }

    fn refresh(&mut self, text: &str) {
        let k = key(text);
        if k == self.text_key && text.len() == self.text_len && !self.paras.is_empty() {
            return;
        }
        self.text_key = k;
        self.text_len = text.len();
        self.paras = paragraphs(text);
        self.heights = Vec::with_capacity(self.paras.len());
        for p in &self.paras {
            let h = self.measured.get(&key(&text[p.start..p.end])).copied();
            self.heights.push(h.unwrap_or(f32::NAN));
        }
    }

    fn estimate(&self, p: &Para, row: f32) -> f32 {
        let per_row = self.chars_per_row.unwrap_or(80.0).max(1.0);
        #[allow(clippy::cast_precision_loss)]
        let rows = (p.chars as f32 / per_row).ceil().max(1.0);
        rows * row
    }

    fn para_at_char(&self, char: usize) -> usize {
        self.paras
            .partition_point(|p| p.first_char <= char)
            .saturating_sub(1)
    }

    /// Shows the body; `text` is edited in place. `pending_caret` (whole
    /// body characters) goes into the field before it draws.
    // One frame's steps in order (heights, caret and keys, scroll position,
    // window, field, measuring, scroll position back): split up, each
    // would need most of the others' locals.
    #[allow(clippy::too_many_lines)]
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        text: &mut String,
        field_id: egui::Id,
        interactive: bool,
        pending_caret: Option<(usize, usize)>,
    ) -> BodyOutput {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let row = ui.ctx().fonts_mut(|f| f.row_height(&font));
        let margin = egui::Margin::symmetric(4, 2);
        let width = ui.available_width();
        // The field's text is laid out at its width less the margins.
        let wrap = (width - f32::from(margin.left) - f32::from(margin.right)).max(1.0);
        if (wrap - self.width).abs() > 0.5 {
            self.width = wrap;
            self.measured.clear();
            self.chars_per_row = None;
            self.text_key = 0;
        }
        self.refresh(text);
        let heights: Vec<f32> = self
            .paras
            .iter()
            .zip(&self.heights)
            .map(|(p, h)| {
                if h.is_nan() {
                    self.estimate(p, row)
                } else {
                    *h
                }
            })
            .collect();
        let mut tops = Vec::with_capacity(heights.len() + 1);
        let mut y = 0.0f32;
        for h in &heights {
            tops.push(y);
            y += h;
        }
        tops.push(y);
        let total = y;

        // The caret before this frame, and keys that move it far.
        let mut state = egui::TextEdit::load_state(ui.ctx(), field_id);
        let focused = ui.memory(|m| m.has_focus(field_id));
        let old_window = self.window;
        let local_caret = state
            .as_ref()
            .and_then(|s| s.cursor.char_range())
            .map(|r| (r.primary.index.0, r.secondary.index.0));
        let mut caret = match (pending_caret, old_window, local_caret) {
            (Some(c), _, _) => Some(c),
            (None, Some(w), Some((a, b))) => Some((w.first_char + a, w.first_char + b)),
            _ => self.parked,
        };
        // The field's caret must be set from `caret` this frame.
        let mut set_caret = pending_caret.is_some();
        let body_chars = self.paras.last().map_or(0, |p| p.first_char + p.chars);
        // Input that puts the field's caret somewhere (typing, a click).
        let input = ui.input(|i| {
            i.events.iter().any(|e| {
                matches!(
                    e,
                    egui::Event::Text(_)
                        | egui::Event::Paste(_)
                        | egui::Event::Ime(_)
                        | egui::Event::Key { pressed: true, .. }
                        | egui::Event::PointerButton { pressed: true, .. }
                )
            })
        });
        if focused && interactive {
            // Ctrl+Home and Ctrl+End go to the body's ends, beyond the
            // window. (With Shift, selecting, they stop at the window's.)
            let (home, end) = ui.input_mut(|i| {
                if i.modifiers.shift {
                    return (false, false);
                }
                (
                    i.consume_key(egui::Modifiers::COMMAND, egui::Key::Home),
                    i.consume_key(egui::Modifiers::COMMAND, egui::Key::End),
                )
            });
            if home {
                caret = Some((0, 0));
                self.reveal = Some(0);
                set_caret = true;
            } else if end {
                caret = Some((body_chars, body_chars));
                self.reveal = Some(body_chars);
                set_caret = true;
            }
            if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::A)) {
                self.whole = true;
            }
            // Typing with the caret outside the window: show it first.
            let typing = ui.input(|i| {
                i.events.iter().any(|e| {
                    matches!(
                        e,
                        egui::Event::Text(_)
                            | egui::Event::Paste(_)
                            | egui::Event::Ime(_)
                            | egui::Event::Key { pressed: true, .. }
                    )
                })
            });
            if let (Some((c, _)), Some(w)) = (caret, old_window)
                && (c < w.first_char || c > w.end_char)
                && typing
            {
                self.reveal = Some(c);
            }
        }
        let view_height = ui.available_height().max(row);
        if let Some(c) = self.reveal.take() {
            let p = self.para_at_char(c.min(body_chars));
            self.top_char = self.paras.get(p).map_or(0, |p| p.first_char);
            // The caret's paragraph a third of the way down the screen,
            // or the end at the bottom.
            self.top_delta = if c >= body_chars {
                heights.get(p).copied().unwrap_or(row) - view_height * 0.9
            } else {
                -view_height / 3.0
            };
            self.window = None;
        }
        let anchor = self.para_at_char(self.top_char);
        let offset = (tops[anchor] + self.top_delta)
            .min(total - view_height + f32::from(margin.top + margin.bottom))
            .max(0.0);

        let output = egui::ScrollArea::vertical()
            .id_salt(field_id.with("scroll"))
            .auto_shrink([false, false])
            // The position is ours each frame (`top_char`): an animation
            // would move towards a target in pixels of an older layout.
            .animated(false)
            .vertical_scroll_offset(offset)
            .show_viewport(ui, |ui, viewport| {
                ui.spacing_mut().item_spacing.y = 0.0;
                // The window: kept while it reaches half a screen past
                // the screen (or the body's ends), so that the caret never
                // walks into its edge.
                let half = viewport.height() / 2.0;
                let covers = |w: &Window| {
                    let first = self.para_at_char(w.first_char);
                    let last = self.para_at_char(w.end_char);
                    tops[first] <= (viewport.min.y - half).max(0.0)
                        && tops[last + 1] >= (viewport.max.y + half).min(total)
                };
                let window = match self.window {
                    _ if self.whole => Window {
                        first_char: 0,
                        end_char: body_chars,
                    },
                    Some(w) if covers(&w) && w.end_char <= body_chars => w,
                    _ => {
                        let lo = viewport.min.y - viewport.height();
                        let hi = viewport.max.y + viewport.height();
                        let first = tops.partition_point(|t| *t <= lo).saturating_sub(1);
                        let last = tops
                            .partition_point(|t| *t < hi)
                            .saturating_sub(1)
                            .min(self.paras.len() - 1)
                            .max(first);
                        Window {
                            first_char: self.paras[first].first_char,
                            end_char: self.paras[last].first_char + self.paras[last].chars,
                        }
                    }
                };
                let first = self.para_at_char(window.first_char);
                let last = self.para_at_char(window.end_char);
                let (start, end) = (self.paras[first].start, self.paras[last].end);

                // The field's state follows the window.
                let moved = old_window != Some(window);
                if moved || set_caret {
                    let mut s = state.take().unwrap_or_default();
                    if moved {
                        s.clear_undoer();
                    }
                    let local = caret.and_then(|(a, b)| {
                        let inside = |c: usize| {
                            (window.first_char..=window.end_char)
                                .contains(&c)
                                .then(|| c - window.first_char)
                        };
                        Some((inside(a)?, inside(b)?))
                    });
                    s.cursor.set_char_range(
                        local.map(|(a, b)| CCursorRange::two(CCursor::new(b), CCursor::new(a))),
                    );
                    self.parked = if local.is_none() { caret } else { None };
                    s.store(ui.ctx(), field_id);
                }

                ui.add_space(tops[first]);
                let mut field_text = text[start..end].to_owned();
                let to_end = last + 1 == self.paras.len();
                let min_height = if to_end {
                    (viewport.max.y - tops[first]).max(0.0)
                } else {
                    0.0
                };
                let out = egui::TextEdit::multiline(&mut field_text)
                    .id(field_id)
                    .interactive(interactive)
                    .margin(margin)
                    .desired_width(f32::INFINITY)
                    .desired_rows(1)
                    .min_size(egui::vec2(ui.available_width(), min_height))
                    .show(ui);
                ui.add_space(total - tops[last + 1]);

                // Measure what was laid out.
                let measured = self.measure(&out.galley, &field_text);
                let local = out
                    .cursor_range
                    .map(|r| (r.primary.index.0, r.secondary.index.0));
                if field_text == text[start..end] {
                    self.window = Some(window);
                    for (h, m) in self.heights[first..=last].iter_mut().zip(measured) {
                        *h = m;
                    }
                } else {
                    let inserted = field_text.chars().count();
                    let removed = text[start..end].chars().count();
                    text.replace_range(start..end, &field_text);
                    let end_char = (window.end_char + inserted).saturating_sub(removed);
                    self.window = Some(Window {
                        first_char: window.first_char,
                        end_char,
                    });
                }
                let caret = match (local, self.parked) {
                    // A focused field always has a caret: egui put one at
                    // the window's start, though the caret is elsewhere.
                    (Some(_), Some(parked)) if !input => {
                        if let Some(mut s) = egui::TextEdit::load_state(ui.ctx(), field_id) {
                            s.cursor.set_char_range(None);
                            s.store(ui.ctx(), field_id);
                        }
                        Some(parked)
                    }
                    (Some((a, b)), _) => {
                        self.parked = None;
                        Some((window.first_char + a, window.first_char + b))
                    }
                    (None, parked) => parked,
                };
                (out.response.response, caret)
            });
        // Where the screen now starts, as a character.
        // (egui rounds the offset to pixels: a paragraph whose top is less
        // than a pixel below is the one at the top.)
        let y = output.state.clamped_offset().y;
        let p = tops.partition_point(|t| *t <= y + 0.5).saturating_sub(1);
        if let Some(para) = self.paras.get(p) {
            self.top_char = para.first_char;
            self.top_delta = y - tops[p];
        }
        let (response, caret) = output.inner;
        // The whole body stays in the field while something is selected.
        if self.whole && caret.is_none_or(|(a, b)| a == b) {
            self.whole = false;
            self.window = None;
        }
        BodyOutput { response, caret }
    }

    /// Keeps the heights of the paragraphs of `galley` (the field's text
    /// `text`), and returns them in order.
    fn measure(&mut self, galley: &egui::Galley, text: &str) -> Vec<f32> {
        // Per paragraph: its first row's top and its row count.
        let mut paras: Vec<(f32, usize)> = Vec::new();
        let mut starts_para = true;
        for r in &galley.rows {
            if starts_para {
                paras.push((r.rect().top(), 0));
            }
            if let Some(last) = paras.last_mut() {
                last.1 += 1;
            }
            starts_para = r.ends_with_newline;
        }
        let bottom = galley.rect.bottom();
        let mut heights = Vec::with_capacity(paras.len());
        let (mut chars, mut rows) = (0usize, 0usize);
        for (i, line) in text.split('\n').enumerate() {
            let Some(&(top, n)) = paras.get(i) else {
                break;
            };
            let next = paras.get(i + 1).map_or(bottom, |p| p.0);
            let h = next - top;
            self.measured.insert(key(line), h);
            heights.push(h);
            chars += line.chars().count();
            rows += n;
        }
        if rows > 0 && chars > 0 {
            #[allow(clippy::cast_precision_loss)]
            let per_row = chars as f32 / rows as f32;
            self.chars_per_row = Some(per_row.max(20.0));
        }
        heights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_cover_the_text_between_newlines() {
        let p = paragraphs("ab\n\ncdé");
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].start, p[0].end, p[0].first_char, p[0].chars),
            (0, 2, 0, 2)
        );
        assert_eq!(
            (p[1].start, p[1].end, p[1].first_char, p[1].chars),
            (3, 3, 3, 0)
        );
        assert_eq!(
            (p[2].start, p[2].end, p[2].first_char, p[2].chars),
            (4, 8, 4, 3)
        );
        assert_eq!(paragraphs("").len(), 1);
    }
}
