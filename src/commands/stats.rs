//! `cubeblob stats [filters]`: count and bytes of every matching blob, in total and by
//! content type, month of creation, state and access, summed while the pages stream
//! in (memory grows with the number of types and months, not of blobs).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::Utc;
use comfy_table::{presets, Cell, CellAlignment, Table};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::api::listing::{each_blob, MAX_PER_PAGE};
use crate::api::Blob;
use crate::cli::StatsArgs;
use crate::exit::Exit;
use crate::filter::BlobFilter;
use crate::output::human;
use crate::output::sanitize::escape_for_terminal;

/// A count of blobs and their bytes (a blob with no size adds none).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, blob: &Blob) {
        self.count += 1;
        self.bytes += blob.size.unwrap_or(0);
    }
}

/// The `--json` object.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    pub total: Tally,
    /// By content type (`-` for none).
    pub by_type: BTreeMap<String, Tally>,
    /// By month of `created_at`, `YYYY-MM` (`-` for none).
    pub by_month: BTreeMap<String, Tally>,
    pub complete: Tally,
    pub incomplete: Tally,
    pub public: Tally,
    pub private: Tally,
}

impl Stats {
    fn add(&mut self, blob: &Blob) {
        self.total.add(blob);
        let ty = blob.content_type.clone().unwrap_or_else(|| "-".into());
        self.by_type.entry(ty).or_default().add(blob);
        let month = blob
            .created_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc).format("%Y-%m").to_string())
            .unwrap_or_else(|| "-".into());
        self.by_month.entry(month).or_default().add(blob);
        if blob.is_complete() {
            self.complete.add(blob);
        } else {
            self.incomplete.add(blob);
        }
        if blob.public {
            self.public.add(blob);
        } else {
            self.private.add(blob);
        }
    }

    /// (group, key, tally), in the order of the TSV lines and the table.
    fn rows(&self) -> Vec<(&'static str, String, Tally)> {
        let mut rows = vec![("total", String::new(), self.total)];
        rows.extend(self.by_type.iter().map(|(k, t)| ("type", k.clone(), *t)));
        rows.extend(self.by_month.iter().map(|(k, t)| ("month", k.clone(), *t)));
        rows.push(("status", "complete".into(), self.complete));
        rows.push(("status", "incomplete".into(), self.incomplete));
        rows.push(("access", "public".into(), self.public));
        rows.push(("access", "private".into(), self.private));
        rows
    }
}

pub async fn run(ctx: &Context, args: StatsArgs) -> Result<Exit> {
    let filter = BlobFilter::new(&args.filter, Utc::now())?;
    let client = ctx.client().await?;
    let mut stats = Stats::default();
    each_blob(&client, MAX_PER_PAGE, |blob| {
        if filter.matches(&blob) {
            stats.add(&blob);
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    if ctx.out.json {
        ctx.out.json_line(&stats)?;
    } else if !ctx.out.tty {
        for (group, key, t) in stats.rows() {
            ctx.out
                .tsv_line(&[group, &key, &t.count.to_string(), &t.bytes.to_string()])?;
        }
    } else {
        ctx.out.data(&table(&stats).to_string())?;
    }
    Ok(Exit::Success)
}

fn table(stats: &Stats) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(["", "", "BLOBS", "SIZE"]);
    let mut previous = "";
    for (group, key, t) in stats.rows() {
        // The group's name on its first row only.
        let shown = if group == previous { "" } else { group };
        previous = group;
        table.add_row(vec![
            Cell::new(shown),
            Cell::new(escape_for_terminal(&key)),
            Cell::new(t.count).set_alignment(CellAlignment::Right),
            Cell::new(human::size(t.bytes)).set_alignment(CellAlignment::Right),
        ]);
    }
    table
}
