//! The MPI libraries the HPC marketplace images ship, as environment modules
//! (`stdlib/mpi-modules.csv`): what the MPI launch helper loads, and where it cannot (BF232).

use std::sync::OnceLock;

const CSV: &str = include_str!("../../stdlib/mpi-modules.csv");

/// One MPI of one image: `module load mpi/hpcx` on `microsoft-dsvm/ubuntu-hpc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiModule {
    pub publisher: String,
    pub offer: String,
    /// `hpcx`, `openmpi` or `intelmpi`, as the workflow writes it.
    pub mpi: String,
    pub module: String,
}

fn table() -> &'static [MpiModule] {
    static TABLE: OnceLock<Vec<MpiModule>> = OnceLock::new();
    TABLE.get_or_init(|| parse(CSV).unwrap_or_default())
}

fn parse(text: &str) -> Result<Vec<MpiModule>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.map_err(|e| format!("mpi-modules.csv row {}: {e}", i + 2))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim().to_string();
        rows.push(MpiModule {
            publisher: field(0),
            offer: field(1),
            mpi: field(2),
            module: field(3),
        });
    }
    Ok(rows)
}

pub fn mpi_modules() -> &'static [MpiModule] {
    table()
}

/// The module of `mpi` on a marketplace image (publisher and offer compared ignoring case).
pub fn mpi_module(publisher: &str, offer: &str, mpi: &str) -> Option<&'static MpiModule> {
    table()
        .iter()
        .find(|m| m.publisher.eq_ignore_ascii_case(publisher) && m.offer.eq_ignore_ascii_case(offer) && m.mpi == mpi)
}

/// Whether the table knows the image at all (any MPI).
pub fn ships_mpi_modules(publisher: &str, offer: &str) -> bool {
    table()
        .iter()
        .any(|m| m.publisher.eq_ignore_ascii_case(publisher) && m.offer.eq_ignore_ascii_case(offer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_parses_and_names_a_known_mpi() {
        let rows = parse(CSV).expect("mpi-modules.csv parses");
        assert_eq!(rows.len(), 6);
        assert!(rows
            .iter()
            .all(|r| ["hpcx", "openmpi", "intelmpi"].contains(&r.mpi.as_str())));
        assert!(rows.iter().all(|r| r.module.starts_with("mpi/")));
        assert_eq!(
            mpi_module("Microsoft-DSVM", "Ubuntu-HPC", "intelmpi").map(|m| m.module.as_str()),
            Some("mpi/impi-2021")
        );
        assert!(!ships_mpi_modules("Canonical", "ubuntu-24_04-lts"));
    }
}
