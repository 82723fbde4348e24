//! Event colours: CSS colour names (what RFC 7986's COLOR property holds)
//! or `#rrggbb`, and the palette a colour picker offers.

/// The colours offered for events: CSS names with their RGB values.
pub const PALETTE: [(&str, [u8; 3]); 10] = [
    ("steelblue", [0x46, 0x82, 0xb4]),
    ("seagreen", [0x2e, 0x8b, 0x57]),
    ("tomato", [0xff, 0x63, 0x47]),
    ("goldenrod", [0xda, 0xa5, 0x20]),
    ("mediumpurple", [0x93, 0x70, 0xdb]),
    ("teal", [0x00, 0x80, 0x80]),
    ("hotpink", [0xff, 0x69, 0xb4]),
    ("chocolate", [0xd2, 0x69, 0x1e]),
    ("slategray", [0x70, 0x80, 0x90]),
    ("crimson", [0xdc, 0x14, 0x3c]),
];

/// Further CSS names that calendars commonly write.
const MORE: [(&str, [u8; 3]); 14] = [
    ("black", [0, 0, 0]),
    ("white", [0xff, 0xff, 0xff]),
    ("gray", [0x80, 0x80, 0x80]),
    ("grey", [0x80, 0x80, 0x80]),
    ("red", [0xff, 0, 0]),
    ("green", [0, 0x80, 0]),
    ("blue", [0, 0, 0xff]),
    ("yellow", [0xff, 0xff, 0]),
    ("orange", [0xff, 0xa5, 0]),
    ("purple", [0x80, 0, 0x80]),
    ("navy", [0, 0, 0x80]),
    ("olive", [0x80, 0x80, 0]),
    ("maroon", [0x80, 0, 0]),
    ("royalblue", [0x41, 0x69, 0xe1]),
];

/// The RGB of a colour name or `#rrggbb`; `None` if unknown (draw the
/// calendar's default colour then).
pub fn rgb(colour: &str) -> Option<[u8; 3]> {
    let colour = colour.trim();
    if let Some(hex) = colour.strip_prefix('#') {
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return Some([byte(0)?, byte(2)?, byte(4)?]);
    }
    PALETTE
        .iter()
        .chain(MORE.iter())
        .find(|(name, _)| name.eq_ignore_ascii_case(colour))
        .map(|(_, rgb)| *rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex() {
        assert_eq!(rgb("SteelBlue"), Some([0x46, 0x82, 0xb4]));
        assert_eq!(rgb("#0a0B0c"), Some([10, 11, 12]));
        assert_eq!(rgb("#0a0b0"), None);
        assert_eq!(rgb("#ééé"), None);
        assert_eq!(rgb("no such colour"), None);
    }
}
