//! The VM size table (`stdlib/vm-sizes.csv`). Names compare case-insensitively, as Batch
//! does: `STANDARD_D1_V2` is `Standard_D1_v2`.

use std::collections::HashMap;
use std::sync::OnceLock;

const CSV: &str = include_str!("../../stdlib/vm-sizes.csv");

#[derive(Clone, Debug, PartialEq)]
pub struct VmSize {
    pub name: String,
    pub family: String,
    pub vcpus: u32,
    pub memory_gib: f64,
    pub gpus: u32,
    pub gpu_model: Option<String>,
    /// InfiniBand / RDMA network.
    pub rdma: bool,
    pub linux: bool,
    pub windows: bool,
}

impl VmSize {
    /// Whether the size has a GPU (a fraction of one counts, as for NVv4).
    pub fn has_gpu(&self) -> bool {
        self.gpus > 0 || self.gpu_model.is_some()
    }
}

struct Table {
    rows: Vec<VmSize>,
    by_name: HashMap<String, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let rows = parse(CSV).unwrap_or_default();
        let by_name = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.to_ascii_lowercase(), i))
            .collect();
        Table { rows, by_name }
    })
}

fn parse(text: &str) -> Result<Vec<VmSize>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.map_err(|e| format!("vm-sizes.csv row {}: {e}", i + 2))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim();
        let num = |n: usize| {
            field(n)
                .parse::<u32>()
                .map_err(|_| format!("vm-sizes.csv row {}: field {n} is not a count", i + 2))
        };
        let os: Vec<&str> = super::split_list(field(7)).collect();
        rows.push(VmSize {
            name: field(0).to_string(),
            family: field(1).to_string(),
            vcpus: num(2)?,
            memory_gib: field(3)
                .parse()
                .map_err(|_| format!("vm-sizes.csv row {}: bad memory", i + 2))?,
            gpus: num(4)?,
            gpu_model: Some(field(5)).filter(|s| !s.is_empty()).map(str::to_string),
            rdma: super::yes(field(6)),
            linux: os.contains(&"linux"),
            windows: os.contains(&"windows"),
        });
    }
    Ok(rows)
}

/// Looks a size up, ignoring case.
pub fn vm_size(name: &str) -> Option<&'static VmSize> {
    let t = table();
    t.by_name.get(&name.to_ascii_lowercase()).and_then(|&i| t.rows.get(i))
}

pub fn vm_sizes() -> &'static [VmSize] {
    &table().rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_completely() {
        let rows = parse(CSV).expect("vm-sizes.csv parses");
        assert!(rows.len() > 300, "{}", rows.len());
        assert_eq!(rows.len(), vm_sizes().len());
        let mut names: Vec<String> = rows.iter().map(|r| r.name.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "duplicate size names");
        assert!(rows.iter().all(|r| r.vcpus > 0 && (r.linux || r.windows)));
    }

    #[test]
    fn lookups_ignore_case() {
        let d1 = vm_size("STANDARD_D1_V2").expect("D1_v2");
        assert_eq!(d1.name, "Standard_D1_v2");
        assert_eq!(d1.vcpus, 1);
        assert!(vm_size("Standard_HB120rs_v3").is_some_and(|s| s.rdma));
        assert!(vm_size("Standard_NC6s_v3").is_some_and(|s| s.has_gpu() && !s.rdma));
    }

    #[test]
    fn required_families_are_covered() {
        for family in [
            "Av2",
            "Dv2",
            "Dsv3",
            "Dasv4",
            "Ddsv5",
            "Dadsv5",
            "Esv3",
            "Edv4",
            "Easv5",
            "Fsv2",
            "HBv3",
            "HC",
            "HX",
            "NCv3",
            "NCasT4_v3",
            "NDv2",
            "NVv4",
        ] {
            assert!(
                vm_sizes().iter().any(|s| s.family.eq_ignore_ascii_case(family)),
                "{family}"
            );
        }
    }
}
