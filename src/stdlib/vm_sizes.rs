//! The VM size table (`stdlib/vm-sizes.csv`). Names compare case-insensitively, as Batch
//! does: `STANDARD_D1_V2` is `Standard_D1_v2`. Retired sizes stay in the table, with the date
//! and the replacement Microsoft names, so the checker can say what to use instead.

use super::date::Date;
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
    /// The day the size is (or was) retired: Azure deallocates it and Batch stops using it.
    pub retired: Option<Date>,
    /// The current size to move to (a row of the table without a retirement date).
    pub replacement: Option<String>,
}

impl VmSize {
    /// Whether the size has a GPU (a fraction of one counts, as for NVv4).
    pub fn has_gpu(&self) -> bool {
        self.gpus > 0 || self.gpu_model.is_some()
    }

    /// Whether the size is retired on `today` (the retirement day itself counts).
    pub fn is_retired(&self, today: Date) -> bool {
        self.retired.is_some_and(|d| d <= today)
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
        let what = format!("vm-sizes.csv row {}", i + 2);
        let r = record.map_err(|e| format!("{what}: {e}"))?;
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
            retired: super::date(field(8), &what)?,
            replacement: super::optional(field(9)),
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
        assert!(rows.len() > 380, "{}", rows.len());
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
        assert!(vm_size("Standard_NC4as_T4_v3").is_some_and(|s| s.has_gpu() && !s.rdma));
    }

    #[test]
    fn every_replacement_is_a_known_size_that_is_not_retiring() {
        for size in vm_sizes() {
            let Some(name) = &size.replacement else { continue };
            let to = vm_size(name).unwrap_or_else(|| panic!("{}: replacement {name} is not a row", size.name));
            assert!(to.retired.is_none(), "{}: replacement {name} retires too", size.name);
            assert!(
                size.retired.is_some(),
                "{}: a replacement but no retirement date",
                size.name
            );
            if size.rdma {
                assert!(
                    to.rdma || size.has_gpu(),
                    "{}: an HPC size replaced without InfiniBand",
                    size.name
                );
            }
            if size.has_gpu() {
                assert!(
                    to.has_gpu(),
                    "{}: a GPU size replaced by {name}, which has none",
                    size.name
                );
            }
        }
    }

    #[test]
    fn every_retired_size_names_its_replacement() {
        for size in vm_sizes().iter().filter(|s| s.retired.is_some()) {
            assert!(size.replacement.is_some(), "{} has no replacement", size.name);
        }
    }

    #[test]
    fn retired_families_carry_their_dates() {
        let day = |s: &str| Date::parse(s).expect("date");
        for (name, retired) in [
            ("Standard_A8", "2021-03-01"),
            ("Standard_A1", "2024-08-31"),
            ("basic_a2", "2024-08-31"),
            ("Standard_H16r", "2022-08-31"),
            ("Standard_HB60rs", "2024-08-31"),
            ("Standard_HB120rs_v2", "2027-05-31"),
            ("Standard_HC44rs", "2027-05-31"),
            ("Standard_NC6", "2023-09-06"),
            ("Standard_NC6s_v2", "2023-09-06"),
            ("Standard_NC6s_v3", "2025-09-30"),
            ("Standard_NC24rs_v3", "2025-09-30"),
            ("Standard_ND24rs", "2023-09-06"),
            ("Standard_NV6", "2023-09-06"),
            ("Standard_NV12s_v3", "2026-09-30"),
            ("Standard_NV4as_v4", "2026-09-30"),
            ("Standard_NP10s", "2027-05-31"),
            ("Standard_D2", "2028-05-01"),
            ("Standard_DS3", "2028-05-01"),
            ("Standard_D2_v2", "2028-05-01"),
            ("Standard_DS2_v2", "2028-05-01"),
            ("Standard_L8s", "2028-05-01"),
            ("Standard_A2_v2", "2028-11-15"),
            ("Standard_F8s_v2", "2028-11-15"),
            ("Standard_D4s_v3", "2029-11-15"),
            ("Standard_E8_v3", "2029-11-15"),
        ] {
            let size = vm_size(name).unwrap_or_else(|| panic!("{name} is not a row"));
            assert_eq!(size.retired, Some(day(retired)), "{name}");
        }
        let today = day("2026-11-23");
        assert!(vm_size("Standard_NC6s_v3").is_some_and(|s| s.is_retired(today)));
        assert!(vm_size("Standard_HB120rs_v2").is_some_and(|s| !s.is_retired(today)));
        assert!(vm_size("Standard_D4s_v5").is_some_and(|s| s.retired.is_none()));
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
            "NP",
            "Ls",
            "Lsv3",
            "A (Av1)",
            "Basic A (Av1)",
            "D",
            "DS",
        ] {
            assert!(
                vm_sizes().iter().any(|s| s.family.eq_ignore_ascii_case(family)),
                "{family}"
            );
        }
    }
}
