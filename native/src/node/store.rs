//! Durable storage on redb: the key/value pairs the protocols `Persist`.
//!
//! One table per protocol. A batch of `Persist` effects is written in one transaction and,
//! with `fsync = "always"`, is on disk when [`Store::apply`] returns: the driver sends the
//! messages that depend on it only afterwards.

use std::path::Path;

use anyhow::Context as _;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use void_core::effect::Persisted;

const PBFT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("pbft");

/// When commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// Every batch is durable before the sends that depend on it (the default).
    Always,
    /// No fsync per commit: the writes of the rounds in between reach the disk with the
    /// next durable commit, made at most [`NEVER_DURABLE_EVERY`] after the previous one
    /// (and at shutdown). A crash of the process or the machine loses at most about that
    /// much; the replica then catches up from the others.
    Never,
}

/// With `fsync = "never"`, how long commits may stay in memory only. (redb keeps a
/// non-durable commit in memory, and frees the pages it replaced only at a durable one.)
pub const NEVER_DURABLE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Store {
    db: Database,
    fsync: Fsync,
    pub commits: u64,
    last_durable: std::time::Instant,
    /// Whether a commit since the last durable one lives in memory only.
    pending: bool,
}

impl Store {
    pub fn open(path: &Path, fsync: Fsync) -> anyhow::Result<Store> {
        let db = Database::create(path).with_context(|| format!("opening storage {}", path.display()))?;
        let tx = db.begin_write()?;
        tx.open_table(PBFT)?;
        tx.commit()?;
        Ok(Store { db, fsync, commits: 0, last_durable: std::time::Instant::now(), pending: false })
    }

    /// Everything persisted so far (what a restarted replica gets back).
    pub fn load(&self) -> anyhow::Result<Persisted> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PBFT)?;
        let mut out = Persisted::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.insert(k.value().to_vec(), v.value().to_vec());
        }
        Ok(out)
    }

    /// Writes a batch of `Persist` effects in one transaction.
    pub fn apply(&mut self, batch: &[(Vec<u8>, Option<Vec<u8>>)]) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write()?;
        let durable = match self.fsync {
            Fsync::Always => true,
            Fsync::Never => self.last_durable.elapsed() >= NEVER_DURABLE_EVERY,
        };
        tx.set_durability(if durable { Durability::Immediate } else { Durability::None })?;
        {
            let mut table = tx.open_table(PBFT)?;
            for (k, v) in batch {
                match v {
                    Some(v) => {
                        table.insert(k.as_slice(), v.as_slice())?;
                    }
                    None => {
                        table.remove(k.as_slice())?;
                    }
                }
            }
        }
        tx.commit()?;
        self.commits += 1;
        if durable {
            self.last_durable = std::time::Instant::now();
        }
        self.pending = !durable;
        Ok(())
    }

    /// When the commits kept in memory must reach the disk (`fsync = "never"`), if any are.
    pub fn durable_due(&self) -> Option<std::time::Instant> {
        self.pending.then(|| self.last_durable + NEVER_DURABLE_EVERY)
    }

    /// Makes the commits kept in memory durable once they are due (an idle node's last
    /// writes must not wait for traffic).
    pub fn flush_if_due(&mut self) -> anyhow::Result<()> {
        if self.durable_due().is_some_and(|t| t <= std::time::Instant::now()) {
            self.flush()?;
        }
        Ok(())
    }

    /// Makes everything written so far durable (at shutdown, whatever the policy).
    pub fn flush(&mut self) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.commit()?;
        self.last_durable = std::time::Instant::now();
        self.pending = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_survive_reopening_and_deletes_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        {
            let mut s = Store::open(&path, Fsync::Always).unwrap();
            s.apply(&[(b"a".to_vec(), Some(b"1".to_vec())), (b"b".to_vec(), Some(b"2".to_vec()))]).unwrap();
            s.apply(&[(b"a".to_vec(), None)]).unwrap();
        }
        let s = Store::open(&path, Fsync::Always).unwrap();
        let all = s.load().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all.get(b"b".as_slice()), Some(&b"2".to_vec()));
    }
}
