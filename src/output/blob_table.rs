//! The blob table on a terminal, fitted to its width: ids, sizes and times stay whole
//! (to be copied); when the row does not fit with a name of at least 20 characters,
//! the uid is shortened, then dropped, then the type and public columns, each with a
//! note saying what is hidden. Times are relative. Piped and JSON output never come here.

use comfy_table::{
    Attribute, Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width,
};

use super::blob::{shown_size, BlobRecord};
use super::{human, sanitize::escape_for_terminal};

/// The narrowest a name is squeezed to before other columns give way.
const MIN_NAME: usize = 20;
/// A shortened uid keeps this many characters (and an ellipsis).
const SHORT_UID: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Id,
    Uid,
    ShortUid,
    Name,
    Size,
    Type,
    Public,
    Created,
}

use Col::*;

/// The layouts tried, widest first.
const LAYOUTS: [&[Col]; 5] = [
    &[Id, Uid, Name, Size, Type, Public, Created],
    &[Id, ShortUid, Name, Size, Type, Public, Created],
    &[Id, Name, Size, Type, Public, Created],
    &[Id, Name, Size, Public, Created],
    &[Id, Name, Size, Created],
];

fn header(col: Col) -> &'static str {
    match col {
        Id => "ID",
        Uid | ShortUid => "UID",
        Name => "NAME",
        Size => "SIZE",
        Type => "TYPE",
        Public => "PUBLIC",
        Created => "CREATED",
    }
}

fn text(col: Col, r: &BlobRecord) -> String {
    match col {
        Id => r.id.to_string(),
        Uid => escape_for_terminal(&r.uid),
        ShortUid => {
            let uid = escape_for_terminal(&r.uid);
            if uid.chars().count() > SHORT_UID + 1 {
                format!("{}…", uid.chars().take(SHORT_UID).collect::<String>())
            } else {
                uid
            }
        }
        Name => escape_for_terminal(&r.name),
        Size => shown_size(r),
        Type => escape_for_terminal(r.content_type.as_deref().unwrap_or("-")),
        Public => if r.public { "yes" } else { "no" }.into(),
        Created => {
            escape_for_terminal(&r.created_at.as_deref().map(human::time).unwrap_or_default())
        }
    }
}

/// The widest layout whose fixed columns leave the name its room in `width`.
fn layout(rows: &[BlobRecord], width: usize) -> &'static [Col] {
    let widest = |col: Col| {
        rows.iter()
            .map(|r| text(col, r).chars().count())
            .chain([header(col).len()])
            .max()
            .unwrap_or(0)
    };
    let name = widest(Name).min(MIN_NAME);
    LAYOUTS
        .iter()
        .copied()
        .find(|cols| {
            // One space of padding on each side of every column.
            let fixed: usize = cols
                .iter()
                .filter(|&&c| c != Name)
                .map(|&c| widest(c) + 2)
                .sum();
            fixed + name + 2 <= width
        })
        .unwrap_or(LAYOUTS[LAYOUTS.len() - 1])
}

/// The table, and a note under it when columns were hidden.
pub(super) fn render(rows: &[BlobRecord], color: bool) -> String {
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    // An unknown width (0 under some pseudo-terminals) would squeeze every column to
    // one character: don't fit then.
    let width = table.width().map(usize::from).filter(|&w| w >= 40);
    let cols = match width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            layout(rows, w)
        }
        None => LAYOUTS[0],
    };
    table.set_header(cols.iter().map(|&c| {
        let cell = Cell::new(header(c));
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    if color {
        table.enforce_styling();
    }
    // The name may wrap, but not below 20 characters (or its own length).
    let name_min = rows
        .iter()
        .map(|r| text(Name, r).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(header(Name).len(), MIN_NAME);
    table.set_constraints(cols.iter().map(|&c| match c {
        Name => ColumnConstraint::LowerBoundary(Width::Fixed(name_min as u16)),
        _ => ColumnConstraint::ContentWidth,
    }));
    for r in rows {
        table.add_row(cols.iter().map(|&c| {
            let cell = Cell::new(text(c, r));
            if c == Size {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    let mut out = table.to_string();
    let hidden: Vec<&str> = [(Uid, "uid"), (Type, "type"), (Public, "public")]
        .into_iter()
        .filter(|(c, _)| !(cols.contains(c) || *c == Uid && cols.contains(&ShortUid)))
        .map(|(_, name)| name)
        .collect();
    if !hidden.is_empty() {
        out.push_str(&format!(
            "\n(hidden to fit: {}; see --json)",
            hidden.join(", ")
        ));
    }
    out
}
