//! Names come from the server, and anyone who can upload chooses them: before one
//! reaches a terminal, control characters, ANSI escapes and bidi overrides are shown
//! escaped, so a name can neither drive the terminal nor disguise itself.

use std::fmt::Write;

/// `name` with every character that could act on a terminal written as an escape:
/// `\t`, `\n`, `\r`, other control characters as `\x1b`, bidi controls as `\u{202e}`.
pub fn escape_for_terminal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // C0, DEL and C1: ESC starts ANSI sequences, C1 0x9b is a one-byte CSI.
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them (the "Trojan Source" set).
fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{061c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_unchanged() {
        assert_eq!(escape_for_terminal("cat.jpg"), "cat.jpg");
        assert_eq!(escape_for_terminal("ünïcödé 猫.png"), "ünïcödé 猫.png");
    }

    #[test]
    fn control_characters_and_ansi_escapes_are_shown_escaped() {
        assert_eq!(escape_for_terminal("\u{1b}[31mred"), "\\x1b[31mred");
        assert_eq!(escape_for_terminal("a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(escape_for_terminal("bell\u{7}"), "bell\\x07");
        assert_eq!(escape_for_terminal("del\u{7f}"), "del\\x7f");
        assert_eq!(escape_for_terminal("csi\u{9b}2J"), "csi\\x9b2J");
    }

    #[test]
    fn bidi_overrides_are_shown_escaped() {
        assert_eq!(
            escape_for_terminal("invoice\u{202e}fdp.exe"),
            "invoice\\u{202e}fdp.exe"
        );
        assert_eq!(
            escape_for_terminal("\u{2066}x\u{2069}"),
            "\\u{2066}x\\u{2069}"
        );
    }
}
