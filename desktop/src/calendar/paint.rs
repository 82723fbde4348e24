//! How an event looks: its colour, readable text on it, the conflict mark.
//! Shared by the week and month views.

use concord_calendar::colour::rgb;
use egui::{Color32, FontId, Pos2, Rect, Stroke, StrokeKind, pos2};

/// Events without a colour (or with one we cannot read) are drawn in this.
pub const DEFAULT_RGB: [u8; 3] = [0x46, 0x82, 0xb4];
/// The conflict mark's colour.
pub const CONFLICT: Color32 = Color32::from_rgb(0xd9, 0x48, 0x0f);

pub fn fill(colour: Option<&str>) -> Color32 {
    let [r, g, b] = colour.and_then(rgb).unwrap_or(DEFAULT_RGB);
    Color32::from_rgb(r, g, b)
}

/// White on dark and mid colours, near-black on light ones (by WCAG
/// relative luminance; white a little favoured, as calendars do, since it
/// reads well on the saturated mid tones events use).
pub fn text_on(fill: Color32) -> Color32 {
    let lin = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(fill.r()) + 0.7152 * lin(fill.g()) + 0.0722 * lin(fill.b());
    // White keeps a contrast of at least 3:1 up to here.
    if l < 0.30 {
        Color32::WHITE
    } else {
        Color32::from_rgb(0x10, 0x10, 0x10)
    }
}

/// A faded version of `fill` (an event being dragged away from here).
pub fn faded(fill: Color32) -> Color32 {
    fill.gamma_multiply(0.35)
}

/// Draws an event block with up to three lines of text, clipped to it.
pub fn event_block(
    painter: &egui::Painter,
    rect: Rect,
    fill_colour: Color32,
    lines: &[(String, bool)],
    selected: bool,
    conflict: bool,
) {
    painter.rect_filled(rect, 4.0, fill_colour);
    if conflict {
        painter.rect_stroke(rect, 4.0, Stroke::new(2.0, CONFLICT), StrokeKind::Inside);
    }
    if selected {
        // The theme's strongest text colour: white on dark, black on light.
        let outline = painter.ctx().global_style().visuals.strong_text_color();
        painter.rect_stroke(rect, 4.0, Stroke::new(2.0, outline), StrokeKind::Outside);
    }
    let text = text_on(fill_colour);
    let clip = painter.with_clip_rect(rect.shrink(1.0).intersect(painter.clip_rect()));
    let mut y = rect.top() + 2.0;
    let right_margin = if conflict { 18.0 } else { 4.0 };
    for (i, (line, strong)) in lines.iter().enumerate() {
        let size = if *strong { 12.5 } else { 11.5 };
        let row = size * 1.25;
        // Whole rows only; the first line always shows (elided if need be).
        let rows = ((rect.bottom() - 1.0 - y) / row).floor();
        if i > 0 && rows < 1.0 {
            break;
        }
        let mut job = egui::text::LayoutJob::simple(
            line.clone(),
            FontId::proportional(size),
            text,
            (rect.width() - 4.0 - right_margin).max(4.0),
        );
        // The title may wrap; times and places stay on one elided line.
        job.wrap.max_rows = if i == 0 {
            usize::try_from(rows.max(1.0) as i64).unwrap_or(1)
        } else {
            1
        };
        job.wrap.break_anywhere = job.wrap.max_rows == 1;
        let galley = clip.layout_job(job);
        let height = galley.size().y;
        clip.galley(pos2(rect.left() + 4.0, y), galley, text);
        y += height;
    }
}

/// The round "!" mark at the top right of a conflicting event.
pub fn conflict_mark_rect(event: Rect) -> Rect {
    let c = Pos2::new(event.right() - 9.0, event.top() + 9.0);
    Rect::from_center_size(c, egui::vec2(16.0, 16.0))
}

pub fn conflict_mark(painter: &egui::Painter, rect: Rect, hovered: bool) {
    let r = if hovered { 8.0 } else { 7.0 };
    painter.circle(rect.center(), r, CONFLICT, Stroke::new(1.5, Color32::WHITE));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "!",
        FontId::proportional(12.0),
        Color32::WHITE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_readable_on_every_palette_colour() {
        assert_eq!(text_on(fill(Some("steelblue"))), Color32::WHITE);
        assert_eq!(text_on(fill(Some("crimson"))), Color32::WHITE);
        assert_ne!(text_on(fill(Some("goldenrod"))), Color32::WHITE);
        assert_ne!(text_on(Color32::from_rgb(255, 255, 0)), Color32::WHITE);
        assert_ne!(text_on(fill(Some("hotpink"))), Color32::WHITE);
        assert_eq!(fill(Some("no such colour")), fill(None));
    }
}
